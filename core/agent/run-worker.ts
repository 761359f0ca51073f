/**
 * Runs one Worker turn: writes the invocation's config files under HOME, spawns the CLI in its own
 * process group with a minimal environment, parses its stdout line by line into normalized events
 * (delivered live), and stops the whole group on timeout or abort. What comes back has the API key
 * redacted everywhere.
 *
 * Exit 0 never proves work was done (docs/clis.md): callers judge from git and from `events`,
 * `denied` and `usage`.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { AppError } from '../errors.ts'
import { redact } from '../log.ts'
import type { ParseState, Worker, WorkerEvent, WorkerSettings, WorkerTurn } from '../worker.ts'

export interface TurnResult {
  /** null when the process was killed (timeout, abort, a signal). */
  exitCode: number | null
  timedOut: boolean
  aborted: boolean
  /** All normalized events of the turn, in order (usage already per turn). */
  events: WorkerEvent[]
  /** For resuming in the next turn (pass it back as `WorkerTurn.sessionId` with the same `home`). */
  sessionId?: string
  /** Sum of the turn's usage events. */
  usage: { input_tokens: number; output_tokens: number; cost_usd?: number }
  /** Tool calls refused by the CLI's permission system, as `<tool>: <command or path>`. */
  denied: string[]
  /** Last ~4 KB of stderr, secrets redacted. */
  stderrTail: string
}

export interface RunWorkerOptions {
  /** Called live as each event is parsed (already redacted). A throwing callback is ignored. */
  onEvent?: (event: WorkerEvent) => void
  signal?: AbortSignal
  /**
   * HOME for the CLI: config files are written under it and sessions live there, so resuming needs
   * the same HOME. Default: one fresh temp dir per (worker, cwd) in this process, removed at exit.
   */
  home?: string
  /** Extra environment (never the GitHub token: GITHUB_TOKEN/GH_TOKEN are dropped). */
  env?: Record<string, string>
  /** Milliseconds between SIGTERM and SIGKILL to the process group. Default 3000. */
  killGraceMs?: number
  /**
   * Directory of prepared HOME templates, one per worker name (scripts/prepare-worker-homes.mjs):
   * the CLI's first-run state, made once per image with no job data or secret in it. Default
   * AGENT_WORKER_HOME_TEMPLATES (the agent image sets it); none: the CLI starts from an empty HOME.
   */
  homeTemplates?: string
}

/** The CLI could not be started at all (not installed, not executable). */
export const workerNotStarted = (command: string, cause: unknown) =>
  new AppError('worker_not_started', 503, `could not start ${command}: ${(cause as Error)?.message ?? cause}`, [], cause)

const STDERR_TAIL = 4096
const NEVER_PASSED = ['GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_API_TOKEN']

