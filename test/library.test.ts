// DESIGN.md §2: core/ is a library. A user imports the package's `./core` export (the built
// dist/core/index.js), writes an Executor and a Worker in their own file (this one), and the core
// accepts them: they satisfy the interfaces, and selectExecutor falls through an unavailable one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createInterface } from 'node:readline'
import { ROOT } from './helpers.ts'
// Types resolve through the export's `types` condition (core/index.ts); values come from dist.
import type { Executor, Forge, ForgeClient, Invocation, JobSpec, OutputChunk, ParseState, RunResult, Worker, WorkerEvent, WorkerSettings, WorkerTurn } from 'terarchitect/core'

type Core = typeof import('terarchitect/core')

async function loadCore(): Promise<Core> {
  if (!existsSync(join(ROOT, 'dist', 'core', 'index.js'))) {
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' })
    assert.is(build.status, 0, `npm run build failed: ${build.stderr}`)
  }
  // The package's own name resolves to itself through package.json `exports` (self-reference).
  return (await import('terarchitect/core')) as Core
}

// ---- a custom executor: runs the agent command as a child process of this test -----------------

interface ProcessExecutorOptions {
  /** The command standing in for the agent. */
  command: string[]
  /** Reported by the probe; lets a test simulate a host where this executor cannot run. */
  available?: boolean
}

function processExecutor(options: ProcessExecutorOptions): Executor {
  return {
    name: 'test-process',
    async probe() {
      return options.available === false ? { ok: false, reason: 'disabled for this test' } : { ok: true, detail: process.version }
    },
    run(spec, output, signal): Promise<RunResult> {
      return new Promise((resolve, reject) => {
        const [file, ...args] = options.command
        const child = spawn(file!, args, { env: { PATH: process.env.PATH ?? '', ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] })
        child.stdout.on('data', (chunk: Buffer) => output({ stream: 'stdout', text: chunk.toString() }))
        child.stderr.on('data', (chunk: Buffer) => output({ stream: 'stderr', text: chunk.toString() }))
        const stop = () => child.kill('SIGTERM')
        signal.addEventListener('abort', stop, { once: true })
        child.once('error', reject)
        child.once('close', (code) => {
          signal.removeEventListener('abort', stop)
          resolve(signal.aborted ? { exitCode: code ?? 143, stoppedBy: 'abort' } : { exitCode: code ?? 1 })
        })
      })
    },
  }
}

/** An executor that can never run here: its probe says so, or throws. */
function unavailableExecutor(name: string, how: 'says' | 'throws'): Executor {
  return {
    name,
    async probe() {
      if (how === 'throws') throw new Error(`${name} probe exploded`)
      return { ok: false, reason: `${name} has no engine here` }
    },
    run: () => Promise.reject(new Error('must not be called')),
  }
}

// ---- a custom worker: a "CLI" that prints one JSON object per line ----------------------------

const echoWorker: Worker = {
  name: 'echo-json',
  invocation(turn: WorkerTurn, settings: WorkerSettings, home: string): Invocation {
    const script = [
      "const prompt = process.env.ECHO_PROMPT;",
      "console.log(JSON.stringify({ type: 'text', text: 'working on: ' + prompt }));",
      "console.log(JSON.stringify({ type: 'run', cmd: 'npm test', code: 0, out: 'ok' }));",
      "console.log('not json at all');",
      "console.log(JSON.stringify({ type: 'done', session: 's-1', in: 12, out: 34 }));",
    ].join('\n')
    return {
      command: process.execPath,
      args: ['-e', script, '--', turn.cwd],
      // The prompt and the key travel in the environment, never in argv.
      env: { ECHO_PROMPT: turn.prompt, ECHO_MODEL: settings.model, ECHO_KEY: settings.apiKey, ECHO_HOME: home },
      files: [{ path: '.echo/config.json', content: JSON.stringify({ baseUrl: settings.llmUrl, model: settings.model }) }],
    }
  },
  parseLine(line: string, state: ParseState): WorkerEvent[] {
    let record: any
    try {
      record = JSON.parse(line)
    } catch {
      return [] // a CLI's stray text is not an event
    }
    if (record.type === 'text') return [{ kind: 'message', text: record.text }]
    if (record.type === 'run') return [{ kind: 'command', cmd: record.cmd, exit: record.code, output: record.out }]
    if (record.type === 'edit') return [{ kind: 'file_change', path: relative(state.cwd, record.path), change: 'modify' }]
    if (record.type === 'done') {
      state.sessionId = record.session
      return [{ kind: 'usage', input_tokens: record.in, output_tokens: record.out }]
    }
    return [{ kind: 'error', message: `unknown record ${record.type}` }]
  },
}

