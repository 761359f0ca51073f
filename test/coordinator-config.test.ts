// Coordinator configuration that cannot misfire (core/coordinator-config.ts): every variable is
// validated at start. A bad AGENT_CACHE_VOLUME, AGENT_IMAGE or AGENT_DOCKER_MODE (a trailing comment
// an environment file kept among them) stops `coordinator.ts` at once, exit code 1, stderr naming the
// variable, before it asks the app for anything: no job is claimed, so none can fall back to the host
// for it. Enumerations list their allowed values, here and in the API's 400s.
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite, test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { ROOT, startTestApp, waitFor } from './helpers.ts'
import { assertError } from './api-helpers.ts'

const KEY = { TERARCHITECT_WORKER_API_KEY: 'config-test-key' }

/** The message `resolveCoordinatorConfig` refuses `env` with. */
function refusal(env: Record<string, string>): string {
  try {
    resolveCoordinatorConfig({ ...KEY, ...env })
  } catch (error) {
    return (error as Error).message
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`)
}

test('enumerations list their allowed values', () => {
  assert.is(refusal({ AGENT_DOCKER_MODE: 'podman' }), 'invalid configuration: AGENT_DOCKER_MODE: must be one of dind, dood, kubernetes, swarm; got "podman"')
  assert.match(refusal({ LOG_LEVEL: 'loud' }), 'LOG_LEVEL: must be one of debug, info, warn, error; got "loud"')
})

test('image references: name[:tag][@digest] or an id; spaces, comments, capitals refused', () => {
  for (const image of ['terarchitect-agent', 'terarchitect-agent:3', 'registry.example:5000/team/agent:1.2', `images.example/acme/agent@sha256:${'a'.repeat(64)}`, 'b'.repeat(64)]) {
    assert.is(resolveCoordinatorConfig({ ...KEY, AGENT_IMAGE: image }).AGENT_IMAGE, image)
  }
  for (const image of ['terarchitect agent', 'Terarchitect', 'agent:', 'agent@sha256:abc', 'agent#pinned', `a/${'x'.repeat(300)}`]) {
    assert.match(refusal({ AGENT_IMAGE: image }), /^invalid configuration: AGENT_IMAGE: not an image reference/, image)
  }
})

test('volume names follow Docker\'s rule; empty disables the cache', () => {
  assert.is(resolveCoordinatorConfig({ ...KEY, AGENT_CACHE_VOLUME: 'team_cache.v2' }).AGENT_CACHE_VOLUME, 'team_cache.v2')
  assert.is(resolveCoordinatorConfig({ ...KEY, AGENT_CACHE_VOLUME: '' }).AGENT_CACHE_VOLUME, '')
  for (const volume of ['-cache', 'team/cache', 'cache volume', '.cache']) {
    assert.match(refusal({ AGENT_CACHE_VOLUME: volume }), /^invalid configuration: AGENT_CACHE_VOLUME: not a volume name/, volume)
  }
})

test('deploy/coordinator.env.example with every line uncommented is a configuration the coordinator accepts', () => {
  const lines = readFileSync(join(ROOT, 'deploy', 'coordinator.env.example'), 'utf8').split('\n')
  const env: Record<string, string> = {}
  for (const line of lines) {
    const assignment = /^#? ?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (assignment) env[assignment[1]!] = assignment[2]!
  }
  assert.ok(Object.keys(env).length >= 15, `read ${Object.keys(env).length} variables`)
  // Two need the machine: a user that exists (local-user.test.ts covers it) and one credential.
  delete env.AGENT_LOCAL_USER
  delete env.TERARCHITECT_WORKER_API_KEY
  env.TERARCHITECT_COORDINATOR_TOKEN = 'tco_example'
  const config = resolveCoordinatorConfig(env)
  assert.is(config.AGENT_CACHE_VOLUME, 'terarchitect-agent-cache')
  assert.is(config.MAX_CONCURRENT_AGENTS, 2)
})

test('a trailing comment an environment file kept is refused for any variable, naming it', () => {
  for (const [name, value] of [['AGENT_CACHE_VOLUME', 'terarchitect-agent-cache   # prefix'], ['AGENT_DOCKER_MODE', 'dind # or dood'], ['MAX_CONCURRENT_AGENTS', '2 # two'], ['AGENT_MEMORY', '4g\t# per container']]) {
    const message = refusal({ [name!]: value! })
    assert.match(message, `${name}: has a trailing comment`)
    assert.match(message, 'on a line of its own')
    assert.not.match(message, value!.split('#')[0]!.trim(), 'the value itself (maybe a credential) is not repeated')
  }
})

test('numbers in range, URLs, the daemon address and credentials', () => {
  assert.match(refusal({ MAX_CONCURRENT_AGENTS: '0' }), 'MAX_CONCURRENT_AGENTS: Expected integer to be greater or equal to 1')
  assert.match(refusal({ JOB_TIMEOUT_SEC: '1e9' }), 'JOB_TIMEOUT_SEC')
  assert.match(refusal({ HEARTBEAT_MAX_SEC: '600' }), 'HEARTBEAT_MAX_SEC')
  assert.match(refusal({ CLAIM_WAIT_SEC: 'soon' }), 'CLAIM_WAIT_SEC: expected a number')
  assert.match(refusal({ TERARCHITECT_API_URL: 'http://user:pw@app:5010' }), 'TERARCHITECT_API_URL: must not carry credentials')
  assert.match(refusal({ TERARCHITECT_API_URL: 'http://app:5010/?token=x' }), 'TERARCHITECT_API_URL: must not carry a query')
  assert.match(refusal({ TERARCHITECT_API_URL: 'ftp://app' }), 'TERARCHITECT_API_URL')
  assert.match(refusal({ DOCKER_HOST: 'ssh://builder' }), 'DOCKER_HOST: must be unix:///path/to/docker.sock or tcp://host:port')
  for (const host of ['unix:///var/run/docker.sock', 'tcp://dind:2375', '/run/user/1000/docker.sock']) {
    assert.is(resolveCoordinatorConfig({ ...KEY, DOCKER_HOST: host }).DOCKER_HOST, host)
  }
  assert.match(refusal({ TERARCHITECT_WORKER_API_KEY: 'two words' }), 'TERARCHITECT_WORKER_API_KEY')
  assert.match(refusal({ TERARCHITECT_COORDINATOR_TOKEN: 'tco_abc def' }), 'TERARCHITECT_COORDINATOR_TOKEN')
})

test.run()

// The process: `coordinator.ts` with a bad value stops at start, before it reaches the app.
const processes = suite<{ app: Server; url: string; requests: string[]; dir: string }>('coordinator process')
processes.before(async (context) => {
  context.requests = []
  context.app = createServer((req, res) => {
    context.requests.push(`${req.method} ${req.url}`)
    res.writeHead(204).end()
  })
  await new Promise<void>((resolve) => context.app.listen(0, '127.0.0.1', resolve))
  context.url = `http://127.0.0.1:${(context.app.address() as AddressInfo).port}`
  context.dir = mkdtempSync(join(tmpdir(), 'coordinator-config-'))
})
processes.after(async ({ app, dir }) => {
  await new Promise((resolve) => app.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

/** Starts the coordinator from source with `env`; resolves with its exit code and output, or kills it after `ms`. */
function startCoordinator(context: { url: string; dir: string }, name: string, env: Record<string, string>, ms = 20000) {
  const stateDir = join(context.dir, name)
  const child = spawn(process.execPath, ['--import', './scripts/ts-register.mjs', 'coordinator.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, HOME: context.dir, TERARCHITECT_API_URL: context.url, COORDINATOR_STATE_DIR: stateDir,
      DOCKER_HOST: `unix://${context.dir}/no-docker.sock`, LOG_LEVEL: 'info', CLAIM_WAIT_SEC: '0', POLL_INTERVAL_SEC: '0.2', ...KEY, ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), ms)
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string; stateDir: string }>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, stateDir })
    }))
  return { child, exited, output: () => stdout + stderr }
}

