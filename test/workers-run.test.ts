// runWorkerTurn itself, with a scripted stand-in CLI (`node -e`) whose stdout lines are events as
// JSON: line framing, the environment, HOME and its files, stdin, redaction, usage normalization,
// exit codes and failures to start. The real CLIs run in workers.test.ts.
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runWorkerTurn } from '../core/agent/run-worker.ts'
import { versionProbe } from '../plugins/workers/shared.ts'
import { isAppError } from '../core/errors.ts'
import type { Invocation, Worker, WorkerEvent, WorkerSettings } from '../core/worker.ts'
import { survivors } from './worker-conformance.ts'

const KEY = `sk-run-${randomUUID().slice(0, 8)}`

/** The stand-in CLI: what it does is chosen by SCENARIO. Plain JS, run as `node -e`. */
const SCRIPT = String.raw`
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const out = (text) => new Promise((resolve) => process.stdout.write(text, resolve))
const scenario = process.env.SCENARIO
;(async () => {
  if (scenario === 'chunks') {
    // One event split across writes (mid-character too), CRLF, garbage, and a last line without newline.
    const line = JSON.stringify({ kind: 'message', text: 'héllo wörld' }) + '\n'
    const bytes = Buffer.from(line)
    await out(bytes.subarray(0, 20)); await wait(50)
    await out(bytes.subarray(20, 31)); await wait(50)
    await out(Buffer.concat([bytes.subarray(31), Buffer.from('not json\r\n{"kind":"message","text":"crlf"}\r\n')]))
    await out('{"kind":"message","text":"unterminated"}')
  } else if (scenario === 'env') {
    const keys = Object.keys(process.env).filter((k) => !['_', 'SHLVL', 'PWD', 'OLDPWD'].includes(k)).sort()
    console.log(JSON.stringify({ kind: 'message', text: JSON.stringify(keys) }))
    console.log(JSON.stringify({ kind: 'message', text: 'home=' + process.env.HOME + ' tmp=' + process.env.TMPDIR + ' cwd=' + process.cwd() }))
    console.log(JSON.stringify({ kind: 'message', text: 'file=' + require('fs').readFileSync(process.env.HOME + '/.cfg/settings.json', 'utf8') }))
  } else if (scenario === 'stdin') {
    let text = ''
    process.stdin.on('data', (d) => (text += d))
    process.stdin.on('end', () => console.log(JSON.stringify({ kind: 'message', text: 'stdin=' + text })))
  } else if (scenario === 'leak') {
    console.log(JSON.stringify({ kind: 'command', cmd: 'env', exit: 0, output: 'SECRET=' + process.env.THE_KEY }))
    console.error('stderr says ' + process.env.THE_KEY)
    process.exitCode = 7
  } else if (scenario === 'usage') {
    console.log(JSON.stringify({ kind: 'usage', input_tokens: Number(process.env.TOTAL_IN), output_tokens: Number(process.env.TOTAL_OUT), cumulative: true }))
    console.log(JSON.stringify({ kind: 'usage', input_tokens: 5, output_tokens: 1, cost_usd: 0.5 }))
  } else if (scenario === 'denied') {
    console.log(JSON.stringify({ kind: 'tool_call', name: 'Bash', input: { command: 'rm -rf /' }, status: 'denied' }))
    console.log(JSON.stringify({ kind: 'tool_call', name: 'Write', input: { file_path: 'a.txt' }, status: 'denied' }))
  } else if (scenario === 'sleep') {
    console.log(JSON.stringify({ kind: 'message', text: 'sleeping' }))
    await wait(60000)
  }
})()
`

interface FakeOptions {
  scenario: string
  env?: Record<string, string>
  stdin?: string
  files?: Invocation['files']
  sessionId?: string
}

