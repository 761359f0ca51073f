/**
 * Queue benchmarks (DESIGN §10), on real PostgreSQL 15 and on PGlite, through the HTTP API:
 *  - claims/s with 1 and 8 concurrent claimers draining a queue of N jobs;
 *  - enqueue → claim latency (p50/p99) with a long-polling claimer waiting on an empty queue.
 * Prints one line per figure.  `npm run bench -- test/bench/queue.ts [jobs=5000]`
 */
import { createRunnableProject, startTestApp, stopOwnCluster, type DbKind, type TestApp } from '../helpers.ts'
import { percentile } from './load.ts'

const JOBS = Number(process.argv[2] ?? 5000)

async function claimRate(t: TestApp, claimers: number, jobs: number): Promise<number> {
  const project = await createRunnableProject(t)
  await t.app.ctx.sql`insert into agent_jobs (project_id, kind) select ${project.id}, 'ticket' from generate_series(1, ${jobs})`
  const started = performance.now()
  let claimed = 0
  await Promise.all(Array.from({ length: claimers }, async (_, i) => {
    for (;;) {
      const res = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: `bench${i}` })
      if (res.status === 204) return
      claimed++
    }
  }))
  const seconds = (performance.now() - started) / 1000
  if (claimed !== jobs) throw new Error(`claimed ${claimed} of ${jobs}`)
  return claimed / seconds
}

async function wakeLatency(t: TestApp, rounds: number): Promise<number[]> {
  const project = await createRunnableProject(t)
  const ticket = await t.api('POST', `/api/projects/${project.id}/tickets`, { title: 'bench' })
  const delays: number[] = []
  for (let i = 0; i < rounds; i++) {
    const waiting = t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'bench-wake', wait_ms: 10000 }).then(() => performance.now())
    await new Promise((resolve) => setTimeout(resolve, 20))
    const enqueuedAt = performance.now()
    await t.api('POST', `/api/projects/${project.id}/tickets/${ticket.body.id}/run`)
    delays.push((await waiting) - enqueuedAt)
    // Finish the job so the ticket can run again.
    const [job] = await t.app.ctx.sql`select id, claim_seq from agent_jobs where ticket_id = ${ticket.body.id} and status = 'running'`
    await t.api('POST', `/api/worker/jobs/${job!.id}/complete`, { coordinator_id: 'bench-wake', claim_seq: job!.claim_seq, exit_code: 0 })
    await t.api('PATCH', `/api/projects/${project.id}/tickets/${ticket.body.id}`, { column_id: 'backlog' })
  }
  return delays.sort((a, b) => a - b)
}

for (const kind of ['postgres', 'pglite'] as DbKind[]) {
  const t = await startTestApp({ kind, env: { DB_POOL_SIZE: '20', LOG_LEVEL: 'error' } })
  try {
    const jobs = kind === 'pglite' ? Math.min(JOBS, 2000) : JOBS
    for (const claimers of [1, 8]) {
      const rate = await claimRate(t, claimers, jobs)
      console.log(`${kind}: claims/s with ${claimers} claimer(s) over HTTP, ${jobs} jobs: ${Math.round(rate)}`)
    }
    const delays = await wakeLatency(t, 100)
    console.log(`${kind}: enqueue→claim with a long-polling claimer: p50 ${percentile(delays, 50).toFixed(2)} ms, p99 ${percentile(delays, 99).toFixed(2)} ms`)
  } finally {
    await t.close()
  }
}
await stopOwnCluster()
