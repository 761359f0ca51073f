// Coordinator latency and footprint, with the built coordinator (dist/coordinator.js) waiting in a
// long-poll claim against the app (embedded PGlite; `postgres` as 2nd argument for PostgreSQL 15):
//   enqueue → claimed (the job's started_at − created_at, both from the database clock)
//   enqueue → container started (the coordinator's "container started" log record)
//   enqueue → agent running (the fake agent's first timestamp, printed inside the container)
//   coordinator RSS idle, and with 3 agents running.
//   node --import ./scripts/ts-register.mjs test/bench/coordinator-latency.ts [iterations=20] [pglite|postgres]
// Target (DESIGN.md §10): enqueue → claimed p50 < 10 ms, p99 < 50 ms; coordinator RSS idle < 80 MB.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureDocker } from '../docker-fixtures.ts'
import { WORKER_KEY, enqueue, ensureFakeAgentImage, eventsOf, outputText, project, startRelay, waitForJob } from '../coordinator-fixtures.ts'
import { ROOT, sleep, startTestApp, stopOwnCluster, waitFor } from '../helpers.ts'

const iterations = Number(process.argv[2] ?? 20)
const kind = process.argv[3] === 'postgres' ? 'postgres' : 'pglite'

if (!existsSync(join(ROOT, 'dist/coordinator.js'))) spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' })
const engine = await ensureDocker()
const image = await ensureFakeAgentImage(engine)
const t = await startTestApp({ kind, env: { JOB_LEASE_SEC: '30', TERARCHITECT_WORKER_API_KEY: WORKER_KEY } })
const relay = await startRelay(Number(new URL(t.url).port))
const apiUrl = `http://127.0.0.1:${relay.port}`
const stateDir = mkdtempSync(join(tmpdir(), 'terarchitect-bench-coord-'))
const coordinatorId = `bench-${process.pid}`

const records: { time: string; msg: string; jobId?: number }[] = []
const child = spawn(process.execPath, [join(ROOT, 'dist/coordinator.js')], {
  env: {
    PATH: process.env.PATH, HOME: process.env.HOME, TERARCHITECT_API_URL: apiUrl, TERARCHITECT_WORKER_API_KEY: WORKER_KEY,
    COORDINATOR_ID: coordinatorId, COORDINATOR_STATE_DIR: stateDir, AGENT_IMAGE: image, AGENT_CACHE_VOLUME: '',
    MAX_CONCURRENT_AGENTS: '3', LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'ignore', 'pipe'],
})
let rest = ''
child.stderr!.on('data', (chunk: Buffer) => {
  rest += chunk.toString()
  const lines = rest.split('\n')
  rest = lines.pop()!
  for (const line of lines) {
    try {
      records.push(JSON.parse(line))
    } catch {}
  }
})
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024

try {
  await waitFor(async () => records.some((record) => record.msg === 'coordinator started'), 30000, 'coordinator start')
  await sleep(3000)
  const idleRss = rssMb()
  const p = await project(t)

  const claimed: number[] = []
  const containerStarted: number[] = []
  const agentRunning: number[] = []
  for (let index = 0; index < iterations + 2; index++) {
    await sleep(300) // the coordinator is back in its long-poll
    const before = Date.now()
    const { jobId, ticketId } = await enqueue(t, p.id, { lines: 1 })
    const job = await waitForJob(t, jobId, ['succeeded', 'failed'], 60000)
    if (job.status !== 'succeeded') throw new Error(`job ${jobId} ${job.status}: ${job.error}`)
    if (index < 2) continue // warm-up: first image use, dind variant learning
    const full = (await t.api('GET', `/api/jobs/${jobId}`)).body
    claimed.push(Date.parse(full.started_at) - Date.parse(full.created_at))
    const started = records.find((record) => record.msg === 'container started' && record.jobId === jobId)
    if (started) containerStarted.push(Date.parse(started.time) - before)
    const stamp = Number(/agent-start (\d+)/.exec(outputText(await eventsOf(t, p.id, ticketId)))?.[1])
    if (stamp) agentRunning.push(stamp - before)
  }

  // Three agents at once, each running for a while.
  const busy = [] as { jobId: number }[]
  for (let index = 0; index < 3; index++) busy.push(await enqueue(t, p.id, { lines: 40, interval: 250 }))
  await waitFor(async () => (await engine.containerList({ labels: [`terarchitect.coordinator_id=${coordinatorId}`] })).length === 3, 60000, '3 containers')
  let busyRss = 0
  for (let sample = 0; sample < 10; sample++) {
    busyRss = Math.max(busyRss, rssMb())
    await sleep(300)
  }
  for (const job of busy) await t.api('POST', `/api/jobs/${job.jobId}/cancel`)
  for (const job of busy) await waitForJob(t, job.jobId, ['cancelled', 'failed', 'succeeded'], 30000)

  const stats = (samples: number[]) => {
    const sorted = [...samples].sort((a, b) => a - b)
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
    return `p50 ${at(0.5).toFixed(0)} ms, p99 ${at(0.99).toFixed(0)} ms, max ${sorted[sorted.length - 1]!.toFixed(0)} ms (n=${sorted.length})`
  }
  process.stdout.write(`coordinator bench (${kind}, ${iterations} jobs, docker-dind, waiting coordinator)\n`)
  process.stdout.write(`  enqueue → claimed:            ${stats(claimed)}\n`)
  process.stdout.write(`  enqueue → container started:  ${stats(containerStarted)}\n`)
  process.stdout.write(`  enqueue → agent running:      ${stats(agentRunning)}\n`)
  process.stdout.write(`  coordinator RSS idle:         ${idleRss.toFixed(1)} MB\n`)
  process.stdout.write(`  coordinator RSS, 3 running:   ${busyRss.toFixed(1)} MB\n`)
} finally {
  child.kill('SIGTERM')
  await new Promise((resolve) => child.once('exit', resolve))
  await relay.close()
  await t.close()
  await stopOwnCluster()
  rmSync(stateDir, { recursive: true, force: true })
  engine.close()
}
