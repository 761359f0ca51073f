/**
 * How many agents one host holds (issue 14, acceptance 4; prints figures, not a test): N tickets
 * run at once, each in its own container of the agent image (docker-dood, no daemon socket
 * mounted), with the real Claude Code CLI the image carries talking to the scripted fake LLM, on a
 * small repository behind the git fixture, the app on a temporary PostgreSQL 15: clone through the app's relay, one turn that writes a
 * file, commit, push, pull request, complete. For each N of CONCURRENCY_BENCH_LEVELS (default
 * 8,16,32,48) it prints the wall time of the wave, the failed jobs (exit ≠ 0, or no pushed branch),
 * the p50 job time, and the memory each agent adds: the p50 over containers of their cgroup's peak
 * (usage including page cache, and RSS), sampled every second, and the host's MemAvailable drop
 * at the wave's peak divided by N. It stops at the first N with a failed job and prints the largest
 * N that had none (goal ≥ 32).
 *
 *   npm run bench -- test/bench/concurrency.ts      # CONCURRENCY_BENCH_IMAGE=terarchitect-agent:test
 *
 * Bounded: a wave is stopped after CONCURRENCY_BENCH_WAVE_SEC (default 600; its unfinished jobs
 * count as failed), so the whole run takes at most levels × that. Every container it started is
 * removed at the end (they carry the label terarchitect.coordinator_id=<this run's id>), and each
 * wave waits for the previous one's to be gone. Run it with the machine otherwise idle.
 */
import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import type { ClaimedJob } from '../../core/coordinator/client.ts'
import { jobEnv } from '../../core/coordinator/job-env.ts'
import { createLogger } from '../../core/log.ts'
import { dockerDood } from '../../plugins/executors/docker/dood.ts'
import type { DockerEngine } from '../../plugins/executors/docker/engine.ts'
import { defaultScript } from '../fixtures/fake-llm.ts'
import { ensureDocker } from '../docker-fixtures.ts'
import { removeCoordinatorContainers } from '../coordinator-fixtures.ts'
import { stopOwnCluster } from '../helpers.ts'
import { createTicket, holdJob, remoteGit, runAndClaim, startWorld, type World } from './agent-harness.ts'

const IMAGE = process.env.CONCURRENCY_BENCH_IMAGE ?? 'terarchitect-agent:test'
const LEVELS = (process.env.CONCURRENCY_BENCH_LEVELS ?? '8,16,32,48').split(',').map(Number).filter((n) => n > 0)
const WAVE_MS = Number(process.env.CONCURRENCY_BENCH_WAVE_SEC ?? 600) * 1000
const COORDINATOR_ID = `concurrency-bench-${randomUUID().slice(0, 8)}`
const MB = 1024 * 1024

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const mb = (bytes: number) => (Number.isFinite(bytes) ? `${Math.round(bytes / MB)} MB` : 'n/a')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** MemAvailable of the host, bytes. */
const memAvailable = () => Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN) * 1024

/**
 * A container's memory now, from its cgroup: cgroup v1 (`memory/docker/<id>`: usage_in_bytes and
 * memory.stat's total_rss) or v2 (`docker-<id>.scope` or `docker/<id>`: memory.current and
 * memory.stat's anon). Null once it is gone.
 */
function containerMemory(id: string): { usage: number; rss: number } | null {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : null)
  const stat = (text: string | null, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text ?? '')?.[1] ?? NaN)
  const v1 = `/sys/fs/cgroup/memory/docker/${id}`
  const usage = read(`${v1}/memory.usage_in_bytes`)
  if (usage) return { usage: Number(usage), rss: stat(read(`${v1}/memory.stat`), 'total_rss') }
  for (const v2 of [`/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`]) {
    const current = read(`${v2}/memory.current`)
    if (current) return { usage: Number(current), rss: stat(read(`${v2}/memory.stat`), 'anon') }
  }
  return null
}

/** Samples this run's containers every second: each one's peak memory, and the host's lowest MemAvailable. */
function sampleMemory(engine: DockerEngine) {
  const peaks = new Map<string, { usage: number; rss: number }>()
  let lowest = memAvailable()
  let running = 0
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const list = await engine.containerList({ labels: [`terarchitect.coordinator_id=${COORDINATOR_ID}`] }).catch(() => [])
      running = Math.max(running, list.length)
      for (const container of list) {
        const now = containerMemory(container.Id)
        if (!now) continue
        const peak = peaks.get(container.Id) ?? { usage: 0, rss: 0 }
        peaks.set(container.Id, { usage: Math.max(peak.usage, now.usage), rss: Math.max(peak.rss, now.rss || 0) })
      }
      lowest = Math.min(lowest, memAvailable())
      await sleep(1000)
    }
  })()
  return {
    async stop() {
      stopped = true
      await done
      return { peaks: [...peaks.values()], lowest, running }
    },
  }
}

