// Issue 10, acceptance 1 on an app configured like `npm start` (loopback, no worker key set: it is
// generated): agent routes take only a job token, and a job token dies with its job.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { createRunnableProject, createTicket, startTestApp, type TestApp } from '../helpers.ts'
import { assertError } from '../api-helpers.ts'
import { expireLeases } from '../../core/services/reaper.ts'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const anonymous = { authorization: '' }

/** A ticket in progress whose job `coordinatorId` claimed with the worker key. */
async function claimedTicket(t: TestApp, coordinatorId = 'c1') {
  const project = await createRunnableProject(t)
  const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: coordinatorId })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  return { project, ticket, jobId: claim.body.job_id as number, claimSeq: claim.body.claim_seq as number, token: claim.body.agent_token as string, base: `/api/projects/${project.id}/tickets/${ticket.id}` }
}

/** Every agent route of a ticket, with a body it accepts. */
const agentCalls = (base: string): [string, string, unknown?][] => [
  ['GET', `${base}/worker-context`],
  ['POST', `${base}/logs`, { step: 'probe', summary: 'intruder' }],
  ['GET', `${base}/cancel-requested`],
  ['POST', `${base}/complete`, { pr_number: 7 }],
  ['POST', `${base}/memory/retrieve`, { query: 'anything' }],
  ['POST', `${base}/memory/index`, { documents: [{ content: 'x' }] }],
]

const test = suite<{ t: TestApp; coordinatorToken: string }>('agent routes and job tokens (npm start defaults)')
test.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
  const created = await context.t.api('POST', '/api/coordinators/tokens', { name: 'builder' })
  assert.is(created.status, 201, JSON.stringify(created.body))
  context.coordinatorToken = created.body.token
})
test.after(async ({ t }) => t.close())

test('the worker key always exists: generated into the data dir (0600), only its hash in the database', async ({ t }) => {
  assert.match(t.workerKey, /^twk_[A-Za-z0-9_-]{43}$/)
  assert.is(statSync(join(t.dataDir, 'worker.key')).mode & 0o777, 0o600)
  const rows = await t.app.ctx.sql`select key_hash from machine_keys`
  assert.is(rows.length, 1)
  assert.not.ok(JSON.stringify(rows).includes(t.workerKey))
  // The worker API never opens anonymously, even on loopback with nothing configured.
  for (const [path, body] of [['/api/worker/jobs/start', {}], ['/api/worker/settings'], ['/api/worker/jobs/1/heartbeat', { coordinator_id: 'c1', claim_seq: 1 }]] as const) {
    const method = body === undefined ? 'GET' : 'POST'
    assertError(await t.api(method, path, body, anonymous), 401, undefined, `${path} anonymous`)
    assertError(await t.api(method, path, body, bearer('twk_not-the-key-0123456789012345678901234567')), 401, undefined, `${path} wrong key`)
  }
  assert.is((await t.api('POST', '/api/worker/jobs/start', {})).status, 204, 'the generated key works')
})

test('worker-context: nothing → 401, worker key → 403, coordinator token → 403, another ticket\'s token → 403', async ({ t, coordinatorToken }) => {
  const a = await claimedTicket(t)
  const b = await claimedTicket(t)
  for (const [method, path, body] of agentCalls(a.base)) {
    const what = `${method} ${path}`
    assertError(await t.api(method, path, body, anonymous), 401, undefined, `${what} anonymous`)
    assertError(await t.api(method, path, body, bearer(t.workerKey)), 403, undefined, `${what} worker key`)
    assertError(await t.api(method, path, body, bearer(coordinatorToken)), 403, undefined, `${what} coordinator token`)
    assertError(await t.api(method, path, body, bearer(b.token)), 403, undefined, `${what} other ticket's token`)
  }
  assert.equal((await t.api('GET', `${a.base}/logs`)).body.events, [], 'nothing was written')
  assert.is((await t.api('GET', a.base)).body.column_id, 'in_progress')
  const context = await t.api('GET', `${a.base}/worker-context`, undefined, bearer(a.token))
  assert.is(context.status, 200)
  assert.is(context.body.ticket.id, a.ticket.id)
  // Worker settings carry no secret value: coordinators hold no secrets.
  await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: 'ghp_settings_secret_0123456789' } })
  const settings = await t.api('GET', '/api/worker/settings')
  assert.is(settings.status, 200)
  assert.not.ok(JSON.stringify(settings.body).includes('ghp_settings_secret_0123456789'))
})

/** Asserts the token is refused (401 naming the job's status) on every agent route, and nothing was written. */
async function assertDead(t: TestApp, c: Awaited<ReturnType<typeof claimedTicket>>, status: RegExp) {
  for (const [method, path, body] of agentCalls(c.base)) {
    const res = await t.api(method, path, body, bearer(c.token))
    assertError(res, 401, undefined, `${method} ${path}`)
    assert.match(res.body.error.message, new RegExp(`job token is no longer valid: job ${c.jobId} ${status.source}`))
  }
  const events = (await t.api('GET', `${c.base}/logs`)).body.events
  assert.not.ok(events.some((event: any) => event.step === 'probe'), 'the dead token wrote nothing')
}

