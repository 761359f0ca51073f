/**
 * `claude-code`: Claude Code in print mode, `claude -p --output-format stream-json --verbose`, the
 * prompt on stdin (docs/clis.md). Speaks the Anthropic Messages API to `ANTHROPIC_BASE_URL`.
 *
 * Output: one JSON object per line. `system/init` opens (session id on every line), `assistant`
 * lines carry one content block each (text or tool_use), `user` lines the tool_result with a
 * structured `tool_use_result`, and the final `result` line the process's usage and cost and the
 * `permission_denials`. Assistant-line usage is the stream's first frame (output_tokens 1), so usage
 * is taken from `result` only. The CLI exits 0 even when tools were denied.
 */
import type { Invocation, ParseState, Worker, WorkerEvent, WorkerSettings, WorkerTurn } from '../../core/worker.ts'
import { FILE_TOOLS, hostBaseUrl, numberOr, outputText, parseJsonLine, relativeTo, SHELL_TOOLS, versionProbe } from './shared.ts'

export const NAME = 'claude-code'

export interface ClaudeCodeOptions {
  /** The `claude` binary; default `claude` on PATH. */
  command?: string
  /**
   * Default `bypassPermissions`: `--dangerously-skip-permissions`, with `IS_SANDBOX=1` which root
   * needs for it (the agent runs in a throwaway container or a project checkout it owns). Any other
   * value is passed as `--permission-mode`; what it refuses ends up in `TurnResult.denied`.
   */
  permissionMode?: 'bypassPermissions' | 'acceptEdits' | 'default' | 'plan'
  /** `CLAUDE_CODE_MAX_RETRIES`. Default 2: the CLI's own 10 back off for minutes on a dead endpoint. */
  maxRetries?: number
}

interface Call { name: string; input: any }

export function claudeCode(options: ClaudeCodeOptions = {}): Worker {
  const command = options.command ?? 'claude'
  const permissionMode = options.permissionMode ?? 'bypassPermissions'
  const maxRetries = options.maxRetries ?? 2

  function invocation(turn: WorkerTurn, settings: WorkerSettings): Invocation {
    const permissions = permissionMode === 'bypassPermissions' ? ['--dangerously-skip-permissions'] : ['--permission-mode', permissionMode]
    return {
      command,
      args: ['-p', '--output-format', 'stream-json', '--verbose', ...permissions, '--model', settings.model,
        ...(turn.sessionId ? ['--resume', turn.sessionId] : [])],
      env: {
        ANTHROPIC_BASE_URL: hostBaseUrl(settings.llmUrl, '/v1'),
        ANTHROPIC_API_KEY: settings.apiKey,
        ...(permissionMode === 'bypassPermissions' ? { IS_SANDBOX: '1' } : {}),
        CLAUDE_CODE_MAX_RETRIES: String(maxRetries),
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
      },
      stdin: turn.prompt,
    }
  }

  function parseLine(line: string, state: ParseState): WorkerEvent[] {
    const msg = parseJsonLine(line)
    if (!msg) return []
    if (typeof msg.session_id === 'string') state.sessionId = msg.session_id
    const calls = (state.calls ??= new Map()) as Map<string, Call>
    const denied = (state.denied ??= new Set()) as Set<string>
    const events: WorkerEvent[] = []

    const deny = (id: string | undefined, name: string, input: unknown) => {
      if (id && denied.has(id)) return
      if (id) denied.add(id)
      events.push({ kind: 'tool_call', name, input: input ?? {}, status: 'denied' })
    }

    if (msg.type === 'assistant') {
      for (const block of asArray(msg.message?.content)) {
        if (block?.type === 'text' && typeof block.text === 'string' && block.text) events.push({ kind: 'message', text: block.text })
        if (block?.type === 'tool_use' && typeof block.name === 'string') {
          calls.set(block.id, { name: block.name, input: block.input ?? {} })
          events.push({ kind: 'tool_call', name: block.name, input: block.input ?? {}, status: 'started' })
        }
      }
    } else if (msg.type === 'user') {
      for (const block of asArray(msg.message?.content)) {
        if (block?.type !== 'tool_result') continue
        const call = calls.get(block.tool_use_id) ?? { name: 'unknown', input: {} }
        if (denied.has(block.tool_use_id)) continue // already reported by the permission_denied line
        events.push(...toolResult(call, block, msg.tool_use_result, state.cwd))
      }
    } else if (msg.type === 'system' && msg.subtype === 'permission_denied') {
      const call = calls.get(msg.tool_use_id)
      deny(msg.tool_use_id, String(msg.tool_name ?? call?.name ?? 'unknown'), call?.input ?? msg.tool_input)
    } else if (msg.type === 'system' && msg.subtype === 'api_retry') {
      events.push({ kind: 'error', warning: true, message: `API retry ${msg.attempt}/${msg.max_retries}: ${msg.error ?? ''} ${msg.error_status ?? ''}`.trim() })
    } else if (msg.type === 'result') {
      for (const denial of asArray(msg.permission_denials)) deny(denial?.tool_use_id, String(denial?.tool_name ?? 'unknown'), denial?.tool_input)
      if (msg.is_error || (typeof msg.subtype === 'string' && msg.subtype !== 'success')) {
        const status = msg.api_error_status ? ` (HTTP ${msg.api_error_status})` : ''
        events.push({ kind: 'error', message: `${typeof msg.result === 'string' ? msg.result : msg.subtype ?? 'error'}${status}` })
      }
      events.push(resultUsage(msg))
    }
    return events
  }

  return { name: NAME, invocation, parseLine, probe: versionProbe(command) }
}

