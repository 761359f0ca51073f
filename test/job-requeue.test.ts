// A run that lost its place (node down, pod evicted) is queued again by its coordinator's report
// (POST /api/worker/jobs/:id/requeue), on the real database: pending at attempt+1 with the reason,
// failed on the last attempt, refused for another coordinator's credential and for a job not running.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createRunnableProject, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'

let t: TestApp
let projectId: number

test.before(async () => {
  t = await startTestApp({ kind: 'postgres' })
  projectId = (await createRunnableProject(t)).id
})
test.after(async () => {
  await t.close()
  await stopOwnCluster()
})

/**
 * Inserts one pending job (setup, not under test) at `attempt` of `max`, and claims it as `c1` with
 * the worker key: its id and the claim (`claim_seq`) the calls about this run name.
 */
async function claimedJob(attempt: number, max: number): Promise<{ id: number; claim: number }> {
  const [row] = await t.app.ctx.sql`insert into agent_jobs (project_id, kind, attempt, max_attempts) values (${projectId}, 'ticket', ${attempt}, ${max}) returning id`
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: 'c1' })
  assert.is(claim.status, 200)
  assert.is(claim.body.job_id, row!.id)
  return { id: row!.id as number, claim: claim.body.claim_seq as number }
}

const lost = 'its node swarm-worker-1 is down (heartbeat failure)'

test('a lost run goes back to pending at attempt+1 with the reason and a job event, and is claimable again', async () => {
  const { id, claim } = await claimedJob(1, 3)
  const res = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: claim, reason: lost })
  assert.is(res.status, 200, JSON.stringify(res.body))
  assert.is(res.body.status, 'pending')
  assert.is(res.body.attempt, 2)
  assert.is(res.body.reason_kind, 'cancelled')
  assert.is(res.body.reason, 'Its node swarm-worker-1 is down (heartbeat failure); queued again as attempt 2 of 3')
  const job = (await t.api('GET', `/api/jobs/${id}`)).body
  assert.is(job.status, 'pending')
  assert.is(job.claimed_by ?? null, null)
  const [event] = await t.app.ctx.sql`select step, summary from job_events where job_id = ${id} order by id desc limit 1`
  assert.equal({ ...event }, { step: 'run_lost', summary: 'Its node swarm-worker-1 is down (heartbeat failure); queued again as attempt 2 of 3' })
  const again = await t.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: 'c2' })
  assert.is(again.body.job_id, id)
  assert.is(again.body.attempt, 2)
  // The old holder's late report is refused: the job is another coordinator's now.
  const late = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: claim, reason: lost })
  assert.is(late.status, 409)
  assert.is((await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'c2', claim_seq: again.body.claim_seq, exit_code: 0 })).status, 200)
})

test('a late report of the lost attempt never sends the next one back: 409 naming the claims, when the same coordinator holds the next', async () => {
  const { id, claim } = await claimedJob(1, 3)
  const first = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: claim, reason: lost })
  assert.is(first.status, 200, JSON.stringify(first.body))
  // The requeue woke this coordinator's claim: it runs attempt 2 under the same holder.
  const again = await t.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: 'c1' })
  assert.is(again.body.job_id, id)
  assert.is(again.body.attempt, 2)
  // The first report comes again (its answer was lost on the way): about attempt 1's claim, which has ended.
  const late = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: claim, reason: lost })
  assert.is(late.status, 409, JSON.stringify(late.body))
  assert.is(late.body.error.code, 'lease_lost')
  assert.match(late.body.error.message, `job ${id} runs claim ${again.body.claim_seq} (attempt 2) now; claim ${claim} has ended`)
  const job = (await t.api('GET', `/api/jobs/${id}`)).body
  assert.is(job.status, 'running')
  assert.is(job.attempt, 2)
  const events = await t.app.ctx.sql`select step from job_events where job_id = ${id} and step = 'run_lost'`
  assert.is(events.length, 1, 'one run_lost event: the late report left no trace')
  // Attempt 2's own report is taken.
  const own = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: again.body.claim_seq, reason: lost })
  assert.is(own.status, 200, JSON.stringify(own.body))
  assert.is(own.body.attempt, 3)
  assert.is((await t.api('POST', `/api/jobs/${id}/cancel`)).status, 200)
})

test('on its last attempt the job fails with the reason, not retried, keeping the output tail', async () => {
  const { id, claim } = await claimedJob(3, 3)
  const res = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: claim, reason: lost, output_tail: 'last words' })
  assert.is(res.status, 200, JSON.stringify(res.body))
  assert.is(res.body.status, 'failed')
  assert.is(res.body.attempt, 3)
  assert.is(res.body.reason, 'Its node swarm-worker-1 is down (heartbeat failure) on attempt 3 of 3; not retried')
  const job = (await t.api('GET', `/api/jobs/${id}`)).body
  assert.is(job.error, 'Its node swarm-worker-1 is down (heartbeat failure) on attempt 3 of 3; not retried')
  assert.is(job.output_tail, 'last words')
  assert.ok(job.finished_at)
})

test('a requested cancel wins: the lost run ends cancelled', async () => {
  const { id, claim } = await claimedJob(1, 3)
  assert.is((await t.api('POST', `/api/jobs/${id}/cancel`)).status, 200)
  const res = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: claim, reason: lost })
  assert.is(res.body.status, 'cancelled')
  assert.is(res.body.attempt, 1)
})

test('another coordinator\'s credential is refused (403) and the job stays running', async () => {
  const { id, claim } = await claimedJob(1, 3)
  const token = (await t.api('POST', '/api/coordinators/tokens', { name: 'other-box' })).body.token as string
  const res = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: claim, reason: lost }, { authorization: `Bearer ${token}` })
  assert.is(res.status, 403)
  const sameKeyOtherInstance = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c9', claim_seq: claim, reason: lost })
  assert.is(sameKeyOtherInstance.status, 409)
  const job = (await t.api('GET', `/api/jobs/${id}`)).body
  assert.is(job.status, 'running')
  assert.is(job.attempt, 1)
  assert.is((await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'c1', claim_seq: claim, exit_code: 0 })).status, 200)
})

test('a job that is not running is 409 and unchanged', async () => {
  const { id, claim } = await claimedJob(1, 3)
  assert.is((await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'c1', claim_seq: claim, exit_code: 0 })).status, 200)
  const res = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: claim, reason: lost })
  assert.is(res.status, 409)
  assert.is((await t.api('GET', `/api/jobs/${id}`)).body.status, 'succeeded')
})

test.run()
