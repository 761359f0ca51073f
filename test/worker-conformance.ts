/**
 * The conformance suite every Worker plugin runs (CONVENTIONS §3): the key never in argv, recorded
 * output lines parse into the expected normalized events, garbage never throws, and, when the CLI
 * is here, real turns through `runWorkerTurn` against the fake LLM in a temp git repo: an edit with
 * events streamed live, usage, a resumed second turn, and timeout/abort killing the process group.
 */
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runWorkerTurn, type RunWorkerOptions, type TurnResult } from '../core/agent/run-worker.ts'
import type { ParseState, Worker, WorkerEvent, WorkerSettings, WorkerTurn } from '../core/worker.ts'
import { fingerprint, shellCall, start, writeFileCall, type FakeLlm } from './fixtures/fake-llm.ts'
import { GIT_IDENTITY } from './fixtures/git-http.ts'
import { startRelayedLlm } from './fixtures/llm-relay.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** name → binary of the pinned CLIs, installing them first (quick when present). */
export function provisionClis(): Map<string, string> {
  const script = join(ROOT, 'scripts', 'provision-clis.sh')
  const out = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  if (out.status !== 0) console.log(`worker conformance: provisioning incomplete:\n${out.stdout}${out.stderr}`)
  const list = spawnSync('bash', [script, '--print'], { encoding: 'utf8' }).stdout
  return new Map(list.trim().split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string]))
}

/** Recorded output lines of the CLI and the events (and session id) they must parse into. */
export interface Sample {
  title: string
  lines: string[]
  /** The turn's cwd the paths are made relative to. */
  cwd?: string
  events: WorkerEvent[]
  sessionId?: string
}

export interface WorkerTarget {
  /** Suite title, e.g. `codex`. */
  name: string
  /** The plugin under test; `command` is the binary when `live` runs. */
  create(command?: string): Worker
  samples: Sample[]
  /** Real turns: the binary, or why they cannot run here (a written reason, CONVENTIONS §3). */
  live: { command: string } | { skip: string }
  /** Seconds a real turn may take on a loaded 2-core machine. Default 180. */
  turnTimeoutSec?: number
}

export const KEY = `sk-conformance-${randomUUID().slice(0, 8)}`
export const TURN1 = 'TURN-1: create notes.txt\nwith "quotes" kept'
export const TURN2 = 'TURN-2: append a line with the shell'

/** Turn 1 writes notes.txt through the file tool, turn 2 appends through the shell tool. */
export function startConformanceLlm(): Promise<FakeLlm> {
  return start({
    script: (req) => {
      if (req.lastIsToolResult || req.tools.length === 0) return { text: `finished ${req.toolResultCount}` }
      const call = req.lastUserText.includes('TURN-2')
        ? shellCall(req, 'echo appended-by-shell >> notes.txt')
        : writeFileCall(req, 'notes.txt', 'written by the file tool\n')
      return call ? { toolCalls: [call] } : { text: 'no suitable tool declared' }
    },
  })
}

/** A TCP port that accepts connections and never answers: an LLM that hangs. */
export async function startHangingServer(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let count = 0
  const server: Server = createServer((socket) => {
    count += 1
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    }),
  }
}

/** A fresh git repo with one commit, and a HOME next to it. */
export async function workspace(name: string) {
  const root = await mkdtemp(join(tmpdir(), `worker-${name}-`))
  const repo = join(root, 'repo')
  const home = join(root, 'home')
  await mkdir(repo)
  await mkdir(home)
  const git = (args: string[]) => spawnSync('git', args, { cwd: repo, env: { ...process.env, ...GIT_IDENTITY } })
  git(['init', '-q', '-b', 'main'])
  git(['commit', '-q', '--allow-empty', '-m', 'init'])
  return { root, repo, home, remove: () => rm(root, { recursive: true, force: true }) }
}

/** Pids of live processes whose environment holds `NAME=value` (zombies have none). */
export async function processesWithEnv(name: string, value: string): Promise<number[]> {
  const needle = `${name}=${value}`
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')
    if (environ.split('\0').includes(needle)) pids.push(Number(entry))
  }
  return pids
}