test('a job token dies with its job: complete, fail, cancel, release, lease expiry → 401', async ({ t }) => {
  const completed = await claimedTicket(t)
  assert.is((await t.api('GET', `${completed.base}/worker-context`, undefined, bearer(completed.token))).status, 200, 'alive while running')
  assert.is((await t.api('POST', `/api/worker/jobs/${completed.jobId}/complete`, { coordinator_id: 'c1', claim_seq: completed.claimSeq, exit_code: 0 })).status, 200)
  await assertDead(t, completed, /is succeeded/)

  const failed = await claimedTicket(t)
  assert.is((await t.api('POST', `/api/worker/jobs/${failed.jobId}/fail`, { coordinator_id: 'c1', claim_seq: failed.claimSeq, error: 'tests failed' })).status, 200)
  await assertDead(t, failed, /is failed/)

  const cancelled = await claimedTicket(t)
  assert.is((await t.api('POST', `${cancelled.base}/cancel`)).status, 200)
  const beat = await t.api('POST', `/api/worker/jobs/${cancelled.jobId}/heartbeat`, { coordinator_id: 'c1', claim_seq: cancelled.claimSeq })
  assert.is(beat.body.cancel_requested, true)
  assert.is((await t.api('POST', `/api/worker/jobs/${cancelled.jobId}/fail`, { coordinator_id: 'c1', claim_seq: cancelled.claimSeq, error: 'cancelled on request' })).body.status, 'cancelled')
  await assertDead(t, cancelled, /is cancelled/)

  const released = await claimedTicket(t)
  assert.is((await t.api('POST', `/api/worker/jobs/${released.jobId}/release`, { coordinator_id: 'c1', claim_seq: released.claimSeq })).body.status, 'pending')
  await assertDead(t, released, /is pending/)
  // Claimed again at the same attempt: the old token stays dead, the new one works.
  const again = await t.api('POST', '/api/worker/jobs/start', { project_id: released.project.id, coordinator_id: 'c2' })
  assert.is(again.body.job_id, released.jobId)
  assert.is(again.body.attempt, 1)
  await assertDead(t, released, /was claimed again/)
  assert.is((await t.api('GET', `${released.base}/worker-context`, undefined, bearer(again.body.agent_token))).status, 200)

  const expired = await claimedTicket(t)
  await t.app.ctx.sql`update agent_jobs set lease_expires_at = now() - interval '1 hour' where id = ${expired.jobId}`
  assert.ok((await expireLeases(t.app.ctx)) >= 1)
  assert.is((await t.api('GET', `/api/jobs/${expired.jobId}`)).body.status, 'pending')
  await assertDead(t, expired, /is pending/)
})

test('a cancel request stops the token at once: every agent route is 401 but logs and cancel-requested', async ({ t }) => {
  const c = await claimedTicket(t)
  assert.is((await t.api('POST', `${c.base}/cancel`)).status, 200)
  assert.is((await t.api('GET', `/api/jobs/${c.jobId}`)).body.status, 'running', 'not reported yet: only cancel_requested is set')
  const reachable = new Set([`GET ${c.base}/cancel-requested`, `POST ${c.base}/logs`])
  for (const [method, path, body] of [...agentCalls(c.base), ['POST', `${c.base}/review/addressed`, { github_comment_id: 1 }] as [string, string, unknown]]) {
    const res = await t.api(method, path, body, bearer(c.token))
    if (reachable.has(`${method} ${path}`)) {
      assert.ok(res.status < 300, `${method} ${path}: ${res.status}`)
      continue
    }
    assertError(res, 401, undefined, `${method} ${path}`)
    assert.match(res.body.error.message, `job ${c.jobId} was cancelled`)
  }
  assert.is((await t.api('GET', c.base)).body.column_id, 'in_progress', 'complete did not move the ticket')
})

test('a job token cannot use the coordinator API', async ({ t }) => {
  const c = await claimedTicket(t)
  assertError(await t.api('POST', '/api/worker/jobs/start', {}, bearer(c.token)), 403)
  assertError(await t.api('POST', `/api/worker/jobs/${c.jobId}/heartbeat`, { coordinator_id: 'c1', claim_seq: c.claimSeq }, bearer(c.token)), 403)
  assertError(await t.api('POST', `/api/worker/jobs/${c.jobId}/complete`, { coordinator_id: 'c1', claim_seq: c.claimSeq }, bearer(c.token)), 403)
  assertError(await t.api('POST', '/api/worker/forge-token', { coordinator_id: 'c1', token: 'ghp_x' }, bearer(c.token)), 403)
  assert.is((await t.api('GET', `/api/jobs/${c.jobId}`)).body.status, 'running')
})

test.run()