const spec: JobSpec = {
  jobId: 7,
  ticketId: 3,
  projectId: 1,
  kind: 'ticket',
  executionMode: 'local',
  projectPath: ROOT,
  env: { TICKET_ID: '3', JOB_KIND: 'ticket' },
  labels: { 'terarchitect.job': '7' },
  timeoutMs: 0,
}

test('the ./core export resolves to the built library', async () => {
  const core = await loadCore()
  assert.type(core.selectExecutor, 'function')
  assert.type(core.VERSION, 'string')
  assert.ok(Array.isArray(core.SETTINGS) && core.SETTINGS.length > 0)
  assert.ok(core.WORKER_MODES.includes('codex'))
  const error = core.notFound('thing')
  assert.ok(core.isAppError(error))
  assert.is(error.status, 404)
  assert.type(core.TicketCreate, 'object', 'the TypeBox schemas are exported too')
  const resolved = import.meta.resolve('terarchitect/core')
  assert.ok(resolved.endsWith('/dist/core/index.js'), resolved)
})

test('a custom executor satisfies the interface and runs a job', async () => {
  const executor = processExecutor({ command: [process.execPath, '-e', 'console.log("agent for ticket " + process.env.TICKET_ID); console.error("warn"); process.exit(3)'] })
  assert.equal(await executor.probe(), { ok: true, detail: process.version })
  const chunks: OutputChunk[] = []
  const result = await executor.run(spec, (chunk) => chunks.push(chunk), new AbortController().signal)
  assert.equal(result, { exitCode: 3 })
  assert.ok(chunks.some((chunk) => chunk.stream === 'stdout' && chunk.text.includes('agent for ticket 3')))
  assert.ok(chunks.some((chunk) => chunk.stream === 'stderr' && chunk.text.includes('warn')))

  // Abort stops the run and says so.
  const slow = processExecutor({ command: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'] })
  const abort = new AbortController()
  const running = slow.run(spec, () => {}, abort.signal)
  setTimeout(() => abort.abort(), 100)
  const stopped = await running
  assert.is(stopped.stoppedBy, 'abort')
  assert.is(executor.reconcile, undefined, 'optional capabilities may be left out')
})

test('selectExecutor falls through unavailable executors to the next one', async () => {
  const { selectExecutor } = await loadCore()
  const custom = processExecutor({ command: ['true'] })
  const picked = await selectExecutor([unavailableExecutor('docker-like', 'says'), unavailableExecutor('flaky', 'throws'), processExecutor({ command: ['true'], available: false }), custom])
  assert.is(picked.executor, custom)
  assert.equal(picked.skipped.map((entry) => entry.name), ['docker-like', 'flaky', 'test-process'])
  assert.match(picked.skipped[0]!.reason, /no engine here/)
  assert.match(picked.skipped[1]!.reason, /probe exploded/)
  assert.match(picked.skipped[2]!.reason, /disabled/)

  const first = await selectExecutor([custom, unavailableExecutor('never-probed', 'throws')])
  assert.is(first.executor, custom)
  assert.equal(first.skipped, [])

  const none = await selectExecutor([unavailableExecutor('a', 'says'), unavailableExecutor('b', 'throws')])
  assert.is(none.executor, null)
  assert.equal(none.skipped.map((entry) => entry.name), ['a', 'b'])
})

test('a custom worker satisfies the interface: invocation and parsed events', async () => {
  const settings: WorkerSettings = { llmUrl: 'http://127.0.0.1:9/v1', model: 'm-1', apiKey: 'sk-library-test-key', timeoutSec: 60 }
  const home = mkdtempSync(join(tmpdir(), 'library-worker-'))
  const invocation = echoWorker.invocation({ prompt: 'add a health endpoint', cwd: ROOT }, settings, home)
  rmSync(home, { recursive: true, force: true })
  assert.not.ok(invocation.args.join(' ').includes(settings.apiKey), 'the key is not in argv')
  assert.not.ok(invocation.args.join(' ').includes('add a health endpoint'), 'nor the prompt')
  assert.is(invocation.env.ECHO_KEY, settings.apiKey)
  assert.equal(JSON.parse(invocation.files![0]!.content), { baseUrl: settings.llmUrl, model: 'm-1' })

  // Run one turn the way the agent does: spawn, read stdout line by line, parse.
  const child = spawn(invocation.command, invocation.args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...invocation.env }, stdio: ['ignore', 'pipe', 'inherit'] })
  const state: ParseState = { cwd: ROOT }
  const events: WorkerEvent[] = []
  for await (const line of createInterface({ input: child.stdout })) events.push(...echoWorker.parseLine(line, state))
  assert.equal(events, [
    { kind: 'message', text: 'working on: add a health endpoint' },
    { kind: 'command', cmd: 'npm test', exit: 0, output: 'ok' },
    { kind: 'usage', input_tokens: 12, output_tokens: 34 },
  ])
  assert.is(state.sessionId, 's-1')
  assert.equal(echoWorker.parseLine(JSON.stringify({ type: 'mystery' }), { cwd: ROOT }), [{ kind: 'error', message: 'unknown record mystery' }])
  assert.equal(echoWorker.parseLine(JSON.stringify({ type: 'edit', path: join(ROOT, 'core', 'a.ts') }), { cwd: ROOT }), [{ kind: 'file_change', path: join('core', 'a.ts'), change: 'modify' }])
  assert.is(echoWorker.end, undefined, 'optional capabilities may be left out')
})