/**
 * Usage of the `result` line. Measured on 2.1.330: `usage` covers this process only, but
 * `total_cost_usd` and `modelUsage` are the session's running totals on `--resume` (turn 2 of a
 * 200/40-token-per-turn session: usage 200/40, modelUsage 400/80, cost doubled). So the totals
 * (every model, cache reads/writes counted as input) go out as `cumulative`, and core takes the
 * turn's share; without `modelUsage`, this process's `usage` without a cost.
 */
function resultUsage(msg: any): WorkerEvent {
  const models = msg.modelUsage && typeof msg.modelUsage === 'object' ? Object.values(msg.modelUsage) as any[] : []
  if (models.length) {
    let input = 0
    let output = 0
    for (const model of models) {
      input += numberOr(model?.inputTokens) + numberOr(model?.cacheReadInputTokens) + numberOr(model?.cacheCreationInputTokens)
      output += numberOr(model?.outputTokens)
    }
    const cost = typeof msg.total_cost_usd === 'number' ? msg.total_cost_usd : models.reduce((sum, model) => sum + numberOr(model?.costUSD), 0)
    return { kind: 'usage', input_tokens: input, output_tokens: output, cost_usd: cost, cumulative: true }
  }
  const usage = msg.usage ?? {}
  return {
    kind: 'usage',
    input_tokens: numberOr(usage.input_tokens) + numberOr(usage.cache_creation_input_tokens) + numberOr(usage.cache_read_input_tokens),
    output_tokens: numberOr(usage.output_tokens),
  }
}

function asArray(value: unknown): any[] {
  return Array.isArray(value) ? value : []
}

/** A tool_result block (+ the structured `tool_use_result`) → the call's final status and its effects. */
function toolResult(call: Call, block: any, structured: any, cwd: string): WorkerEvent[] {
  const failed = block.is_error === true
  const output = outputText(block.content)
  const events: WorkerEvent[] = [{ kind: 'tool_call', name: call.name, input: call.input, status: failed ? 'error' : 'ok', output }]
  const tool = call.name.toLowerCase()
  if (SHELL_TOOLS.has(tool)) {
    // A failing command comes back as "Exit code N\n<output>"; a success as stdout/stderr.
    const exit = failed ? Number(/^(?:Error: )?Exit code (\d+)/.exec(output)?.[1] ?? Number.NaN) : 0
    const text = !failed && structured && typeof structured === 'object'
      ? [structured.stdout, structured.stderr].filter((s) => typeof s === 'string' && s).join('\n')
      : output
    events.push({ kind: 'command', cmd: String(call.input?.command ?? ''), exit: Number.isNaN(exit) ? null : exit, output: text })
  } else if (FILE_TOOLS.has(tool) && !failed) {
    const path = call.input?.file_path ?? call.input?.notebook_path ?? structured?.filePath
    if (typeof path === 'string') {
      const change = tool === 'write' && structured?.type === 'create' ? 'add' : 'modify'
      events.push({ kind: 'file_change', path: relativeTo(cwd, path), change })
    }
  }
  return events
}