async function waitForNoContainers(engine: DockerEngine): Promise<void> {
  for (let i = 0; i < 120; i++) {
    if (!(await engine.containerList({ all: true, labels: [`terarchitect.coordinator_id=${COORDINATOR_ID}`] })).length) return
    await sleep(500)
  }
  await removeCoordinatorContainers(engine, [COORDINATOR_ID])
}

/** One wave: N tickets claimed, then run at once; what each ended with. */
async function wave(world: World, engine: DockerEngine, n: number) {
  const executor = dockerDood({ engine, image: IMAGE, mountSocket: false, cacheVolume: '', coordinatorId: COORDINATOR_ID, log: createLogger('error') })
  // Each job is held (heartbeated) from its claim on, as a coordinator holds it.
  const jobs: { ticketId: number; job: ClaimedJob; lease: ReturnType<typeof holdJob> }[] = []
  for (let i = 0; i < n; i++) {
    const ticket = await createTicket(world, { title: `concurrency ${n} #${i}` })
    const job = await runAndClaim(world, ticket.id)
    jobs.push({ ticketId: ticket.id, job, lease: holdJob(world, job) })
  }
  const before = memAvailable()
  const memory = sampleMemory(engine)
  const stop = AbortSignal.timeout(WAVE_MS)
  setMaxListeners(n * 4 + 10, stop) // every job of the wave listens to it
  const started = Date.now()
  const results = await Promise.all(jobs.map(async ({ ticketId, job, lease }) => {
    const at = Date.now()
    let tail = ''
    const result = await executor.run({
      jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, kind: 'ticket', executionMode: 'docker', projectPath: null,
      env: jobEnv(job, { apiUrl: world.t.url }), labels: {}, timeoutMs: WAVE_MS,
    }, (chunk) => void (tail = (tail + chunk.text).slice(-1500)), stop).catch((error: Error) => ({ exitCode: -1, error: error.message }))
    await lease.report(result.exitCode)
    const pushed = remoteGit(world, ['rev-parse', '--verify', '--quiet', `refs/heads/ticket-${ticketId}`]) !== null
    return { ok: result.exitCode === 0 && pushed, ms: Date.now() - at, why: result.exitCode === 0 ? 'no branch pushed' : `exit ${result.exitCode}: ${tail.slice(-300)}` }
  }))
  const wall = Date.now() - started
  const sampled = await memory.stop()
  await executor.close?.()
  await waitForNoContainers(engine)
  return { n, wall, results, before, ...sampled }
}

async function main() {
  const engine = await ensureDocker()
  await engine.imageInspect(IMAGE).catch(() => {
    throw new Error(`${IMAGE} is missing: scripts/build-agent-image.sh builds it (AGENT_IMAGE=${IMAGE})`)
  })
  // The app on PostgreSQL, as a deployment runs it: with PGlite the database shares the app's one
  // event loop with the relay, the fake forge and LLM and this bench, and 32 agents' lease checks
  // queue behind it.
  const world = await startWorld({ host: '0.0.0.0', database: 'postgres', script: defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'done' }) })
  await world.settings({ WORKER_MODE: 'claude-code' })
  const load = () => (readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '))
  console.log(`agents at once in ${IMAGE} (docker-dood, Claude Code against the scripted LLM); levels ${LEVELS.join(', ')}; a wave stops after ${s(WAVE_MS)}`)
  console.log(`load average at start: ${load()}; MemAvailable ${mb(memAvailable())}`)
  const rows: string[] = []
  let sustained = 0
  try {
    for (const n of LEVELS) {
      const w = await wave(world, engine, n)
      const failed = w.results.filter((result) => !result.ok)
      const row = `| ${n} | ${w.running} | ${s(w.wall)} | ${failed.length} | ${s(median(w.results.map((result) => result.ms)))} | ${mb(median(w.peaks.map((peak) => peak.usage)))} | ${mb(median(w.peaks.map((peak) => peak.rss)))} | ${mb((w.before - w.lowest) / n)} |`
      rows.push(row)
      console.log(row)
      for (const failure of failed.slice(0, 3)) console.log(`  failed: ${failure.why.replace(/\s+/g, ' ')}`)
      if (failed.length) break
      sustained = n
    }
  } finally {
    await removeCoordinatorContainers(engine, [COORDINATOR_ID])
    await world.close()
    await stopOwnCluster()
    engine.close()
  }
  console.log([
    '',
    '| agents at once | containers seen at once | wall time of the wave | failed jobs | p50 job time | p50 container peak memory (incl. page cache) | p50 container peak RSS | host MemAvailable drop / N |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `largest N with no failed job: ${sustained || 'none'} (goal ≥ 32)`,
    `load average at end: ${load()}`,
  ].join('\n'))
}

await main()
process.exit(0)
