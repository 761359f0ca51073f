/**
 * `aider`: Aider (Python) in one-shot mode against an OpenAI-compatible endpoint (DESIGN.md §7.4).
 * Not installable here (no PyPI), so tested with a stub that prints what Aider prints.
 *
 * Aider has no JSON output: edits arrive as text edit blocks (`<<<<<<< SEARCH` … `=======` …
 * `>>>>>>> REPLACE` after a file-name line), then `Applied edit to <file>`, and usage as
 * `Tokens: 2.4k sent, 54 received. Cost: $0.01 message, $0.02 session.` Parsing is best effort;
 * the agent judges the result from git.
 *
 * Invocation choices: the prompt goes in a file under HOME (`--message-file`) rather than argv (a
 * Director prompt with a diff can pass the 128 KiB limit of one argument); no auto-commits and no
 * .gitignore edit (the agent commits, and `git diff` must show the work); chat history under HOME,
 * one file per session id the plugin chooses, restored on resume (`--restore-chat-history`).
 */
import { randomUUID } from 'node:crypto'
import type { Invocation, ParseState, Worker, WorkerEvent, WorkerSettings, WorkerTurn } from '../../core/worker.ts'
import { openAiBaseUrl, relativeTo, versionProbe } from './shared.ts'

export const NAME = 'aider'

export interface AiderOptions {
  /** The `aider` binary; default `aider` on PATH. */
  command?: string
  /** Prefix making the model an OpenAI-compatible one for litellm; default `openai/`. */
  modelPrefix?: string
}