export async function runWorkerTurn(worker: Worker, turn: WorkerTurn, settings: WorkerSettings, options: RunWorkerOptions = {}): Promise<TurnResult> {
  const { signal, onEvent } = options
  const secrets = settings.apiKey && settings.apiKey.length >= 4 ? [settings.apiKey] : []
  for (const secret of secrets) redact(secret) // also masked in every log record from now on
  const scrub = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('***'), text)
  const events: WorkerEvent[] = []
  const result = (fields: Partial<TurnResult>): TurnResult => ({
    exitCode: null, timedOut: false, aborted: false, events, usage: sumUsage(events), denied: deniedCalls(events), stderrTail: '', ...fields,
  })
  if (signal?.aborted) return result({ aborted: true, sessionId: turn.sessionId })

  const home = options.home ?? defaultHome(worker.name, turn.cwd)
  await mkdir(join(home, 'tmp'), { recursive: true })
  const templateProblem = await copyHomeTemplate(options.homeTemplates ?? process.env.AGENT_WORKER_HOME_TEMPLATES, worker.name, home)
  const invocation = worker.invocation(turn, settings, home)
  for (const file of invocation.files ?? []) {
    const path = resolve(home, file.path)
    const rel = relative(home, path)
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new AppError('invalid_worker_file', 500, `${worker.name}: config file ${file.path} is outside HOME`)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, file.content, { mode: 0o600 })
  }

  const env: Record<string, string> = {
    PATH: pathWithNode(process.env.PATH),
    HOME: home,
    LANG: process.env.LANG || 'C.UTF-8',
    TMPDIR: join(home, 'tmp'), // Gemini leaves error reports here; kept out of the workspace
    ...invocation.env,
    ...options.env,
  }
  for (const key of NEVER_PASSED) delete env[key]

  const child = spawn(invocation.command, invocation.args, {
    cwd: turn.cwd,
    env,
    detached: true, // own process group: -pid reaches the CLI, its re-spawned self and its tools
    stdio: [invocation.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], // stdin must reach EOF
  })
  await new Promise<void>((resolveSpawn, rejectSpawn) => {
    child.once('spawn', resolveSpawn)
    child.once('error', (error) => rejectSpawn(workerNotStarted(invocation.command, error)))
  })
  const pid = child.pid!
  child.on('error', () => {}) // after spawn: surfaces as the exit/close below
  if (child.stdin) {
    child.stdin.on('error', () => {}) // EPIPE when the CLI exits without reading
    child.stdin.end(invocation.stdin)
  }

  const state: ParseState = { cwd: turn.cwd }
  const emit = (event: WorkerEvent) => {
    const normalized = event.kind === 'usage' && event.cumulative
      ? turnShare(`${worker.name}\0${home}\0${state.sessionId ?? invocation.sessionId ?? turn.sessionId ?? ''}`, event)
      : event
    const clean = redactDeep(normalized, scrub) as WorkerEvent
    events.push(clean)
    try {
      onEvent?.(clean)
    } catch {
      // the caller's problem; the turn goes on
    }
  }
  // Said in the turn's output, never a failure: without its template the CLI makes its state itself.
  if (templateProblem) emit({ kind: 'error', warning: true, message: `${worker.name}: prepared HOME not copied (${templateProblem}); the CLI starts without it` })
  const parse = (line: string) => {
    if (!line.trim()) return
    try {
      for (const event of worker.parseLine(line, state)) emit(event)
    } catch (error) {
      emit({ kind: 'error', warning: true, message: `${worker.name}: unparsable output line (${(error as Error)?.message ?? error})` })
    }
  }

  // Line framing: a chunk may end mid-line (and mid-character); the remainder waits for the next.
  const decoder = new StringDecoder('utf8')
  let pending = ''
  child.stdout!.on('data', (data: Buffer) => {
    pending += decoder.write(data)
    let newline: number
    while ((newline = pending.indexOf('\n')) >= 0) {
      parse(pending.slice(0, newline).replace(/\r$/, ''))
      pending = pending.slice(newline + 1)
    }
  })
  let stderr = ''
  child.stderr!.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString('utf8')).slice(-(STDERR_TAIL * 4))
  })

  let stoppedBy: 'timeout' | 'abort' | undefined
  let killTimer: NodeJS.Timeout | undefined
  const killGroup = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name)
    } catch {
      // ESRCH: the group is gone
    }
  }
  const stop = (reason: 'timeout' | 'abort') => {
    if (stoppedBy) return
    stoppedBy = reason
    killGroup('SIGTERM')
    killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 3000)
  }
  const onAbort = () => stop('abort')
  signal?.addEventListener('abort', onAbort, { once: true })
  const timeout = settings.timeoutSec > 0 ? setTimeout(() => stop('timeout'), settings.timeoutSec * 1000) : undefined

  const exitCode = await new Promise<number | null>((resolveExit) => {
    let code: number | null = null
    let closeTimer: NodeJS.Timeout | undefined
    child.once('exit', (exit) => {
      code = exit
      // Leftovers of a finished CLI (a server a tool started) never outlive the turn.
      killGroup('SIGKILL')
      // A process outside the group holding our pipes would keep 'close' back forever.
      closeTimer = setTimeout(() => {
        child.stdout?.destroy()
        child.stderr?.destroy()
        resolveExit(code)
      }, 5000)
    })
    child.once('close', () => {
      clearTimeout(closeTimer)
      resolveExit(code)
    })
  })
  clearTimeout(timeout)
  clearTimeout(killTimer)
  signal?.removeEventListener('abort', onAbort)

  pending += decoder.end()
  if (pending) parse(pending.replace(/\r$/, ''))
  try {
    for (const event of worker.end?.(state) ?? []) emit(event)
  } catch {
    // end() is best effort
  }

  return result({
    exitCode: stoppedBy ? null : exitCode,
    timedOut: stoppedBy === 'timeout',
    aborted: stoppedBy === 'abort',
    sessionId: state.sessionId ?? invocation.sessionId ?? turn.sessionId,
    stderrTail: scrub(stderr).slice(-STDERR_TAIL),
  })
}

type Usage = Extract<WorkerEvent, { kind: 'usage' }>

