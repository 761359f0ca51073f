/**
 * What the coordinator suites and bench share: a fake agent (the real one is not written yet), its
 * image, an app reachable from containers, and a coordinator started as a real process.
 *
 * The fake agent does what the real one will do first: it fetches worker-context with its job
 * token from TERARCHITECT_API_URL. The ticket's description is its script, a JSON object:
 * `{lines, interval, exit, sleep, print:[ENV…], cwd, child}` (defaults: 3 lines, 100 ms apart,
 * exit 0). When the app cannot be reached it says so and runs the defaults.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PROJECT_IMAGES_FILE } from '../core/coordinator/images.ts'
import { createDockerEngine, type DockerEngine } from '../plugins/executors/docker/engine.ts'
import { isDockerError } from '../plugins/executors/docker/errors.ts'
import { dropProjectImageTag } from '../plugins/executors/docker/project-image.ts'
import { BASE_IMAGE, contextDir } from './docker-fixtures.ts'
import { ROOT, createRunnableProject, sleep, startTestApp, waitFor, type TestApp } from './helpers.ts'

export const FAKE_AGENT = `
const env = process.env
const started = Date.now()
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
;(async () => {
  let script = { lines: 3, interval: 100, exit: 0 }
  try {
    const url = env.TERARCHITECT_API_URL + '/api/projects/' + env.PROJECT_ID + '/tickets/' + env.TICKET_ID + '/worker-context'
    const res = await fetch(url, { headers: { authorization: 'Bearer ' + env.TERARCHITECT_AGENT_TOKEN }, signal: AbortSignal.timeout(5000) })
    if (!res.ok) throw new Error('HTTP ' + res.status)
    const context = await res.json()
    try { script = { ...script, ...JSON.parse(context.ticket.description || '{}') } } catch {}
    console.log('worker-context ok')
  } catch (error) {
    console.log('worker-context unavailable: ' + error.message)
  }
  console.log('agent-start ' + started + ' job ' + env.JOB_ID + ' attempt ' + env.JOB_ATTEMPT + ' kind ' + env.JOB_KIND)
  if (script.cwd) console.log('cwd=' + process.cwd())
  for (const key of script.print || []) console.log(key + '=' + (env[key] === undefined ? '<unset>' : env[key]))
  if (script.child) {
    const child = require('child_process').spawn('sleep', ['300'], { stdio: 'ignore' })
    console.log('grandchild=' + child.pid)
  }
  for (let i = 1; i <= script.lines; i++) {
    console.log('line ' + i)
    if (i < script.lines) await wait(script.interval)
  }
  if (script.stderr) console.error(script.stderr)
  if (script.sleep) await wait(script.sleep)
  console.log('agent-exit ' + script.exit)
  process.exitCode = script.exit
})()
`

/** Builds (once per content) `FROM terarchitect-base` with the fake agent at /app/agent.js. */
export async function ensureFakeAgentImage(engine: DockerEngine): Promise<string> {
  const dockerfile = `FROM ${BASE_IMAGE}\nCOPY agent.js /app/agent.js\n`
  const tag = `terarchitect-test-agent:${createHash('sha256').update(dockerfile).update(FAKE_AGENT).digest('hex').slice(0, 12)}`
  try {
    await engine.imageInspect(tag)
    return tag
  } catch (error) {
    if (!isDockerError(error, 'docker_not_found')) throw error
  }
  const dir = contextDir({ Dockerfile: dockerfile, 'agent.js': FAKE_AGENT })
  try {
    await engine.imageBuild(dir, { tag })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return tag
}

/** Writes the fake agent for host runs; returns AGENT_HOST_COMMAND's value. */
export function hostAgentCommand(dir: string): string {
  const path = join(dir, 'fake-agent.js')
  writeFileSync(path, FAKE_AGENT)
  return JSON.stringify([process.execPath, path])
}

/**
 * A TCP relay on 0.0.0.0 to the app on 127.0.0.1: containers reach the host at
 * host.docker.internal (the bridge address), while the app keeps its loopback bind (people routes
 * open, as in a default single-box install).
 */
export async function startRelay(targetPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>()
  const server: Server = createServer((socket) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort })
    sockets.add(socket).add(upstream)
    socket.pipe(upstream).pipe(socket)
    const end = () => {
      socket.destroy()
      upstream.destroy()
      sockets.delete(socket)
      sockets.delete(upstream)
    }
    socket.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    }),
  }
}

