// test-runner: alone
// The job queue under pressure: racing claimers on real PostgreSQL, long-poll wake-up (in-process
// and across two app replicas through LISTEN/NOTIFY), and fairness across projects.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'

/** Inserts `n` pending jobs without tickets straight into the table (setup, not under test). */
async function insertJobs(t: TestApp, projectId: number, n: number): Promise<void> {
  await t.app.ctx.sql`
    insert into agent_jobs (project_id, kind) select ${projectId}, 'ticket' from generate_series(1, ${n})`
}

const race = suite<{ t: TestApp }>('8 claimers racing on real PostgreSQL')
race.before(async (context) => {
  context.t = await startTestApp({ kind: 'postgres', env: { DB_POOL_SIZE: '20' } })
})
race.after(async ({ t }) => t.close())

race('5,000 jobs are each claimed exactly once', async ({ t }) => {
  const project = await createRunnableProject(t)
  await insertJobs(t, project.id, 5000)
  const claimed: number[][] = []
  await Promise.all(
    Array.from({ length: 8 }, async (_, claimer) => {
      const mine: number[] = []
      claimed.push(mine)
      for (;;) {
        const res = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: `c${claimer}` })
        if (res.status === 204) break
        assert.is(res.status, 200)
        mine.push(res.body.job_id)
      }
    }),
  )
  const all = claimed.flat()
  assert.is(all.length, 5000)
  assert.is(new Set(all).size, 5000, 'no job claimed twice')
  assert.ok(claimed.every((mine) => mine.length > 0), 'every claimer got work')
  const [{ n }] = await t.app.ctx.sql`select count(*)::int as n from agent_jobs where status = 'running'`
  assert.is(n, 5000)
})
race.run()

for (const kind of DB_KINDS) {
  const wake = suite<{ t: TestApp }>(`long-poll wake-up (${kind})`)
  wake.before(async (context) => {
    // The re-check (the guarantee against a lost wake-up) is pushed past wait_ms: a claim answered
    // with the job can only have been woken by the enqueue.
    context.t = await startTestApp({ kind, env: { CLAIM_RECHECK_SEC: '60' } })
  })
  wake.after(async ({ t }) => t.close())

  wake('a waiting claimer is woken by a job enqueued later, not by its re-check', async ({ t }) => {
    const project = await createRunnableProject(t)
    const delays: number[] = []
    for (let i = 0; i < 7; i++) {
      const waiting = t.api('POST', '/api/worker/jobs/start', { project_id: project.id, wait_ms: 10000 }).then((res) => ({ res, at: performance.now() }))
      await new Promise((resolve) => setTimeout(resolve, 150))
      const enqueuedAt = performance.now()
      await createTicket(t, project.id, { column_id: 'in_progress', title: `wake ${i}` })
      const { res, at } = await waiting
      assert.is(res.status, 200)
      delays.push(at - enqueuedAt)
    }
    delays.sort((a, b) => a - b)
    // A generous ceiling (a quiet machine: about 20 ms); without the wake-up each claim waits out wait_ms and answers 204.
    assert.ok(delays[6]! < 5000, `enqueue→claim ${delays.map((d) => d.toFixed(1)).join(', ')} ms`)
    console.log(`    enqueue→claim median ${delays[3]!.toFixed(1)} ms`)
  })

  wake('an empty queue answers 204 after wait_ms', async ({ t }) => {
    const project = await createRunnableProject(t)
    const started = performance.now()
    const res = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, wait_ms: 300 })
    assert.is(res.status, 204)
    assert.ok(performance.now() - started >= 280)
  })

  wake('a busy project does not starve another', async ({ t }) => {
    const busy = await createRunnableProject(t)
    const quiet = await createRunnableProject(t)
    await insertJobs(t, busy.id, 20)
    const first = await t.api('POST', '/api/worker/jobs/start', { project_ids: [busy.id, quiet.id] })
    assert.is(first.body.project_id, busy.id)
    await createTicket(t, quiet.id, { column_id: 'in_progress' })
    const second = await t.api('POST', '/api/worker/jobs/start', { project_ids: [busy.id, quiet.id] })
    assert.is(second.body.project_id, quiet.id, 'the project with nothing running goes first')
  })
  wake.run()
}

const replicas = suite<{ a: TestApp; b: TestApp }>('two app replicas on one PostgreSQL')
replicas.before(async (context) => {
  context.a = await startTestApp({ kind: 'postgres' })
  context.b = await startTestApp({ kind: 'postgres', env: { DATABASE_URL: context.a.env.DATABASE_URL!, TERARCHITECT_SECRET_KEY: 'shared-secret-key-for-replicas', CLAIM_RECHECK_SEC: '60' } })
})
replicas.after(async ({ a, b }) => {
  await b.close()
  await a.close()
})

replicas('a claimer waiting on replica B is woken by an enqueue on replica A (NOTIFY)', async ({ a, b }) => {
  const project = await createRunnableProject(a)
  // Replicas agree on the worker key A generated (B has no key file of its own).
  assert.is(b.workerKey, '')
  const waiting = b.api('POST', '/api/worker/jobs/start', { project_id: project.id, wait_ms: 10000 }, { authorization: `Bearer ${a.workerKey}` }).then((res) => ({ res, at: performance.now() }))
  await new Promise((resolve) => setTimeout(resolve, 200))
  const enqueuedAt = performance.now()
  await createTicket(a, project.id, { column_id: 'in_progress' })
  const { res, at } = await waiting
  assert.is(res.status, 200)
  // B re-checks only every 60 s: the notification woke it (a generous ceiling; about 20 ms on a quiet machine).
  assert.ok(at - enqueuedAt < 5000, `woken after ${(at - enqueuedAt).toFixed(1)} ms`)
})
replicas.after(stopOwnCluster)
replicas.run()
