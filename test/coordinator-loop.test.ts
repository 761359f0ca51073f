// The claim loop against a scripted fake app (node:http), in-process: long-poll unavailable →
// polling at POLL_INTERVAL_SEC; app unreachable or failing → backoff with jitter, logged, and
// recovery; the output stream's batching, redaction, tail and bounded queue.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { createWorkerClient } from '../core/coordinator/client.ts'
import { startCoordinator } from '../core/coordinator/loop.ts'
import { createJobOutput } from '../core/coordinator/output.ts'
import type { Executor } from '../core/executor.ts'
import { createLogger, redact } from '../core/log.ts'
import { sleep, waitFor } from './helpers.ts'

type Handler = (req: IncomingMessage, res: ServerResponse, body: any) => void

async function fakeApp(handler: Handler, port = 0): Promise<{ url: string; port: number; requests: { path: string; body: any; at: number }[]; close(): Promise<void>; server: Server }> {
  const requests: { path: string; body: any; at: number }[] = []
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk) => (text += chunk))
    req.on('end', () => {
      const body = text ? JSON.parse(text) : null
      requests.push({ path: req.url ?? '', body, at: Date.now() })
      handler(req, res, body)
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const actual = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${actual}`, port: actual, requests, server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

const noopExecutor: Executor = { name: 'fake', probe: async () => ({ ok: true }), run: async () => ({ exitCode: 0 }) }

/** The worker API is never anonymous: a coordinator needs a credential to start. */
const KEY = { TERARCHITECT_WORKER_API_KEY: 'loop-test-key' }

function start(apiUrl: string, env: Record<string, string> = {}) {
  const lines: string[] = []
  const log = createLogger('debug', {}, (line) => lines.push(line))
  const config = resolveCoordinatorConfig({ TERARCHITECT_API_URL: apiUrl, COORDINATOR_STATE_DIR: '/nonexistent', SETTINGS_REFRESH_SEC: '60', ...KEY, ...env })
  const coordinator = startCoordinator({
    config, coordinatorId: 'loop-test', log,
    client: createWorkerClient({ apiUrl, coordinatorId: 'loop-test', timeoutMs: 2000 }),
    executors: { containers: null, host: noopExecutor },
  })
  const messages = () => lines.map((line) => JSON.parse(line) as { msg: string; failures?: number })
  return { coordinator, lines, messages }
}

test('an app that answers long-poll claims at once → the loop polls every POLL_INTERVAL_SEC', async () => {
  const app = await fakeApp((req, res) => {
    if (req.url === '/api/worker/settings') return res.writeHead(404).end()
    res.writeHead(204).end()
  })
  const { coordinator, messages } = start(app.url, { CLAIM_WAIT_SEC: '10', POLL_INTERVAL_SEC: '0.5' })
  await sleep(2600)
  await coordinator.stop(0)
  await app.close()
  const claims = app.requests.filter((request) => request.path === '/api/worker/jobs/start')
  assert.ok(claims.length >= 3 && claims.length <= 7, `${claims.length} claims in 2.6 s`)
  assert.is(claims[0]!.body.wait_ms, 10000)
  assert.is(claims[1]!.body.wait_ms, 0, 'still long-polling after the app answered at once')
  assert.ok(messages().some((record) => record.msg.includes('long-poll unavailable')))
})

test('app unreachable → claims back off with jitter and the log says so; when it is back, claiming resumes', async () => {
  const reserved = await fakeApp(() => {})
  const port = reserved.port
  await reserved.close()
  const { coordinator, messages } = start(`http://127.0.0.1:${port}`, { CLAIM_WAIT_SEC: '1' })
  await sleep(3500)
  const failures = messages().filter((record) => record.msg.includes('is unreachable'))
  // Backoff ≈1, 2, 4 s (× 0.5–1.0): 2 to 4 attempts in 3.5 s, never a busy loop.
  assert.ok(failures.length >= 2 && failures.length <= 4, `${failures.length} failed claims in 3.5 s`)
  assert.match(failures[0]!.msg, /retrying in \d+\.\d s/)
  assert.equal(failures.map((record) => record.failures), failures.map((_, index) => index + 1))

  const app = await fakeApp((req, res) => {
    if (req.url === '/api/worker/settings') return res.writeHead(404).end()
    setTimeout(() => res.writeHead(204).end(), 1000)
  }, port)
  await waitFor(async () => messages().some((record) => record.msg.startsWith('the app answers again')), 20000, 'recovery logged')
  await coordinator.stop(0)
  await app.close()
})

test('an app answering 500 is backed off from, not hammered', async () => {
  const app = await fakeApp((req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"internal","message":"boom"}}'))
  const { coordinator, messages } = start(app.url, { CLAIM_WAIT_SEC: '1' })
  await sleep(3000)
  await coordinator.stop(0)
  await app.close()
  const claims = app.requests.filter((request) => request.path === '/api/worker/jobs/start')
  assert.ok(claims.length >= 2 && claims.length <= 4, `${claims.length} claims in 3 s`)
  assert.ok(messages().some((record) => record.msg.startsWith('claiming failed') && record.msg.includes('boom')))
})