export const WORKER_KEY = `wk-${randomUUID()}`

export interface CoordinatorTestApp extends TestApp {
  /** The URL coordinators and agents use (through the relay). */
  apiUrl: string
  /** Secret settings given distinctive values, so the stored-secrets scan (secret-scan.ts) has them to look for. */
  secrets: Record<string, string>
  closeAll(): Promise<void>
}

/** An app (PGlite, short leases, a worker key, secret settings set) plus the relay. */
export async function startCoordinatorApp(env: Record<string, string> = {}): Promise<CoordinatorTestApp> {
  const t = await startTestApp({ kind: 'pglite', env: { JOB_LEASE_SEC: '3', JOB_LEASE_GRACE_SEC: '1', REAPER_INTERVAL_SEC: '0.2', TERARCHITECT_WORKER_API_KEY: WORKER_KEY, ...env } })
  // The test apps' default GITHUB_TOKEN is kept: a coordinator's own token is used only when the app
  // has none, so a suite about the coordinator's token passes `GITHUB_TOKEN: ''` (coordinator.test.ts).
  const secrets = { WORKER_API_KEY: `sk-coord-llm-${randomUUID()}`, AGENT_API_KEY: `sk-coord-director-${randomUUID()}`, GITHUB_WEBHOOK_SECRET: `whsec-coord-${randomUUID()}`, EMBEDDING_API_KEY: `sk-coord-embed-${randomUUID()}` }
  const set = await t.api('PUT', '/api/settings', { values: secrets })
  if (set.status !== 200) throw new Error(`settings: ${set.status} ${JSON.stringify(set.body)}`)
  const relay = await startRelay(Number(new URL(t.url).port))
  return Object.assign(t, {
    apiUrl: `http://127.0.0.1:${relay.port}`,
    secrets: { ...secrets, TERARCHITECT_WORKER_API_KEY: WORKER_KEY },
    async closeAll() {
      await relay.close()
      await t.close()
    },
  })
}

/** A ticket whose description is the fake agent's script, put In Progress (enqueues its job). */
export async function enqueue(t: TestApp, projectId: number, script: Record<string, unknown> = {}, title = 'coordinator test') {
  const res = await t.api('POST', `/api/projects/${projectId}/tickets`, { title, description: JSON.stringify(script), column_id: 'in_progress' })
  if (res.status !== 201) throw new Error(`enqueue failed: ${res.status} ${JSON.stringify(res.body)}`)
  const ticket = res.body as { id: number; job?: { job_id: number } }
  const jobId = ticket.job?.job_id ?? (await t.api('GET', `/api/projects/${projectId}/tickets/${ticket.id}`)).body.job?.job_id
  if (!jobId) throw new Error(`ticket ${ticket.id} has no job: ${JSON.stringify(res.body)}`)
  return { ticketId: ticket.id as number, jobId: jobId as number }
}

export const project = (t: TestApp, fields: Record<string, unknown> = {}) => createRunnableProject(t, fields)

export async function jobOf(t: TestApp, jobId: number) {
  return (await t.api('GET', `/api/jobs/${jobId}`)).body as { status: string; attempt: number; exit_code: number | null; error: string | null; output_tail?: string | null; claimed_by: string | null }
}

export async function waitForJob(t: TestApp, jobId: number, statuses: string[], ms = 120000) {
  return waitFor(async () => {
    const job = await jobOf(t, jobId)
    return statuses.includes(job.status) ? job : null
  }, ms, `job ${jobId} to be ${statuses.join('|')}`)
}

export async function eventsOf(t: TestApp, projectId: number, ticketId: number) {
  const all: { seq: number; job_id: number; step: string; summary: string; raw_output: string | null; created_at: string }[] = []
  let after = 0
  for (;;) {
    const page = (await t.api('GET', `/api/projects/${projectId}/tickets/${ticketId}/logs?after=${after}&limit=1000`)).body
    all.push(...page.events)
    if (page.events.length < 1000) return all
    after = page.next_after
  }
}

export const outputText = (events: { step: string; raw_output: string | null }[]) =>
  events.filter((event) => event.step === 'agent_output').map((event) => event.raw_output ?? '').join('')