/** Waits until no process carries the marker, up to `ms`; returns the survivors. */
export async function survivors(marker: string, ms = 3000): Promise<number[]> {
  const until = Date.now() + ms
  for (;;) {
    const pids = await processesWithEnv('TERARCHITECT_TEST_MARK', marker)
    if (pids.length === 0 || Date.now() > until) return pids
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** A turn with the events delivered through onEvent recorded, and whether each came before the end. */
export async function recordTurn(worker: Worker, turn: WorkerTurn, settings: WorkerSettings, options: RunWorkerOptions = {}) {
  const live: { event: WorkerEvent; beforeEnd: boolean }[] = []
  let ended = false
  const started = Date.now()
  const result: TurnResult = await runWorkerTurn(worker, turn, settings, {
    ...options,
    onEvent: (event) => {
      live.push({ event, beforeEnd: !ended })
      options.onEvent?.(event)
    },
  }).finally(() => (ended = true))
  return { result, live, seconds: (Date.now() - started) / 1000 }
}

/** Parses `lines` the way core does: a fresh state, every line, then `end`. */
export function parseAll(worker: Worker, lines: string[], cwd = '/work/repo'): { events: WorkerEvent[]; state: ParseState } {
  const state: ParseState = { cwd }
  const events = lines.flatMap((line) => worker.parseLine(line, state))
  events.push(...(worker.end?.(state) ?? []))
  return { events, state }
}

const GARBAGE = ['', ' ', 'garbage', '{', '}', '[1,2]', 'null', '42', '"text"', '{"type":null}', '{"type":"unknown-kind"}',
  '{"type":"result","usage":"x","modelUsage":[1]}', '{"type":"message","role":"assistant","content":7}', '\u0000\u0001',
  '<<<<<<< SEARCH', '>>>>>>> REPLACE', 'Applied edit to ', 'Tokens: k sent', `${'x'.repeat(200_000)}`]

/** Each recorded line with its fields set to odd values: a parser must shrug, not throw. */
function mutations(line: string): string[] {
  let value: any
  try {
    value = JSON.parse(line)
  } catch {
    return []
  }
  if (!value || typeof value !== 'object') return []
  const out: string[] = []
  for (const key of Object.keys(value)) {
    if (key === 'type') continue
    for (const odd of [null, 0, 'x', [], {}, [null]]) out.push(JSON.stringify({ ...value, [key]: odd }))
  }
  return out
}

const toolEvent = (event: WorkerEvent) => event.kind === 'tool_call' || event.kind === 'file_change' || event.kind === 'command'

/** Returns the uvu suite for `target`; the caller `.run()`s it. */
export function workerConformance(target: WorkerTarget) {
  const test = suite(`worker conformance: ${target.name}`)
  const settings = (llmUrl: string, timeoutSec = target.turnTimeoutSec ?? 180): WorkerSettings =>
    ({ llmUrl, model: 'fake-model', apiKey: KEY, timeoutSec })
  const command = 'command' in target.live ? target.live.command : undefined
  const skip = 'skip' in target.live ? target.live.skip : undefined
  let llm: FakeLlm
  let ws: Awaited<ReturnType<typeof workspace>>
  let firstSession: string | undefined
  let firstUsage: TurnResult['usage'] | undefined
  const timings: string[] = []

  let suiteStarted = 0

  test.before(async () => {
    suiteStarted = Date.now()
    if (skip) console.log(`worker conformance: ${target.name}: real turns skipped: ${skip}`)
    else {
      llm = await startConformanceLlm()
      ws = await workspace(target.name.replace(/[^\w-]+/g, '-'))
    }
  })
  test.after(async () => {
    await llm?.close()
    await ws?.remove()
    timings.push(`suite ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`)
    console.log(timings.map((line) => `worker conformance: ${target.name}: ${line}`).join('\n'))
  })

  test('the name is literal and the invocation keeps the key out of argv', () => {
    const worker = target.create(command)
    assert.match(worker.name, /^[a-z][a-z-]*$/)
    for (const sessionId of [undefined, 'session-1234']) {
      const invocation = worker.invocation({ prompt: `a prompt ${KEY.length}`, cwd: '/work/repo', sessionId }, settings('http://127.0.0.1:9/v1'), '/home/turn')
      assert.ok(invocation.command)
      assert.not.ok(invocation.args.some((arg) => arg.includes(KEY)), `key in argv: ${invocation.args.join(' ')}`)
      assert.not.ok((invocation.files ?? []).some((file) => file.content.includes(KEY)), 'key in a config file')
      assert.not.ok(invocation.stdin?.includes(KEY), 'key on stdin')
      assert.ok(Object.values(invocation.env).includes(KEY), 'the key reaches the CLI through its environment')
      assert.not.ok('GITHUB_TOKEN' in invocation.env)
      for (const file of invocation.files ?? []) assert.not.ok(file.path.startsWith('/') || file.path.includes('..'), `${file.path} not under HOME`)
    }
  })

  for (const sample of target.samples) {
    test(`parses recorded output: ${sample.title}`, () => {
      const { events, state } = parseAll(target.create(command), sample.lines, sample.cwd)
      assert.equal(events, sample.events)
      if (sample.sessionId !== undefined) assert.is(state.sessionId, sample.sessionId)
    })
  }

  test('garbage, unknown and mangled lines never throw', () => {
    const worker = target.create(command)
    const lines = [...GARBAGE, ...target.samples.flatMap((sample) => sample.lines.flatMap(mutations))]
    const state: ParseState = { cwd: '/work/repo' }
    for (const line of lines) {
      try {
        const events = worker.parseLine(line, state)
        assert.ok(Array.isArray(events))
      } catch (error) {
        assert.unreachable(`parseLine threw on ${line.slice(0, 200)}: ${(error as Error).stack}`)
      }
    }
    assert.ok(Array.isArray(worker.end?.(state) ?? []))
  })

  if (skip) return test

  test('probe finds the CLI', async () => {
    const worker = target.create(command)
    if (!worker.probe) return
    const probe = await worker.probe()
    assert.ok(probe.ok, probe.ok ? '' : probe.reason)
  })

  test('a real turn edits a file, streams events live, reports usage and a session', async () => {
    const worker = target.create(command)
    const before = llm.requests.length
    const { result, live, seconds } = await recordTurn(worker, { prompt: TURN1, cwd: ws.repo }, settings(llm.url), { home: ws.home })
    timings.push(`turn 1 ${seconds.toFixed(1)} s`)
    assert.is(result.exitCode, 0, `exit ${result.exitCode}\n${result.stderrTail}`)
    assert.is(await readFile(join(ws.repo, 'notes.txt'), 'utf8'), 'written by the file tool\n')
    assert.ok(live.some(({ event, beforeEnd }) => toolEvent(event) && beforeEnd), `no tool event live: ${JSON.stringify(result.events).slice(0, 2000)}`)
    assert.equal(live.map(({ event }) => event), result.events, 'onEvent saw exactly the returned events, in order')
    assert.ok(result.usage.input_tokens > 0 && result.usage.output_tokens > 0, `usage ${JSON.stringify(result.usage)}`)
    assert.ok(result.sessionId, 'a session id')
    assert.equal(result.denied, [])
    firstSession = result.sessionId
    firstUsage = result.usage
    const calls = llm.requests.slice(before).filter((r) => r.request)
    assert.ok(calls.some((r) => r.request!.lastUserText.includes(TURN1)), 'the prompt arrived verbatim')
    assert.ok(llm.keyWasSent(KEY), 'the key reached the LLM')
    assert.not.ok(JSON.stringify(result).includes(KEY), 'the key is not in the result')
    assert.not.ok(calls.some((r) => JSON.stringify(r.body).includes(KEY)), 'the key never enters a prompt')
  })

  test('a real turn through the app\'s LLM relay: the CLI holds the job token, the LLM sees the real key', async () => {
    const relay = await startRelayedLlm(llm.url, KEY)
    try {
      const worker = target.create(command)
      const before = llm.requests.length
      const cwd = join(ws.root, 'relayed')
      await mkdir(cwd, { recursive: true })
      spawnSync('git', ['init', '-q', cwd])
      const { result, seconds } = await recordTurn(worker, { prompt: TURN1, cwd }, { ...settings(relay.url), apiKey: relay.token }, { home: join(ws.root, 'relayed-home') })
      timings.push(`relayed turn ${seconds.toFixed(1)} s`)
      assert.is(result.exitCode, 0, `exit ${result.exitCode}\n${result.stderrTail}`)
      assert.is(await readFile(join(cwd, 'notes.txt'), 'utf8'), 'written by the file tool\n')
      const calls = llm.requests.slice(before)
      assert.ok(calls.length > 0 && calls.every((r) => r.keyFingerprint === fingerprint(KEY)), 'every call reached the LLM with the real key')
      assert.not.ok(llm.keyWasSent(relay.token), 'the job token never reached the LLM')
      const usage = await relay.usage()
      assert.is(usage.calls, calls.filter((r) => r.request).length, 'each call was counted')
      assert.ok(usage.input > 0 && usage.output > 0, `relayed usage ${JSON.stringify(usage)}`)
    } finally {
      await relay.close()
    }
  })

  test('a second turn resumes the session', async () => {
    assert.ok(firstSession, 'turn 1 gave no session')
    const worker = target.create(command)
    const before = llm.requests.length
    const { result, seconds } = await recordTurn(worker, { prompt: TURN2, cwd: ws.repo, sessionId: firstSession }, settings(llm.url), { home: ws.home })
    timings.push(`turn 2 (resumed) ${seconds.toFixed(1)} s`)
    assert.is(result.exitCode, 0, `exit ${result.exitCode}\n${result.stderrTail}`)
    assert.is(await readFile(join(ws.repo, 'notes.txt'), 'utf8'), 'written by the file tool\nappended-by-shell\n')
    assert.is(result.sessionId, firstSession, 'same session id')
    const resumed = llm.requests.slice(before).find((r) => r.request?.lastUserText.includes('TURN-2'))
    assert.ok(resumed, 'turn 2 reached the LLM')
    assert.ok(resumed!.request!.allText.includes('TURN-1'), 'turn 2 carries the history of turn 1')
    // Both turns make the same calls (a tool call, then the answer): a resumed turn reporting the
    // session's running total (Codex, Claude's cost) would show more.
    assert.ok(result.usage.input_tokens > 0, 'usage of the resumed turn')
    assert.ok(result.usage.input_tokens <= firstUsage!.input_tokens && result.usage.output_tokens <= firstUsage!.output_tokens,
      `turn 2 usage ${JSON.stringify(result.usage)} exceeds turn 1's ${JSON.stringify(firstUsage)}: a running total?`)
    if (firstUsage!.cost_usd) assert.ok(result.usage.cost_usd! <= firstUsage!.cost_usd * 1.0001, `cost ${result.usage.cost_usd} vs ${firstUsage!.cost_usd}`)
    assert.ok(result.events.some(toolEvent))
  })

  test('timeout kills the whole process group', async () => {
    const hang = await startHangingServer()
    const marker = randomUUID()
    try {
      const worker = target.create(command)
      // Long enough for a CLI to reach the LLM on a loaded machine (OpenCode starts in 3–10 s);
      // the group must die whether or not it got there.
      const timeoutSec = 12
      const { result, seconds } = await recordTurn(worker, { prompt: TURN1, cwd: ws.repo }, settings(hang.url, timeoutSec),
        { env: { TERARCHITECT_TEST_MARK: marker }, killGraceMs: 2000 })
      timings.push(`timeout after ${seconds.toFixed(1)} s (limit ${timeoutSec} s, ${hang.connections()} connection(s) to the hanging LLM)`)
      assert.ok(result.timedOut, `not timed out: exit ${result.exitCode}\n${result.stderrTail}`)
      assert.is(result.exitCode, null)
      assert.not.ok(result.aborted)
      assert.ok(seconds >= timeoutSec - 0.5 && seconds < timeoutSec + 2 + 15, `took ${seconds} s`)
      assert.equal(await survivors(marker), [], 'processes of the turn outlived it')
    } finally {
      await hang.close()
    }
  })

  test('abort kills the whole process group', async () => {
    const hang = await startHangingServer()
    const marker = randomUUID()
    const controller = new AbortController()
    let abortedAt = 0
    // Abort once the CLI is waiting on the LLM (or after 60 s, whatever comes first).
    const poll = setInterval(() => {
      if (hang.connections() > 0 && !abortedAt) {
        abortedAt = Date.now()
        controller.abort()
      }
    }, 100)
    const fallback = setTimeout(() => { abortedAt ||= Date.now(); controller.abort() }, 60_000)
    try {
      const worker = target.create(command)
      const { result } = await recordTurn(worker, { prompt: TURN1, cwd: ws.repo }, settings(hang.url, 0),
        { env: { TERARCHITECT_TEST_MARK: marker }, signal: controller.signal, killGraceMs: 2000 })
      const stoppedIn = (Date.now() - abortedAt) / 1000
      timings.push(`abort stopped in ${stoppedIn.toFixed(1)} s`)
      assert.ok(hang.connections() > 0, 'the CLI never called the LLM')
      assert.ok(result.aborted, `not aborted: exit ${result.exitCode}\n${result.stderrTail}`)
      assert.is(result.exitCode, null)
      assert.not.ok(result.timedOut)
      assert.ok(stoppedIn < 2 + 10, `stopped ${stoppedIn} s after abort`)
      assert.equal(await survivors(marker), [], 'processes of the turn outlived it')
    } finally {
      clearInterval(poll)
      clearTimeout(fallback)
      await hang.close()
    }
  })

  return test
}