test('job output: batched lines, partial lines, redaction, tail, and a bounded queue when posting fails', async () => {
  const secret = `sekrit-${Date.now()}-value`
  redact(secret)
  const posts: { step: string; summary: string; raw_output?: string }[][] = []
  let failing = false
  const output = createJobOutput({
    log: createLogger('error', {}, () => {}),
    post: async (events) => {
      if (failing) throw new Error('app away')
      posts.push(events)
    },
    flushMs: 100, partialAfterMs: 300, tailBytes: 64, maxPendingBytes: 2000,
  })
  output.write({ stream: 'stdout', text: 'one\ntwo\n' })
  output.write({ stream: 'stdout', text: `the token is ${secret.slice(0, 5)}` })
  output.write({ stream: 'stdout', text: `${secret.slice(5)} ok\n` })
  output.write({ stream: 'stderr', text: 'warn\n' })
  await sleep(250)
  assert.is(posts.length, 1, 'lines written together went out in one post')
  const [stdout, stderr] = posts[0]!
  assert.is(stdout!.raw_output, 'one\ntwo\nthe token is *** ok\n')
  assert.is(stdout!.summary, 'one (+2 lines)')
  assert.equal(stderr, { step: 'agent_output', summary: 'stderr: warn', raw_output: 'warn\n' })

  output.write({ stream: 'stdout', text: 'no newline yet' })
  await sleep(150)
  assert.is(posts.length, 1, 'a fresh partial line was sent early')
  await sleep(400)
  assert.is(posts[1]![0]!.raw_output, 'no newline yet')

  failing = true
  for (let index = 0; index < 100; index++) {
    output.write({ stream: 'stdout', text: `${'x'.repeat(90)} ${index}\n` })
    if (index % 10 === 9) await sleep(120) // one event per flush: the queue grows past its cap
  }
  failing = false
  await output.close(3000)
  const after = posts.slice(2).flat()
  assert.ok(after.some((event) => event.step === 'coordinator' && /bytes of agent output were dropped/.test(event.summary)), JSON.stringify(after.map((e) => e.summary)))
  assert.ok(after.some((event) => event.raw_output?.includes(' 99\n')), 'the newest output was dropped instead of the oldest')
  assert.ok(output.tail().length <= 64 && output.tail().endsWith(' 99\n'))
  assert.not.ok(JSON.stringify(posts).includes(secret))
})

test('config: runbook defaults, project ids, empty cache volume, docker mode, bad values named', () => {
  const config = resolveCoordinatorConfig(KEY)
  assert.is(config.TERARCHITECT_API_URL, 'http://127.0.0.1:5010')
  assert.is(config.workerCredential, 'loop-test-key')
  assert.is(config.AGENT_IMAGE, 'terarchitect-agent')
  assert.is(config.MAX_CONCURRENT_AGENTS, 1)
  assert.is(config.POLL_INTERVAL_SEC, 10)
  assert.is(config.AGENT_CACHE_VOLUME, 'terarchitect-agent-cache')
  assert.is(config.AGENT_DOCKER_MODE, 'dind')
  assert.is(config.projectIds, null)
  assert.match(config.COORDINATOR_STATE_DIR, /\.terarchitect\/coordinator$/)
  assert.is(config.COORDINATOR_REPO_ROOT, `${config.COORDINATOR_STATE_DIR}/work`)

  const custom = resolveCoordinatorConfig({
    TERARCHITECT_API_URL: 'http://app:5010/', PROJECT_ID: '4', PROJECT_IDS: '2, 3,4', AGENT_CACHE_VOLUME: '',
    AGENT_MOUNT_DOCKER_SOCKET: 'true', AGENT_HOST_COMMAND: '["node","/opt/agent.js"]', ...KEY,
  })
  assert.is(custom.TERARCHITECT_API_URL, 'http://app:5010')
  assert.equal(custom.projectIds, [4, 2, 3])
  assert.is(custom.AGENT_CACHE_VOLUME, '')
  assert.is(custom.AGENT_DOCKER_MODE, 'dood')
  assert.equal(custom.hostCommand, ['node', '/opt/agent.js'])
  assert.is(resolveCoordinatorConfig({ AGENT_DOCKER_MODE: 'dind', AGENT_MOUNT_DOCKER_SOCKET: 'true', ...KEY }).AGENT_DOCKER_MODE, 'dind')
  // The credential: a coordinator token wins over the worker key, which wins over the key file.
  const keyFile = join(mkdtempSync(join(tmpdir(), 'coord-key-')), 'worker.key')
  writeFileSync(keyFile, 'twk_from_the_file\n', { mode: 0o600 })
  assert.is(resolveCoordinatorConfig({ TERARCHITECT_WORKER_KEY_FILE: keyFile }).workerCredential, 'twk_from_the_file')
  assert.is(resolveCoordinatorConfig({ TERARCHITECT_WORKER_KEY_FILE: keyFile, ...KEY }).workerCredential, 'loop-test-key')
  assert.is(resolveCoordinatorConfig({ TERARCHITECT_COORDINATOR_TOKEN: 'tco_abc', ...KEY }).workerCredential, 'tco_abc')
  assert.throws(() => resolveCoordinatorConfig({}), (error: Error) => /TERARCHITECT_COORDINATOR_TOKEN/.test(error.message), 'no credential')
  assert.throws(() => resolveCoordinatorConfig({ TERARCHITECT_WORKER_KEY_FILE: `${keyFile}.missing` }), (error: Error) => /TERARCHITECT_WORKER_KEY_FILE/.test(error.message))

  for (const [env, name] of [
    [{ MAX_CONCURRENT_AGENTS: 'many' }, 'MAX_CONCURRENT_AGENTS'],
    [{ AGENT_DOCKER_MODE: 'podman' }, 'AGENT_DOCKER_MODE'],
    [{ PROJECT_IDS: '1,x' }, 'PROJECT_IDS'],
    [{ AGENT_HOST_COMMAND: 'node agent.js' }, 'AGENT_HOST_COMMAND'],
    [{ TERARCHITECT_API_URL: 'app:5010' }, 'TERARCHITECT_API_URL'],
  ] as const) {
    assert.throws(() => resolveCoordinatorConfig(env), (error: Error) => error.message.includes(name), name)
  }
})

test.run()