export interface CoordinatorProcess {
  child: ChildProcess
  /** Every log record so far, parsed. */
  logs: Record<string, any>[]
  /** Every raw line written to stdout and stderr. */
  lines: string[]
  stateDir: string
  waitForLog(pattern: RegExp, ms?: number): Promise<Record<string, any>>
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts `coordinator.ts` as its own process (the real entrypoint) with `env` over a minimal base. */
export function spawnCoordinator(env: Record<string, string>, stateDir = mkdtempSync(join(tmpdir(), 'terarchitect-coord-state-'))): CoordinatorProcess {
  const child = spawn(process.execPath, ['--import', './scripts/ts-register.mjs', 'coordinator.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, ...(process.env.NODE_V8_COVERAGE ? { NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE } : {}),
      COORDINATOR_STATE_DIR: stateDir, LOG_LEVEL: 'debug', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: Record<string, any>[] = []
  const lines: string[] = []
  const waiters = new Set<() => void>()
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = ''
    stream.on('data', (data: Buffer) => {
      rest += data.toString()
      let newline = rest.indexOf('\n')
      while (newline !== -1) {
        const line = rest.slice(0, newline)
        rest = rest.slice(newline + 1)
        lines.push(line)
        if (process.env.COORDINATOR_TEST_VERBOSE) process.stderr.write(`  [coordinator ${child.pid}] ${line}\n`)
        try {
          logs.push(JSON.parse(line))
        } catch {}
        for (const waiter of waiters) waiter()
        newline = rest.indexOf('\n')
      }
    })
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child, logs, lines, stateDir, exited,
    async waitForLog(pattern, ms = 60000) {
      const deadline = Date.now() + ms
      for (;;) {
        const hit = logs.find((record) => pattern.test(String(record.msg)))
        if (hit) return hit
        if (Date.now() > deadline) throw new Error(`coordinator log never matched ${pattern}; last lines:\n${lines.slice(-15).join('\n')}`)
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake)
            clearTimeout(timer)
            resolve()
          }
          const timer = setTimeout(wake, 200)
          waiters.add(wake)
        })
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const code = await exited
      await dropRecordedImageTags(stateDir)
      return code
    },
  }
}

/**
 * Removes the tags a coordinator gave the images it recorded in its project_images.json (they keep
 * images alive: a test that moves or removes its own tag must not leave the image behind).
 */
export async function dropRecordedImageTags(stateDir: string): Promise<void> {
  let entries: unknown[]
  try {
    entries = Object.values(JSON.parse(readFileSync(join(stateDir, PROJECT_IMAGES_FILE), 'utf8')) as Record<string, unknown>)
  } catch {
    return
  }
  const tags = entries.map((entry) => (entry as { recorded?: boolean; tag?: string } | null)).filter((entry) => entry?.recorded && entry.tag).map((entry) => entry!.tag!)
  if (tags.length === 0) return
  const engine = createDockerEngine({ dockerHost: process.env.DOCKER_HOST })
  for (const tag of new Set(tags)) await dropProjectImageTag(engine, tag).catch(() => {})
  engine.close()
}

/** Counts this coordinator's running job containers every `everyMs`; `peak()` since the last `reset()`. */
export function watchContainers(engine: DockerEngine, coordinatorId: () => string | undefined, everyMs = 100) {
  let peak = 0
  let current = 0
  let stopped = false
  const samples: { at: number; count: number }[] = []
  void (async () => {
    while (!stopped) {
      const id = coordinatorId()
      if (id) {
        const list = await engine.containerList({ labels: [`terarchitect.coordinator_id=${id}`] }).catch(() => null)
        if (list) {
          current = list.length
          peak = Math.max(peak, current)
          samples.push({ at: Date.now(), count: current })
        }
      }
      await sleep(everyMs)
    }
  })()
  return {
    peak: () => peak,
    current: () => current,
    samples,
    reset: () => void (peak = current),
    stop: () => void (stopped = true),
  }
}

/** Removes every container labelled with one of `coordinatorIds` (suite clean-up). */
export async function removeCoordinatorContainers(engine: DockerEngine, coordinatorIds: Iterable<string>): Promise<void> {
  for (const id of coordinatorIds) {
    for (const c of await engine.containerList({ all: true, labels: [`terarchitect.coordinator_id=${id}`] })) {
      await engine.containerRemove(c.Id, { force: true, volumes: true }).catch(() => {})
    }
  }
}
