/**
 * `opencode`: OpenCode's one-shot mode, `opencode run --format json`, the prompt on stdin (an argv
 * message with spaces reaches the model wrapped in quotes; stdin arrives verbatim, docs/clis.md).
 * The provider is an OpenAI-compatible one given as JSON in `OPENCODE_CONFIG_CONTENT`; the key stays
 * out of that text through `{env:NAME}`.
 *
 * Output: `step_start`, `tool_use` (once, when the tool finished), `text` (whole parts, not deltas),
 * `step_finish` (tokens and cost of that step: summed), `error`. `sessionID` is on every line.
 */
import type { Invocation, ParseState, Worker, WorkerEvent, WorkerSettings, WorkerTurn } from '../../core/worker.ts'
import { FILE_TOOLS, numberOr, openAiBaseUrl, outputText, parseJsonLine, relativeTo, SHELL_TOOLS, versionProbe } from './shared.ts'

export const NAME = 'opencode'

/** The variable the provider config reads the key from. */
const KEY_VARIABLE = 'WORKER_LLM_API_KEY'

export interface OpenCodeOptions {
  /** The `opencode` binary; default `opencode` on PATH. */
  command?: string
  /**
   * Default true: `--auto`, which approves permissions configured as `ask` (a project's
   * opencode.json may say so). Without it `run` silently rejects them and still exits 0.
   */
  autoApprove?: boolean
  /** Provider id in the generated config (the model is `<id>/<WORKER_MODEL>`). Default `terarchitect`. */
  providerId?: string
  /** Extra top-level OpenCode config merged over the generated one (e.g. `permission`). */
  config?: Record<string, unknown>
}

export function opencode(options: OpenCodeOptions = {}): Worker {
  const command = options.command ?? 'opencode'
  const autoApprove = options.autoApprove ?? true
  const providerId = options.providerId ?? 'terarchitect'

  function invocation(turn: WorkerTurn, settings: WorkerSettings): Invocation {
    const config = {
      provider: {
        [providerId]: {
          npm: '@ai-sdk/openai-compatible', // bundled: nothing is installed at run time
          name: 'Terarchitect worker LLM',
          options: { baseURL: openAiBaseUrl(settings.llmUrl), apiKey: `{env:${KEY_VARIABLE}}` },
          models: { [settings.model]: { name: settings.model } },
        },
      },
      model: `${providerId}/${settings.model}`,
      autoupdate: false,
      share: 'disabled',
      ...options.config,
    }
    return {
      command,
      args: ['run', '--format', 'json', ...(autoApprove ? ['--auto'] : []), ...(turn.sessionId ? ['--session', turn.sessionId] : [])],
      env: {
        OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
        [KEY_VARIABLE]: settings.apiKey,
        OPENCODE_DISABLE_AUTOUPDATE: '1',
        OPENCODE_DISABLE_MODELS_FETCH: '1',
        OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
      },
      stdin: turn.prompt, // stdin must reach EOF or `run` waits forever
    }
  }

  function parseLine(line: string, state: ParseState): WorkerEvent[] {
    const msg = parseJsonLine(line)
    if (!msg) return []
    if (typeof msg.sessionID === 'string') state.sessionId = msg.sessionID
    const part = msg.part ?? {}
    switch (msg.type) {
      case 'text':
        return typeof part.text === 'string' && part.text ? [{ kind: 'message', text: part.text }] : []
      case 'tool_use':
        return toolUse(part, state.cwd)
      case 'step_finish': {
        const tokens = part.tokens ?? {}
        const cache = tokens.cache ?? {}
        return [{
          kind: 'usage',
          input_tokens: numberOr(tokens.input) + numberOr(cache.read) + numberOr(cache.write),
          output_tokens: numberOr(tokens.output) + numberOr(tokens.reasoning),
          ...(typeof part.cost === 'number' ? { cost_usd: part.cost } : {}),
        }]
      }
      case 'error': {
        const error = msg.error ?? {}
        return [{ kind: 'error', message: String(error.data?.message ?? error.message ?? error.name ?? 'error') }]
      }
      default:
        return []
    }
  }

  return { name: NAME, invocation, parseLine, probe: versionProbe(command) }
}

function toolUse(part: any, cwd: string): WorkerEvent[] {
  const name = String(part.tool ?? 'unknown')
  const state = part.state ?? {}
  const input = state.input ?? {}
  const metadata = state.metadata ?? {}
  if (state.status !== 'completed' && state.status !== 'error') {
    return [{ kind: 'tool_call', name, input, status: 'started' }]
  }
  if (state.status === 'error') {
    // An `ask` permission rejected by `run` ends the same way as a failing tool, told by the text.
    const error = String(state.error ?? '')
    const status = /rejected permission|permission.*denied/i.test(error) ? 'denied' : 'error'
    return [{ kind: 'tool_call', name, input, status, output: error }]
  }
  const output = outputText(state.output)
  const events: WorkerEvent[] = [{ kind: 'tool_call', name, input, status: 'ok', output }]
  const tool = name.toLowerCase()
  if (SHELL_TOOLS.has(tool)) {
    const exit = typeof metadata.exit === 'number' ? metadata.exit : null
    events.push({ kind: 'command', cmd: String(input.command ?? ''), exit, output: outputText(metadata.output ?? state.output) })
  } else if (FILE_TOOLS.has(tool)) {
    const path = input.filePath ?? metadata.filepath
    if (typeof path === 'string') {
      events.push({ kind: 'file_change', path: relativeTo(cwd, path), change: tool === 'write' && metadata.exists === false ? 'add' : 'modify' })
    }
  }
  return events
}