/** A Worker whose CLI is SCRIPT and whose lines are events; `throw` lines make parseLine throw. */
function fakeWorker(options: FakeOptions, command = process.execPath): Worker {
  return {
    name: 'fake',
    invocation: (turn, settings) => ({
      command,
      args: ['-e', SCRIPT],
      env: { SCENARIO: options.scenario, THE_KEY: settings.apiKey, ...options.env },
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.files ? { files: options.files } : {}),
      ...(options.sessionId ? { sessionId: options.sessionId } : {}),
    }),
    parseLine: (line, state) => {
      const event = JSON.parse(line) as WorkerEvent // garbage throws: core must turn that into a warning
      if (event.kind === 'message' && event.text === 'crlf') state.sessionId = 'from-output'
      return [event]
    },
    end: () => [{ kind: 'message', text: 'end' }],
  }
}

const settings: WorkerSettings = { llmUrl: 'http://127.0.0.1:9', model: 'm', apiKey: KEY, timeoutSec: 60 }
let cwd: string

test.before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'workers-run-'))
})
test.after(async () => {
  await rm(cwd, { recursive: true, force: true })
})

const messages = (events: WorkerEvent[]) => events.flatMap((e) => (e.kind === 'message' ? [e.text] : []))

test('lines are framed across chunks and characters; garbage is a warning; end() is called', async () => {
  const live: WorkerEvent[] = []
  const result = await runWorkerTurn(fakeWorker({ scenario: 'chunks' }), { prompt: 'p', cwd }, settings, { onEvent: (e) => live.push(e) })
  assert.is(result.exitCode, 0)
  assert.equal(messages(result.events), ['héllo wörld', 'crlf', 'unterminated', 'end'])
  const warnings = result.events.filter((e) => e.kind === 'error')
  assert.is(warnings.length, 1)
  assert.ok(warnings[0]!.kind === 'error' && warnings[0]!.warning)
  assert.equal(live, result.events)
  assert.is(result.sessionId, 'from-output')
})