// Lines Aider prints about itself; neither the model's words nor an event.
const BANNER = /^(Aider v\d|Model:|Main model:|Weak model:|Editor model:|Git repo:|Repo-map:|Use \/help|Added .+ to the chat|Restored previous conversation history|Cost estimates may be inaccurate|Warning: |https:\/\/aider\.chat|Creating empty file |Update git name|Update git email|Scraping )/
const APPLIED = /^Applied edit to (.+?)\s*$/
const NOT_APPLIED = /^(?:Did not apply edit to (.+?)|# \d+ SEARCH\/REPLACE blocks? failed to match!?)\s*$/
const TOKENS = /^Tokens: ([\d.]+)([km]?) sent(?:, ([\d.]+)([km]?) cache write)?(?:, ([\d.]+)([km]?) cache hit)?, ([\d.]+)([km]?) received\.(?: Cost: \$([\d.]+) message)?/
const RUNNING = /^Running (.+)$/
const RETRY = /^Retrying in [\d.]+ seconds/
const LLM_ERROR = /^(litellm\.\w+(?:Error|Exception)|.*APIError:|The API provider )/

const FENCE = /^\s*```[\w-]*\s*$/

const count = (value: string | undefined, unit: string | undefined) =>
  value === undefined ? 0 : Math.round(Number(value) * (unit === 'k' ? 1_000 : unit === 'm' ? 1_000_000 : 1))

interface AiderState {
  /** Text lines since the last event, emitted as one message. */
  text: string[]
  /** Inside a SEARCH/REPLACE block: its lines so far. */
  block?: string[]
  /** The non-empty line before a block: its file name. */
  lastLine?: string
  blockFile?: string
  /** Just after a block's REPLACE line (its closing fence follows). */
  afterBlock?: boolean
  /** Edit blocks seen per file, attached as `diff` when Aider says it applied them. */
  blocks: Map<string, string[]>
}

export function aider(options: AiderOptions = {}): Worker {
  const command = options.command ?? 'aider'
  const prefix = options.modelPrefix ?? 'openai/'

  function invocation(turn: WorkerTurn, settings: WorkerSettings, home: string): Invocation {
    // The session id names files under HOME: keep it to safe characters.
    const id = turn.sessionId && /^[\w.-]{1,100}$/.test(turn.sessionId) ? turn.sessionId : `aider-${randomUUID()}`
    const model = settings.model.startsWith(prefix) ? settings.model : `${prefix}${settings.model}`
    return {
      command,
      args: [
        '--message-file', `${home}/.aider/${id}.message.md`,
        '--model', model, '--openai-api-base', openAiBaseUrl(settings.llmUrl),
        '--yes-always', '--no-check-update', '--no-analytics', '--no-show-model-warnings',
        '--no-auto-commits', '--no-dirty-commits', '--no-gitignore', '--no-pretty', '--no-fancy-input',
        '--chat-history-file', `${home}/.aider/${id}.chat.md`,
        '--input-history-file', `${home}/.aider/${id}.input.history`,
        ...(turn.sessionId === id ? ['--restore-chat-history'] : []),
      ],
      env: { OPENAI_API_KEY: settings.apiKey },
      files: [{ path: `.aider/${id}.message.md`, content: turn.prompt }],
      sessionId: id,
    }
  }

  function stateOf(state: ParseState): AiderState {
    return (state.aider ??= { text: [], blocks: new Map() }) as AiderState
  }

  function flushText(s: AiderState): WorkerEvent[] {
    const text = s.text.join('\n').trim()
    s.text = []
    return text ? [{ kind: 'message', text }] : []
  }

  function parseLine(raw: string, state: ParseState): WorkerEvent[] {
    const s = stateOf(state)
    const line = raw.replace(/\r$/, '')
    if (s.block) {
      s.block.push(line)
      if (/^>{5,9} REPLACE\s*$/.test(line)) {
        const file = s.blockFile ?? ''
        s.blocks.set(file, [...(s.blocks.get(file) ?? []), s.block.join('\n')])
        s.block = undefined
        s.afterBlock = true
      }
      return []
    }
    const fence = FENCE.test(line)
    if (s.afterBlock) {
      s.afterBlock = false
      if (fence) return [] // the fence closing the block
    }
    if (/^<{5,9} SEARCH\s*$/.test(line)) {
      // The fence and the file-name line before the block were taken as text: take them back.
      while (s.text.length && FENCE.test(s.text.at(-1)!)) s.text.pop()
      if (s.text.length && s.text.at(-1)!.trim() === s.lastLine) s.text.pop()
      s.blockFile = s.lastLine
      s.block = [line]
      return flushText(s)
    }
    const trimmed = line.trim()
    let match: RegExpExecArray | null
    if ((match = APPLIED.exec(trimmed))) {
      const file = match[1]!
      const diff = s.blocks.get(file)?.join('\n')
      s.blocks.delete(file)
      return [
        ...flushText(s),
        { kind: 'tool_call', name: 'edit', input: { path: file }, status: 'ok' },
        { kind: 'file_change', path: relativeTo(state.cwd, file), change: 'modify', ...(diff ? { diff } : {}) },
      ]
    }
    if ((match = NOT_APPLIED.exec(trimmed))) {
      return [...flushText(s), { kind: 'tool_call', name: 'edit', input: { path: match[1] ?? null }, status: 'error', output: trimmed }]
    }
    if ((match = TOKENS.exec(trimmed))) {
      const input = count(match[1], match[2]) + count(match[3], match[4]) + count(match[5], match[6])
      const cost = match[9] === undefined ? {} : { cost_usd: Number(match[9]) }
      return [...flushText(s), { kind: 'usage', input_tokens: input, output_tokens: count(match[7], match[8]), ...cost }]
    }
    if ((match = RUNNING.exec(trimmed))) return [...flushText(s), { kind: 'command', cmd: match[1]!, exit: null, output: '' }]
    if (RETRY.test(trimmed)) return [...flushText(s), { kind: 'error', warning: true, message: trimmed }]
    if (LLM_ERROR.test(trimmed)) return [...flushText(s), { kind: 'error', message: trimmed }]
    if (BANNER.test(trimmed) || /^─+$/.test(trimmed)) return []
    if (trimmed && !fence) s.lastLine = trimmed
    s.text.push(line)
    return []
  }

  return { name: NAME, invocation, parseLine, end: (state) => flushText(stateOf(state)), probe: versionProbe(command) }
}
