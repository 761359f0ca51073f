// The job lifecycle end to end over HTTP, on real PostgreSQL 15 and on PGlite: enqueue on move,
// claim, heartbeat, complete → In Review; cancel; lease expiry → attempt 2; restart loses nothing.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, createRunnableProject, createTicket, sleep, startTestApp, stopOwnCluster, waitFor, type TestApp } from './helpers.ts'

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`job lifecycle (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind, env: { JOB_LEASE_SEC: '1', JOB_LEASE_GRACE_SEC: '0', REAPER_INTERVAL_SEC: '0.2' } })
  })
  test.after(async ({ t }) => t.close())

  test('move to In Progress → claim → heartbeat → complete → In Review', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id)
    assert.is(ticket.column_id, 'backlog')
    const moved = await t.api('PATCH', `/api/projects/${project.id}/tickets/${ticket.id}`, { column_id: 'in_progress' })
    assert.is(moved.status, 200, JSON.stringify(moved.body))
    assert.is(moved.body.job.status, 'pending')

    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
    assert.is(claim.status, 200)
    assert.is(claim.body.ticket_id, ticket.id)
    assert.is(claim.body.kind, 'ticket')
    assert.is(claim.body.repo_url, 'https://git.example/repo.git')
    assert.is(claim.body.attempt, 1)
    assert.ok(claim.body.agent_token.startsWith('tj1.'))
    const jobId = claim.body.job_id
    assert.is((await t.api('POST', '/api/worker/jobs/start', { project_id: project.id })).status, 204, 'no second claim')

    const beat = await t.api('POST', `/api/worker/jobs/${jobId}/heartbeat`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq })
    assert.is(beat.status, 200)
    assert.is(beat.body.cancel_requested, false)

    const auth = { authorization: `Bearer ${claim.body.agent_token}` }
    const base = `/api/projects/${project.id}/tickets/${ticket.id}`
    const context = await t.api('GET', `${base}/worker-context`, undefined, auth)
    assert.is(context.status, 200)
    assert.is(context.body.ticket.id, ticket.id)
    assert.is(context.body.settings.WORKER_MODEL, 'test-model')
    const logged = await t.api('POST', `${base}/logs`, { step: 'clone', summary: 'cloned' }, auth)
    assert.is(logged.status, 201)
    // The PR the app opened for the job (POST …/forge/pull records it): the one complete may report.
    await t.app.ctx.sql`update agent_jobs set pr_number = 1 where id = ${jobId}`
    const done = await t.api('POST', `${base}/complete`, { pr_number: 1, summary: 'did it' }, auth)
    assert.is(done.status, 200, JSON.stringify(done.body))
    assert.is(done.body.column_id, 'in_review')
    assert.is(done.body.pr_number, 1)

    const complete = await t.api('POST', `/api/worker/jobs/${jobId}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0, output_tail: 'ok' })
    assert.is(complete.status, 200)
    assert.is(complete.body.status, 'succeeded')
    assert.is((await t.api('POST', `/api/worker/jobs/${jobId}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })).status, 200, 'complete is idempotent')
    assert.is((await t.api('POST', `/api/worker/jobs/${jobId}/fail`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, error: 'x' })).status, 409, 'conflicting outcome')
    const logs = await t.api('GET', `${base}/logs?after=0`)
    assert.equal(logs.body.events.map((event: any) => event.step), ['clone'])
  })

  test('cancel → cancel_requested on next heartbeat → job ends cancelled', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
    const jobId = claim.body.job_id
    assert.is(claim.body.ticket_id, ticket.id)
    const cancel = await t.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/cancel`)
    assert.is(cancel.status, 200)
    assert.is(cancel.body.cancel_requested, true)
    const beat = await t.api('POST', `/api/worker/jobs/${jobId}/heartbeat`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq })
    assert.is(beat.body.cancel_requested, true)
    const asked = await t.api('GET', `/api/projects/${project.id}/tickets/${ticket.id}/cancel-requested`, undefined, {
      authorization: `Bearer ${claim.body.agent_token}`,
    })
    assert.is(asked.body.cancel_requested, true)
    const late = await t.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/complete`, { pr_url: 'https://git.example/pr/9' }, {
      authorization: `Bearer ${claim.body.agent_token}`,
    })
    assert.is(late.status, 401, 'a cancelled agent cannot move the ticket to In Review')
    assert.match(late.body.error.message, 'was cancelled')
    const reported = await t.api('POST', `/api/worker/jobs/${jobId}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 137 })
    assert.is(reported.body.status, 'cancelled')
    assert.is((await t.api('GET', `/api/jobs/${jobId}`)).body.status, 'cancelled')
  })

  test('an expired lease puts the job back to pending with attempt 2, then fails after max attempts', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
    const first = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'dead' })
    assert.is(first.body.attempt, 1)
    const again = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c2', wait_ms: 5000 })
    assert.is(again.status, 200)
    assert.is(again.body.job_id, first.body.job_id)
    assert.is(again.body.attempt, 2)
    const lost = await t.api('POST', `/api/worker/jobs/${first.body.job_id}/heartbeat`, { coordinator_id: 'dead', claim_seq: first.body.claim_seq })
    assert.is(lost.status, 409, 'the dead coordinator lost its lease')
    await sleep(1300)
    const third = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c3', wait_ms: 3000 })
    assert.is(third.body.attempt, 3)
    const failed = await waitFor(async () => {
      const job = (await t.api('GET', `/api/jobs/${first.body.job_id}`)).body
      return job.status === 'failed' ? job : null
    }, 5000, 'job to fail')
    assert.match(failed.error, /lease expired on attempt 3 of 3/)
    const logs = await t.api('GET', `/api/projects/${project.id}/tickets/${ticket.id}/logs`)
    assert.ok(logs.body.events.filter((event: any) => event.step === 'lease_expired').length >= 3)
  })

  test('a restart of the app loses nothing', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id, { title: 'survives restart' })
    await t.api('PUT', `/api/settings`, { values: { GITHUB_TOKEN: 'ghs_restart_secret_value' } })
    await t.stop()
    const again = await startTestApp({ kind, reuse: { dataDir: t.dataDir, env: t.env } })
    try {
      const read = await again.api('GET', `/api/projects/${project.id}/tickets/${ticket.id}`)
      assert.is(read.status, 200)
      assert.is(read.body.title, 'survives restart')
      const settings = await again.api('GET', '/api/settings')
      assert.is(settings.body.settings.find((s: any) => s.key === 'GITHUB_TOKEN').set, true)
      // The generated worker key survives the restart (same key file, same hash in the database).
      assert.is(again.workerKey, t.workerKey)
      const context = await again.api('POST', '/api/worker/jobs/start', {})
      assert.ok([200, 204].includes(context.status), JSON.stringify(context.body))
    } finally {
      await again.stop()
    }
  })

  test.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
