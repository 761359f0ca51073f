/**
 * `codex`: `codex exec --json … -` (or `codex exec resume --json … <thread_id> -`), the prompt on
 * stdin (docs/clis.md). Only a custom provider reaches a self-hosted LLM (`OPENAI_BASE_URL` is
 * ignored), and it must speak the Responses API: `wire_api="responses"`.
 *
 * Sandbox: Codex's default is read-only, where a write fails inside the sandbox, the JSON shows no
 * command at all and the turn exits 0 having done nothing. So `sandbox_mode` is always passed, as a
 * `-c` key because `exec resume` has no `-s` flag, and it can never be `read-only`.
 *
 * Output: `thread.started` (the session id), `item.started`/`item.completed` (command_execution,
 * file_change, agent_message, reasoning, mcp_tool_call, web_search, error), `turn.completed` with
 * the thread's RUNNING TOTAL usage (turn 2 of a thread reports turns 1+2: marked `cumulative`, core
 * subtracts), `turn.failed`. An `error` item or line is a warning (unknown model metadata, a
 * reconnect); `turn.failed` is the failure.
 */
import type { Invocation, ParseState, Worker, WorkerEvent, WorkerSettings, WorkerTurn } from '../../core/worker.ts'
import { invalidWorkerOption, numberOr, openAiBaseUrl, parseJsonLine, relativeTo, versionProbe } from './shared.ts'

export const NAME = 'codex'

/** The variable the provider's `env_key` names. */
const KEY_VARIABLE = 'WORKER_LLM_API_KEY'

export type CodexSandbox = 'workspace-write' | 'danger-full-access'

export interface CodexOptions {
  /** The `codex` binary; default `codex` on PATH (a node launcher: node must be on PATH). */
  command?: string
  /**
   * Default `workspace-write` (writes to the cwd through seccomp/landlock). `danger-full-access`
   * only where the container already isolates and the kernel refuses the sandbox. Never read-only.
   */
  sandbox?: CodexSandbox
  /** Provider id in the `-c model_providers.<id>` table. Default `terarchitect`. */
  providerId?: string
}

const tomlString = (value: string) => JSON.stringify(value) // a TOML basic string escapes like JSON

export function codex(options: CodexOptions = {}): Worker {
  const command = options.command ?? 'codex'
  const sandbox = options.sandbox ?? 'workspace-write'
  const providerId = options.providerId ?? 'terarchitect'
  if (sandbox !== 'workspace-write' && sandbox !== 'danger-full-access') {
    throw invalidWorkerOption(`codex sandbox must be workspace-write or danger-full-access, not ${String(sandbox)}`)
  }
  if (!/^[A-Za-z0-9_-]+$/.test(providerId)) throw invalidWorkerOption(`codex providerId ${providerId} is not a bare TOML key`)

  function invocation(turn: WorkerTurn, settings: WorkerSettings, home: string): Invocation {
    const provider = `{name=${tomlString(providerId)},base_url=${tomlString(openAiBaseUrl(settings.llmUrl))},env_key="${KEY_VARIABLE}",wire_api="responses"}`
    const config = [
      '-c', `model_provider=${tomlString(providerId)}`,
      '-c', `model_providers.${providerId}=${provider}`,
      '-c', 'analytics.enabled=false',
      '-c', `sandbox_mode="${sandbox}"`,
      '-m', settings.model,
    ]
    return {
      command,
      // `-` reads the prompt from stdin (else Codex reads stdin anyway, after argv).
      args: turn.sessionId ? ['exec', 'resume', '--json', ...config, turn.sessionId, '-'] : ['exec', '--json', ...config, '-'],
      // Codex exits 1 when CODEX_HOME names a missing directory: the file below creates it.
      env: { CODEX_HOME: `${home}/.codex`, [KEY_VARIABLE]: settings.apiKey },
      files: [{ path: '.codex/config.toml', content: '# Terarchitect passes every setting as -c flags.\n' }],
      stdin: turn.prompt,
    }
  }

  function parseLine(line: string, state: ParseState): WorkerEvent[] {
    const msg = parseJsonLine(line)
    if (!msg) return []
    switch (msg.type) {
      case 'thread.started':
        if (typeof msg.thread_id === 'string') state.sessionId = msg.thread_id
        return []
      case 'item.started':
        return itemStarted(msg.item ?? {})
      case 'item.completed':
        return itemCompleted(msg.item ?? {}, state.cwd)
      case 'turn.completed': {
        const usage = msg.usage ?? {}
        // cached_input_tokens and reasoning_output_tokens are parts of the two totals, not extra.
        return [{ kind: 'usage', input_tokens: numberOr(usage.input_tokens), output_tokens: numberOr(usage.output_tokens), cumulative: true }]
      }
      case 'turn.failed':
        return [{ kind: 'error', message: String(msg.error?.message ?? 'turn failed') }]
      case 'error':
        return [{ kind: 'error', warning: true, message: String(msg.message ?? 'error') }]
      default:
        return []
    }
  }

  return { name: NAME, invocation, parseLine, probe: versionProbe(command) }
}

const mcpName = (item: any) => `${item.server ?? 'mcp'}.${item.tool ?? 'tool'}`

function itemStarted(item: any): WorkerEvent[] {
  switch (item.type) {
    case 'command_execution':
      return [{ kind: 'tool_call', name: 'command_execution', input: { command: item.command }, status: 'started' }]
    case 'file_change':
      return [{ kind: 'tool_call', name: 'file_change', input: { changes: item.changes ?? [] }, status: 'started' }]
    case 'mcp_tool_call':
      return [{ kind: 'tool_call', name: mcpName(item), input: item.arguments ?? {}, status: 'started' }]
    default:
      return []
  }
}

function itemCompleted(item: any, cwd: string): WorkerEvent[] {
  switch (item.type) {
    case 'agent_message':
      return typeof item.text === 'string' && item.text ? [{ kind: 'message', text: item.text }] : []
    case 'command_execution': {
      const exit = typeof item.exit_code === 'number' ? item.exit_code : null
      const output = typeof item.aggregated_output === 'string' ? item.aggregated_output : ''
      const status = item.status === 'declined' ? 'denied' : item.status === 'completed' && exit === 0 ? 'ok' : 'error'
      return [
        { kind: 'tool_call', name: 'command_execution', input: { command: item.command }, status, output },
        { kind: 'command', cmd: String(item.command ?? ''), exit, output },
      ]
    }
    case 'file_change': {
      const changes: any[] = Array.isArray(item.changes) ? item.changes : []
      const ok = item.status !== 'failed'
      const events: WorkerEvent[] = [{ kind: 'tool_call', name: 'file_change', input: { changes }, status: ok ? 'ok' : 'error' }]
      if (ok) {
        for (const change of changes) {
          if (typeof change?.path !== 'string') continue
          const kind = change.kind === 'add' ? 'add' : change.kind === 'delete' ? 'delete' : 'modify'
          events.push({ kind: 'file_change', path: relativeTo(cwd, change.path), change: kind })
        }
      }
      return events
    }
    case 'mcp_tool_call': {
      const output = item.result === undefined ? undefined : JSON.stringify(item.result)
      return [{ kind: 'tool_call', name: mcpName(item), input: item.arguments ?? {}, status: item.status === 'failed' ? 'error' : 'ok', ...(output ? { output } : {}) }]
    }
    case 'web_search':
      return [{ kind: 'tool_call', name: 'web_search', input: { query: item.query }, status: 'ok' }]
    case 'error':
      return [{ kind: 'error', warning: true, message: String(item.message ?? 'error') }]
    default:
      return []
  }
}
