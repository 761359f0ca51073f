/**
 * `gemini`: Gemini CLI headless, `gemini -p '' -o stream-json --yolo`, the prompt on stdin (appended
 * to the empty `-p`, docs/clis.md). Needs `$HOME/.gemini/settings.json` selecting API-key auth (else
 * exit 41) and a trusted workspace (else exit 55, with `--yolo` downgraded first). On an API error
 * the exit code is the HTTP status mod 256 (401 → 145). It re-spawns itself and retries 429s and
 * refused connections for minutes: core's process-group kill and timeout handle both.
 *
 * Output: `init` (session id), `message` (user echo; assistant text, `delta: true` fragments to
 * concatenate), `tool_use`, `tool_result` (by `tool_id`), `error`, and `result` with this process's
 * `stats` (a resumed turn starts from zero).
 */
import type { Invocation, ParseState, Worker, WorkerEvent, WorkerSettings, WorkerTurn } from '../../core/worker.ts'
import { FILE_TOOLS, hostBaseUrl, numberOr, outputText, parseJsonLine, relativeTo, SHELL_TOOLS, versionProbe } from './shared.ts'

export const NAME = 'gemini'

export interface GeminiOptions {
  /** The `gemini` binary; default `gemini` on PATH (a `#!/usr/bin/env node` script). */
  command?: string
  /** Extra keys merged over the generated `~/.gemini/settings.json`. */
  settings?: Record<string, unknown>
}

interface Call { name: string; input: any }

/**
 * Without it the CLI starts a second node process of itself (for `--version` too) only to raise
 * V8's heap limit to half the machine's memory: measured 0.9 s of its 2.2 s to the first request
 * in the agent image. One headless turn runs within node's default heap (docs/performance.md).
 */
const NO_RELAUNCH = { GEMINI_CLI_NO_RELAUNCH: 'true' }

export function gemini(options: GeminiOptions = {}): Worker {
  const command = options.command ?? 'gemini'

  function invocation(turn: WorkerTurn, settings: WorkerSettings): Invocation {
    const config = {
      security: { auth: { selectedType: 'gemini-api-key' } },
      general: { disableAutoUpdate: true, disableUpdateNag: true },
      telemetry: { enabled: false },
      privacy: { usageStatisticsEnabled: false },
      ...options.settings,
    }
    return {
      command,
      args: ['-p', '', '-o', 'stream-json', '--yolo', '-m', settings.model, ...(turn.sessionId ? ['--resume', turn.sessionId] : [])],
      env: {
        GOOGLE_GEMINI_BASE_URL: hostBaseUrl(settings.llmUrl, '/v1beta'),
        GEMINI_API_KEY: settings.apiKey,
        GEMINI_CLI_TRUST_WORKSPACE: 'true',
        ...NO_RELAUNCH,
      },
      files: [{ path: '.gemini/settings.json', content: JSON.stringify(config, null, 2) }],
      stdin: turn.prompt,
    }
  }

  /** Assistant text arrives in fragments: one `message` event per run of them. */
  function flush(state: ParseState): WorkerEvent[] {
    const text = typeof state.pending === 'string' ? state.pending : ''
    state.pending = ''
    return text ? [{ kind: 'message', text }] : []
  }

  function parseLine(line: string, state: ParseState): WorkerEvent[] {
    const msg = parseJsonLine(line)
    if (!msg) return []
    const calls = (state.calls ??= new Map()) as Map<string, Call>
    switch (msg.type) {
      case 'init':
        if (typeof msg.session_id === 'string') state.sessionId = msg.session_id
        return []
      case 'message':
        if (msg.role !== 'assistant' || typeof msg.content !== 'string') return []
        if (msg.delta) {
          state.pending = `${typeof state.pending === 'string' ? state.pending : ''}${msg.content}`
          return []
        }
        return [...flush(state), ...(msg.content ? [{ kind: 'message' as const, text: msg.content }] : [])]
      case 'tool_use': {
        const call = { name: String(msg.tool_name ?? 'unknown'), input: msg.parameters ?? {} }
        calls.set(msg.tool_id, call)
        return [...flush(state), { kind: 'tool_call', name: call.name, input: call.input, status: 'started' }]
      }
      case 'tool_result':
        return [...flush(state), ...toolResult(calls.get(msg.tool_id) ?? { name: 'unknown', input: {} }, msg, state.cwd)]
      case 'error':
        return [...flush(state), { kind: 'error', message: String(msg.message ?? 'error'), ...(msg.severity === 'warning' ? { warning: true } : {}) }]
      case 'result': {
        const events = flush(state)
        if (msg.status === 'error') events.push({ kind: 'error', message: String(msg.error?.message ?? 'error') })
        const stats = msg.stats ?? {}
        events.push({ kind: 'usage', input_tokens: numberOr(stats.input_tokens, numberOr(stats.input)), output_tokens: numberOr(stats.output_tokens) })
        return events
      }
      default:
        return []
    }
  }

  return { name: NAME, invocation, parseLine, end: flush, probe: versionProbe(command, { env: NO_RELAUNCH }) }
}

function toolResult(call: Call, msg: any, cwd: string): WorkerEvent[] {
  const ok = msg.status === 'success'
  const output = outputText(msg.output ?? msg.error?.message)
  const denied = !ok && /denied|rejected|not allowed/i.test(`${msg.error?.type ?? ''} ${msg.error?.message ?? ''}`)
  const events: WorkerEvent[] = [{ kind: 'tool_call', name: call.name, input: call.input, status: ok ? 'ok' : denied ? 'denied' : 'error', output }]
  const tool = call.name.toLowerCase()
  if (SHELL_TOOLS.has(tool) && !denied) {
    // The stream carries no exit status (a failing command is still `success`); older builds put
    // "Exit Code: N" in the output.
    const exit = /Exit Code: (\d+)/.exec(output)?.[1]
    events.push({ kind: 'command', cmd: String(call.input?.command ?? ''), exit: exit === undefined ? null : Number(exit), output })
  } else if (FILE_TOOLS.has(tool) && ok && typeof call.input?.file_path === 'string') {
    events.push({ kind: 'file_change', path: relativeTo(cwd, call.input.file_path), change: /created/i.test(output) ? 'add' : 'modify' })
  }
  return events
}