test('a custom forge satisfies the interface; ForgeError is exported for its failures', async () => {
  const { ForgeError, isAppError } = await loadCore()
  // An in-memory forge: one repository, requests opened through the client, a token it refuses.
  const requests: { number: number; head: string; base: string; title: string }[] = []
  const missing = (what: string) => new ForgeError('not_found', 404, `${what} not found on the forge`, 404)
  const memoryForge: Forge = {
    kind: 'memory',
    defaultApiUrl: null,
    parseRepo: (url) => /^memory:\/\/([a-z]+\/[a-z]+)$/.exec(url)?.[1] ?? null,
    gitHost: (apiUrl) => new URL(apiUrl).hostname,
    gitCredentials: (token) => ({ username: 'oauth2', password: token }),
    connect: ({ token }): ForgeClient => {
      const refuse = () => { if (token !== 'good') throw new ForgeError('forge_unauthorized', 502, 'the forge refused the token', 401) }
      const request = (r: (typeof requests)[number]) => ({ number: r.number, url: `memory://acme/shop/${r.number}`, title: r.title, body: '', state: 'open' as const, draft: false,
        author: 'bot', headBranch: r.head, headSha: '0'.repeat(40), baseBranch: r.base, sameRepo: true, mergeable: null, createdAt: '', updatedAt: '' })
      return {
        whoami: async () => (refuse(), { login: 'bot' }),
        repository: async (repo) => (refuse(), repo === 'acme/shop' ? { defaultBranch: 'main', canPush: true, private: true } : null),
        findOpenRequest: async (_repo, head, base) => { const r = requests.find((q) => q.head === head && q.base === base); return r ? request(r) : null },
        openRequest: async (_repo, fields) => { const r = { number: requests.length + 1, ...fields }; requests.push(r); return request(r) },
        getRequest: async (_repo, number) => { const r = requests.find((q) => q.number === number); if (!r) throw missing(`request #${number}`); return request(r) },
        requestCommits: async () => [],
        requestFiles: async () => [],
        listComments: async () => [],
        poll: async (_repo, _number, cursor) => ({ request: null, comments: [], cursor }),
        comment: async () => { throw missing('comments') },
        canWrite: async (_repo, login) => login === 'bot',
        merge: async () => ({ sha: null }),
      }
    },
  }
  assert.is(memoryForge.parseRepo('memory://acme/shop'), 'acme/shop')
  const client = memoryForge.connect({ apiUrl: 'http://memory.example/api', token: 'good' })
  assert.equal(await client.whoami(), { login: 'bot' })
  const opened = await client.openRequest('acme/shop', { title: 't', body: '', head: 'ticket-1', base: 'main', draft: false })
  assert.is((await client.findOpenRequest('acme/shop', 'ticket-1', 'main'))?.number, opened.number)
  const refused = await memoryForge.connect({ apiUrl: 'http://memory.example/api', token: 'bad' }).whoami().catch((error: unknown) => error)
  assert.instance(refused, ForgeError)
  assert.ok(isAppError(refused))
  assert.is((refused as InstanceType<typeof ForgeError>).status, 502)
  assert.is((refused as InstanceType<typeof ForgeError>).forgeStatus, 401)
})

test.run()