test('minimal environment, HOME with the config files (0600), TMPDIR under HOME, GitHub token dropped', async () => {
  const home = await mkdtemp(join(tmpdir(), 'workers-home-'))
  try {
    const worker = fakeWorker({ scenario: 'env', files: [{ path: '.cfg/settings.json', content: '{"a":1}' }] })
    process.env.WORKERS_RUN_HOST_ONLY = 'must-not-leak'
    const result = await runWorkerTurn(worker, { prompt: 'p', cwd }, settings, { home, env: { EXTRA: '1', GITHUB_TOKEN: 'ghp_x', GH_TOKEN: 'y' } })
    delete process.env.WORKERS_RUN_HOST_ONLY
    const [keys, where, file] = messages(result.events)
    // Node itself hands NODE_V8_COVERAGE to every child while coverage is collected (npm test).
    const seen = (JSON.parse(keys!) as string[]).filter((key) => key !== 'NODE_V8_COVERAGE')
    assert.equal(seen, ['EXTRA', 'HOME', 'LANG', 'PATH', 'SCENARIO', 'THE_KEY', 'TMPDIR'])
    assert.is(where, `home=${home} tmp=${join(home, 'tmp')} cwd=${cwd}`)
    assert.is(file, 'file={"a":1}')
    assert.is((await stat(join(home, '.cfg/settings.json'))).mode & 0o777, 0o600)
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})

test('a config file outside HOME is refused before anything runs', async () => {
  const worker = fakeWorker({ scenario: 'env', files: [{ path: '../escape.json', content: '{}' }] })
  try {
    await runWorkerTurn(worker, { prompt: 'p', cwd }, settings)
    assert.unreachable('accepted')
  } catch (error) {
    assert.ok(isAppError(error) && error.code === 'invalid_worker_file', String(error))
  }
})

test('the prompt goes to stdin, then EOF; without one stdin is closed', async () => {
  const prompt = 'line 1\nwith "quotes" and $HOME kept\n'
  const fed = await runWorkerTurn(fakeWorker({ scenario: 'stdin', stdin: prompt }), { prompt, cwd }, settings)
  assert.equal(messages(fed.events), [`stdin=${prompt}`, 'end'])
  const closed = await runWorkerTurn(fakeWorker({ scenario: 'stdin' }), { prompt, cwd }, settings)
  assert.equal(messages(closed.events), ['stdin=', 'end'])
})

test('the API key is redacted from events, onEvent and stderrTail; the exit code is kept', async () => {
  const live: WorkerEvent[] = []
  const result = await runWorkerTurn(fakeWorker({ scenario: 'leak' }), { prompt: 'p', cwd }, settings, { onEvent: (e) => live.push(e) })
  assert.is(result.exitCode, 7)
  assert.not.ok(JSON.stringify(result).includes(KEY))
  assert.not.ok(JSON.stringify(live).includes(KEY))
  assert.ok(result.events.some((e) => e.kind === 'command' && e.output === 'SECRET=***'))
  assert.match(result.stderrTail, 'stderr says ***')
})

test('a running-total usage becomes the turn\'s share; usage is summed; denials are listed', async () => {
  const home = await mkdtemp(join(tmpdir(), 'workers-home-'))
  try {
    const turn = (totals: [number, number], sessionId?: string) =>
      runWorkerTurn(fakeWorker({ scenario: 'usage', env: { TOTAL_IN: String(totals[0]), TOTAL_OUT: String(totals[1]) }, sessionId: 'thread-1' }),
        { prompt: 'p', cwd, sessionId }, settings, { home })
    const one = await turn([200, 40])
    assert.is(one.sessionId, 'thread-1')
    assert.equal(one.usage, { input_tokens: 205, output_tokens: 41, cost_usd: 0.5 })
    const two = await turn([400, 80], 'thread-1')
    assert.equal(two.usage, { input_tokens: 205, output_tokens: 41, cost_usd: 0.5 })
    const shared = two.events.find((e) => e.kind === 'usage')
    assert.equal(shared, { kind: 'usage', input_tokens: 200, output_tokens: 40 })

    const denied = await runWorkerTurn(fakeWorker({ scenario: 'denied' }), { prompt: 'p', cwd }, settings)
    assert.is(denied.exitCode, 0)
    assert.equal(denied.denied, ['Bash: rm -rf /', 'Write: a.txt'])
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})

test('a throwing onEvent does not stop the turn', async () => {
  const result = await runWorkerTurn(fakeWorker({ scenario: 'denied' }), { prompt: 'p', cwd }, settings, { onEvent: () => { throw new Error('consumer bug') } })
  assert.is(result.exitCode, 0)
  assert.is(result.events.length, 3)
})

test('timeout and abort stop the group; an aborted signal starts nothing', async () => {
  const marker = randomUUID()
  const started = Date.now()
  const timed = await runWorkerTurn(fakeWorker({ scenario: 'sleep' }), { prompt: 'p', cwd }, { ...settings, timeoutSec: 1 }, { env: { TERARCHITECT_TEST_MARK: marker }, killGraceMs: 500 })
  assert.ok(timed.timedOut)
  assert.is(timed.exitCode, null)
  assert.ok(Date.now() - started < 8000)
  assert.equal(messages(timed.events).slice(0, 1), ['sleeping'])
  assert.equal(await survivors(marker), [])

  const controller = new AbortController()
  const aborted = await runWorkerTurn(fakeWorker({ scenario: 'sleep' }), { prompt: 'p', cwd }, settings, {
    signal: controller.signal,
    onEvent: (e) => e.kind === 'message' && e.text === 'sleeping' && controller.abort(),
  })
  assert.ok(aborted.aborted)
  assert.not.ok(aborted.timedOut)
  assert.is(aborted.exitCode, null)

  const never = await runWorkerTurn(fakeWorker({ scenario: 'leak' }, '/nonexistent/cli'), { prompt: 'p', cwd, sessionId: 's1' }, settings, { signal: controller.signal })
  assert.equal(never, { exitCode: null, timedOut: false, aborted: true, events: [], usage: { input_tokens: 0, output_tokens: 0 }, denied: [], stderrTail: '', sessionId: 's1' })
})

test('a CLI that cannot start is a typed error', async () => {
  try {
    await runWorkerTurn(fakeWorker({ scenario: 'env' }, '/nonexistent/cli'), { prompt: 'p', cwd }, settings)
    assert.unreachable('started')
  } catch (error) {
    assert.ok(isAppError(error) && error.code === 'worker_not_started', String(error))
    assert.match(error.message, '/nonexistent/cli')
  }
})

test('the default HOME is one per worker and cwd, so a resumed turn finds its session', async () => {
  const homeOf = async (name: string, dir: string) => {
    const worker = { ...fakeWorker({ scenario: 'env', files: [{ path: '.cfg/settings.json', content: '{}' }] }), name }
    const result = await runWorkerTurn(worker, { prompt: 'p', cwd: dir }, settings)
    return /home=(\S+)/.exec(messages(result.events)[1]!)![1]!
  }
  const first = await homeOf('fake-a', cwd)
  assert.is(await homeOf('fake-a', cwd), first)
  assert.is.not(await homeOf('fake-b', cwd), first)
  assert.is.not(await homeOf('fake-a', tmpdir()), first)
  assert.ok(first.startsWith(tmpdir()))
  assert.is(await readFile(join(first, '.cfg/settings.json'), 'utf8'), '{}')
})

test('a prepared HOME template is copied into the turn\'s HOME once; later turns keep what the CLI made; the template stays as it was', async () => {
  const templates = await mkdtemp(join(tmpdir(), 'workers-templates-'))
  const home = await mkdtemp(join(tmpdir(), 'workers-home-'))
  try {
    await mkdir(join(templates, 'fake', '.state', 'skills'), { recursive: true })
    await writeFile(join(templates, 'fake', '.state', 'db'), 'migrated')
    await writeFile(join(templates, 'fake', '.state', 'skills', 'a.md'), 'skill')
    await mkdir(join(templates, 'other', '.other'), { recursive: true })
    await writeFile(join(templates, 'other', '.other', 'x'), 'not for this worker')
    // The stand-in prints the template's file, then changes it, as a CLI updates its state.
    const script = `const fs = require('fs'); const db = process.env.HOME + '/.state/db'
      console.log(JSON.stringify({ kind: 'message', text: 'db=' + fs.readFileSync(db, 'utf8') + ' skill=' + fs.readFileSync(process.env.HOME + '/.state/skills/a.md', 'utf8') }))
      fs.writeFileSync(db, 'changed by turn'); fs.rmSync(process.env.HOME + '/.state/skills', { recursive: true })`
    const worker: Worker = {
      name: 'fake',
      invocation: () => ({ command: process.execPath, args: ['-e', script], env: {}, files: [{ path: '.state/config', content: 'cfg' }] }),
      parseLine: (line) => [JSON.parse(line) as WorkerEvent],
    }
    const first = await runWorkerTurn(worker, { prompt: 'p', cwd }, settings, { home, homeTemplates: templates })
    assert.equal(messages(first.events), ['db=migrated skill=skill'])
    assert.is(await readFile(join(home, '.state/config'), 'utf8'), 'cfg', 'the invocation\'s files are written over the copy')
    assert.not.ok(await stat(join(home, '.other')).catch(() => false), 'another worker\'s template')
    // Turn 2 in the same HOME: the CLI's own state is kept (no skills brought back, the db as it left it).
    const second = await runWorkerTurn({ ...worker, invocation: () => ({ command: process.execPath, args: ['-e', `console.log(JSON.stringify({ kind: 'message', text: require('fs').readFileSync(process.env.HOME + '/.state/db', 'utf8') + ' skills=' + require('fs').existsSync(process.env.HOME + '/.state/skills') }))`], env: {} }) },
      { prompt: 'p', cwd }, settings, { home, homeTemplates: templates })
    assert.equal(messages(second.events), ['changed by turn skills=false'])
    assert.is(await readFile(join(templates, 'fake', '.state', 'db'), 'utf8'), 'migrated', 'the template itself is never written')
    assert.is(await readFile(join(templates, 'fake', '.state', 'skills', 'a.md'), 'utf8'), 'skill')
    // No template directory (a host run): nothing is copied and the turn runs as before.
    const bare = await mkdtemp(join(tmpdir(), 'workers-home-'))
    const none = await runWorkerTurn(fakeWorker({ scenario: 'chunks' }), { prompt: 'p', cwd }, settings, { home: bare, homeTemplates: join(templates, 'missing') })
    assert.is(none.exitCode, 0)
    assert.equal(await readdir(bare), ['tmp'])
    await rm(bare, { recursive: true, force: true })
  } finally {
    await rm(templates, { recursive: true, force: true })
    await rm(home, { recursive: true, force: true })
  }
})

test('a template that cannot be copied leaves nothing half made in HOME, is said in the turn\'s output, and a later turn copies it', async () => {
  const templates = await mkdtemp(join(tmpdir(), 'workers-templates-'))
  const home = await mkdtemp(join(tmpdir(), 'workers-home-'))
  const uncopyable = join(templates, 'fake', '.state', 'b-pipe')
  try {
    await mkdir(join(templates, 'fake', '.state'), { recursive: true })
    await writeFile(join(templates, 'fake', '.state', 'a-db'), 'migrated')
    // A named pipe: fs.cp refuses it whoever runs the test (a mode would not stop root).
    execFileSync('mkfifo', [uncopyable])
    const worker = fakeWorker({ scenario: 'chunks' })
    const first = await runWorkerTurn(worker, { prompt: 'p', cwd }, settings, { home, homeTemplates: templates })
    assert.is(first.exitCode, 0, 'the turn runs without its template')
    const warning = first.events.find((e) => e.kind === 'error' && e.message.includes('prepared HOME not copied'))
    assert.ok(warning && warning.kind === 'error' && warning.warning, JSON.stringify(first.events))
    assert.match(warning.kind === 'error' ? warning.message : '', '.state')
    assert.equal((await readdir(home)).sort(), ['tmp'], 'a half-copied entry stayed in HOME')
    // A plain file again: the next turn in the same HOME gets the template, and says nothing about it.
    await rm(uncopyable)
    await writeFile(uncopyable, 'x')
    const second = await runWorkerTurn(worker, { prompt: 'p', cwd }, settings, { home, homeTemplates: templates })
    assert.not.ok(second.events.some((e) => e.kind === 'error' && e.message.includes('prepared HOME')))
    assert.is(await readFile(join(home, '.state', 'a-db'), 'utf8'), 'migrated')
    assert.equal((await readdir(home)).sort(), ['.state', 'tmp'])
  } finally {
    await rm(templates, { recursive: true, force: true })
    await rm(home, { recursive: true, force: true })
  }
})

test('the --version probe runs with PATH, HOME, LANG and the plugin\'s own switches only: never the job token', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'workers-probe-'))
  const token = 'tat_' + randomUUID().replaceAll('-', '')
  const saved = process.env.TERARCHITECT_AGENT_TOKEN
  try {
    // A stand-in CLI that prints its whole environment as its "version".
    const cli = join(dir, 'cli')
    await writeFile(cli, `#!${process.execPath}\nconsole.log(JSON.stringify(process.env))\n`, { mode: 0o755 })
    process.env.TERARCHITECT_AGENT_TOKEN = token
    const probe = await versionProbe(cli, { env: { CLI_NO_RELAUNCH: 'true' } })()
    assert.ok(probe.ok, probe.ok ? '' : probe.reason)
    const env = JSON.parse(probe.version!) as Record<string, string>
    assert.not.ok(JSON.stringify(env).includes(token), 'the job token reached the probe')
    const keys = Object.keys(env).filter((key) => !['_', 'SHLVL', 'PWD', 'OLDPWD', 'NODE_V8_COVERAGE'].includes(key)).sort()
    assert.equal(keys, ['CLI_NO_RELAUNCH', ...['HOME', 'LANG', 'PATH'].filter((key) => process.env[key] !== undefined)])
    assert.is(env.PATH, process.env.PATH)
  } finally {
    if (saved === undefined) delete process.env.TERARCHITECT_AGENT_TOKEN
    else process.env.TERARCHITECT_AGENT_TOKEN = saved
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