/**
 * Last running total per session (Codex reports the thread's total, not the turn's). Session ids
 * are unique, so a new thread starts from zero; a thread resumed in another process (unknown
 * previous total) is counted whole, an over-count rather than a loss.
 */
const sessionTotals = new Map<string, Usage>()

function turnShare(key: string, total: Usage): Usage {
  const before = sessionTotals.get(key)
  sessionTotals.set(key, total)
  const share = (now: number, then = 0) => (now >= then ? now - then : now)
  const usage: Usage = {
    kind: 'usage',
    input_tokens: share(total.input_tokens, before?.input_tokens),
    output_tokens: share(total.output_tokens, before?.output_tokens),
  }
  if (total.cost_usd !== undefined) usage.cost_usd = share(total.cost_usd, before?.cost_usd)
  return usage
}

function sumUsage(events: WorkerEvent[]): TurnResult['usage'] {
  const usage: TurnResult['usage'] = { input_tokens: 0, output_tokens: 0 }
  for (const event of events) {
    if (event.kind !== 'usage') continue
    usage.input_tokens += event.input_tokens
    usage.output_tokens += event.output_tokens
    if (event.cost_usd !== undefined) usage.cost_usd = (usage.cost_usd ?? 0) + event.cost_usd
  }
  return usage
}

function deniedCalls(events: WorkerEvent[]): string[] {
  return events.flatMap((event) => (event.kind === 'tool_call' && event.status === 'denied' ? [describeCall(event.name, event.input)] : []))
}

/** `<tool>: <command or path>` (shortened), for `denied` and logs. */
export function describeCall(name: string, input: unknown): string {
  const fields = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>
  const detail = fields.command ?? fields.cmd ?? fields.file_path ?? fields.filePath ?? fields.path
  const text = typeof detail === 'string' ? detail : Array.isArray(detail) ? detail.join(' ') : input === undefined ? '' : JSON.stringify(input)
  return text && text !== '{}' ? `${name}: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}` : name
}

function redactDeep(value: unknown, scrub: (text: string) => string): unknown {
  if (typeof value === 'string') return scrub(value)
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, scrub))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, scrub)]))
  }
  return value
}

/** PATH with this node first when missing: Codex and Gemini start through `#!/usr/bin/env node`. */
function pathWithNode(path: string | undefined): string {
  const nodeDir = dirname(process.execPath)
  const base = path || '/usr/local/bin:/usr/bin:/bin'
  return base.split(delimiter).includes(nodeDir) ? base : `${nodeDir}${delimiter}${base}`
}

/**
 * Copies the worker's prepared template into `home`: each top-level entry HOME lacks, so the first
 * turn of a job gets it and a later turn keeps what the CLI made of it. A copy, never a link: nothing
 * one job writes reaches the template or another job. Each entry is copied under a temporary name and
 * renamed when complete, so a copy that fails leaves nothing half made under the CLI's name (a later
 * turn tries again). No template: nothing. Returns what went wrong, if anything (the turn goes on).
 */
async function copyHomeTemplate(templates: string | undefined, workerName: string, home: string): Promise<string | undefined> {
  if (!templates || !/^[\w-]+$/.test(workerName)) return undefined
  const template = join(templates, workerName)
  let entries: string[]
  try {
    entries = await readdir(template)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : (error as Error).message
  }
  const present = new Set(await readdir(home))
  const failed: string[] = []
  for (const name of entries) {
    if (present.has(name)) continue
    const partial = join(home, `.template-copy-${process.pid}-${name}`)
    try {
      await cp(join(template, name), partial, { recursive: true, errorOnExist: true, force: false })
      await rename(partial, join(home, name))
    } catch (error) {
      await rm(partial, { recursive: true, force: true }).catch(() => {})
      failed.push(`${name}: ${(error as Error).message}`)
    }
  }
  return failed.length ? failed.join('; ') : undefined
}

const homes = new Map<string, string>()

/** One HOME per (worker, cwd) for this process, so a resumed turn finds the session; removed at exit. */
function defaultHome(workerName: string, cwd: string): string {
  const key = `${workerName}\0${cwd}`
  let home = homes.get(key)
  if (!home) {
    if (homes.size === 0) process.once('exit', () => { for (const dir of homes.values()) rmSync(dir, { recursive: true, force: true }) })
    home = mkdtempSync(join(tmpdir(), `terarchitect-${workerName}-home-`))
    mkdirSync(join(home, 'tmp'), { recursive: true })
    homes.set(key, home)
  }
  return home
}