processes('a bad AGENT_CACHE_VOLUME, AGENT_IMAGE or AGENT_DOCKER_MODE stops it at start naming the variable; the app is never asked for a job', async (context) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['volume-comment', { AGENT_CACHE_VOLUME: 'terarchitect-agent-cache   # prefix of the per-project /cache volumes' }, /AGENT_CACHE_VOLUME: has a trailing comment/],
    ['volume-slash', { AGENT_CACHE_VOLUME: 'team/cache' }, /AGENT_CACHE_VOLUME: not a volume name/],
    ['image-comment', { AGENT_IMAGE: 'terarchitect-agent #pinned' }, /AGENT_IMAGE: has a trailing comment/],
    ['image-space', { AGENT_IMAGE: 'terarchitect agent' }, /AGENT_IMAGE: not an image reference/],
    ['mode', { AGENT_DOCKER_MODE: 'podman' }, /AGENT_DOCKER_MODE: must be one of dind, dood, kubernetes, swarm; got "podman"/],
  ]
  const runs = await Promise.all(cases.map(([name, env]) => startCoordinator(context, name, { ...env, AGENT_FALLBACK_TO_HOST: 'true' }).exited))
  for (const [index, [name, , expected]] of cases.entries()) {
    const run = runs[index]!
    assert.is(run.code, 1, `${name}: exit code\n${run.stdout}${run.stderr}`)
    assert.match(run.stderr, /^terarchitect coordinator: invalid configuration: /, name)
    assert.match(run.stderr, expected, name)
    assert.not.match(run.stdout, /claiming from/, name)
    assert.not.ok(existsSync(run.stateDir), `${name}: nothing was set up`)
  }
  assert.equal(context.requests, [], 'the app was never called')
})

processes('the same coordinator with a good configuration starts and calls the app (the harness sees a start)', async (context) => {
  const run = startCoordinator(context, 'good', { AGENT_CACHE_VOLUME: 'terarchitect-agent-cache', AGENT_IMAGE: 'terarchitect-agent' }, 60000)
  try {
    await waitFor(async () => context.requests.length > 0 && /claiming from/.test(run.output()), 50000, 'a call to the app')
    assert.ok(existsSync(join(context.dir, 'good')), 'its state dir was set up')
  } finally {
    run.child.kill('SIGKILL')
    await run.exited
  }
})

processes.run()

// The API: a value outside an enumeration is a 400 naming the field and the allowed values.
const api = suite('union errors in the API')
api('GET /api/jobs?status=… names the allowed statuses', async () => {
  const t = await startTestApp({ kind: 'pglite' })
  try {
    const res = await t.api('GET', '/api/jobs?status=bogus')
    assertError(res, 400, '/query/status')
    assert.match(res.body.error.message, /must be one of pending, running, .*completed; got "bogus"/)
  } finally {
    await t.close()
  }
})
api.run()
