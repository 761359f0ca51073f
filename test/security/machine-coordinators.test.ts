// Issue 10: coordinators hold no secrets. Coordinator tokens (shown once, stored hashed, limited to
// projects, revocable); a claim binds the job to its credential and instance (acceptance 6); a
// coordinator's GITHUB_TOKEN is handed to the app once, stored encrypted; replicas agree on the
// generated worker key.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from '../helpers.ts'
import { assertError, snapshotTables } from '../api-helpers.ts'
import { coordinatorForgeToken } from '../../core/services/coordinator-forge-token.ts'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const anonymous = { authorization: '' }

async function newToken(t: TestApp, body: Record<string, unknown>) {
  const res = await t.api('POST', '/api/coordinators/tokens', body)
  assert.is(res.status, 201, JSON.stringify(res.body))
  return res.body as { id: number; token: string; prefix: string; project_ids: number[] | null }
}

const test = suite<{ t: TestApp }>('coordinator tokens and job binding')
test.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
})
test.after(async ({ t }) => t.close())

test('tokens are shown once, stored hashed, listed without the secret, revocable', async ({ t }) => {
  const created = await newToken(t, { name: 'build-host-1' })
  assert.match(created.token, /^tco_[A-Za-z0-9_-]{43}$/)
  assert.ok(created.token.startsWith(created.prefix))
  const list = await t.api('GET', '/api/coordinators/tokens')
  assert.is(list.status, 200)
  const listed = list.body.find((row: any) => row.id === created.id)
  assert.is(listed.name, 'build-host-1')
  assert.is(listed.project_ids, null)
  assert.not.ok(JSON.stringify(list.body).includes(created.token), 'the list never shows a token')
  assert.not.ok(JSON.stringify(await snapshotTables(t)).includes(created.token), 'only a hash is stored')

  assert.is((await t.api('POST', '/api/worker/jobs/start', { coordinator_id: 'h1' }, bearer(created.token))).status, 204)
  assert.is((await t.api('DELETE', `/api/coordinators/tokens/${created.id}`)).status, 204)
  assertError(await t.api('POST', '/api/worker/jobs/start', { coordinator_id: 'h1' }, bearer(created.token)), 401, undefined, 'revoked')
  assert.ok((await t.api('GET', '/api/coordinators/tokens')).body.find((row: any) => row.id === created.id).revoked_at)
  // Both are in the audit trail, without the token.
  for (const action of ['coordinator_token.create', 'coordinator_token.revoke']) {
    const audit = await t.api('GET', `/api/audit?action=${action}`)
    assert.is(audit.status, 200)
    assert.ok(audit.body.entries.some((entry: any) => entry.target_id === String(created.id)), action)
    assert.not.ok(JSON.stringify(audit.body).includes(created.token))
  }
  assertError(await t.api('DELETE', '/api/coordinators/tokens/999999'), 404)
  // Bad input names the field.
  assertError(await t.api('POST', '/api/coordinators/tokens', { name: '' }), 400, '/body/name')
  assertError(await t.api('POST', '/api/coordinators/tokens', { name: 'x', project_ids: [999999] }), 400, '/body/project_ids/0')
  assertError(await t.api('POST', '/api/coordinators/tokens', { name: 'x', secret: 'y' }), 400)
})

test('acceptance 6: one coordinator cannot heartbeat, complete, fail or release the other\'s job', async ({ t }) => {
  const a = await newToken(t, { name: 'coordinator-a' })
  const b = await newToken(t, { name: 'coordinator-b' })
  const project = await createRunnableProject(t)
  await createTicket(t, project.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'a-1' }, bearer(a.token))
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  const id = claim.body.job_id
  const claimSeq = claim.body.claim_seq
  const before = (await t.api('GET', `/api/jobs/${id}`)).body
  // B, whatever coordinator_id it claims to be, and the worker key are other credentials.
  for (const headers of [bearer(b.token), bearer(t.workerKey)]) {
    for (const coordinatorId of ['a-1', 'b-1']) {
      const bound = { coordinator_id: coordinatorId, claim_seq: claimSeq }
      assertError(await t.api('POST', `/api/worker/jobs/${id}/heartbeat`, bound, headers), 403, undefined, `heartbeat ${coordinatorId}`)
      assertError(await t.api('POST', `/api/worker/jobs/${id}/complete`, { ...bound, exit_code: 0 }, headers), 403, undefined, `complete ${coordinatorId}`)
      assertError(await t.api('POST', `/api/worker/jobs/${id}/fail`, { ...bound, error: 'stolen' }, headers), 403, undefined, `fail ${coordinatorId}`)
      assertError(await t.api('POST', `/api/worker/jobs/${id}/release`, bound, headers), 403, undefined, `release ${coordinatorId}`)
      assertError(await t.api('POST', `/api/worker/jobs/${id}/executor`, { ...bound, executor: 'local' }, headers), 403, undefined, `executor ${coordinatorId}`)
    }
  }
  const after = (await t.api('GET', `/api/jobs/${id}`)).body
  assert.equal({ ...after, lease_expires_at: null }, { ...before, lease_expires_at: null }, 'the job is untouched')
  // Another instance under A's own credential: the job is not its either (409, as a lost lease).
  assertError(await t.api('POST', `/api/worker/jobs/${id}/heartbeat`, { coordinator_id: 'a-2', claim_seq: claimSeq }, bearer(a.token)), 409)
  assertError(await t.api('POST', `/api/worker/jobs/${id}/executor`, { coordinator_id: 'a-2', claim_seq: claimSeq, executor: 'local' }, bearer(a.token)), 409, '/job/status')
  // The bound calls need coordinator_id and the claim.
  assertError(await t.api('POST', `/api/worker/jobs/${id}/heartbeat`, { claim_seq: claimSeq }, bearer(a.token)), 400, '/body/coordinator_id')
  assertError(await t.api('POST', `/api/worker/jobs/${id}/complete`, { claim_seq: claimSeq, exit_code: 0 }, bearer(a.token)), 400, '/body/coordinator_id')
  assertError(await t.api('POST', `/api/worker/jobs/${id}/heartbeat`, { coordinator_id: 'a-1' }, bearer(a.token)), 400, '/body/claim_seq')
  assertError(await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'a-1', exit_code: 0 }, bearer(a.token)), 400, '/body/claim_seq')
  // The holder can.
  assert.is((await t.api('POST', `/api/worker/jobs/${id}/heartbeat`, { coordinator_id: 'a-1', claim_seq: claimSeq }, bearer(a.token))).status, 200)
  assert.is((await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'a-1', claim_seq: claimSeq, exit_code: 0 }, bearer(a.token))).body.status, 'succeeded')
  // A finished job stays the holder's: B cannot read it back through a "idempotent" report.
  assertError(await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'b-1', claim_seq: claimSeq, exit_code: 0 }, bearer(b.token)), 403)
})

test('a token limited to projects claims only their jobs', async ({ t }) => {
  const mine = await createRunnableProject(t)
  const other = await createRunnableProject(t)
  const limited = await newToken(t, { name: 'limited', project_ids: [mine.id] })
  assert.equal(limited.project_ids, [mine.id])
  const otherTicket = await createTicket(t, other.id, { column_id: 'in_progress' })
  // Not asked for a project: only its own are searched (the other project's job stays pending).
  assert.is((await t.api('POST', '/api/worker/jobs/start', { coordinator_id: 'l-1' }, bearer(limited.token))).status, 204)
  assertError(await t.api('POST', '/api/worker/jobs/start', { coordinator_id: 'l-1', project_ids: [mine.id, other.id] }, bearer(limited.token)), 403, '/body/project_ids/1')
  assertError(await t.api('POST', '/api/worker/jobs/start', { coordinator_id: 'l-1', project_id: other.id }, bearer(limited.token)), 403)
  const mineTicket = await createTicket(t, mine.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { coordinator_id: 'l-1' }, bearer(limited.token))
  assert.is(claim.status, 200)
  assert.is(claim.body.ticket_id, mineTicket.id)
  const otherJob = (await t.api('GET', `/api/projects/${other.id}/tickets/${otherTicket.id}`)).body.job
  assert.is(otherJob.status, 'pending')
  // Its bound calls on another project's job are refused too.
  const full = await t.api('POST', '/api/worker/jobs/start', { coordinator_id: 'w-1', project_id: other.id })
  assert.is(full.status, 200)
  assertError(await t.api('POST', `/api/worker/jobs/${full.body.job_id}/heartbeat`, { coordinator_id: 'w-1', claim_seq: full.body.claim_seq }, bearer(limited.token)), 403)
  assertError(await t.api('POST', `/api/worker/jobs/${full.body.job_id}/executor`, { coordinator_id: 'w-1', claim_seq: full.body.claim_seq, executor: 'local' }, bearer(limited.token)), 403)
})

test('a coordinator\'s GITHUB_TOKEN is handed once, stored encrypted, used only for its projects', async ({ t }) => {
  const served = await createRunnableProject(t)
  const unserved = await createRunnableProject(t)
  const limited = await newToken(t, { name: 'forge', project_ids: [served.id] })
  const secret = 'ghp_coordinator_handed_0123456789abcdef'
  assertError(await t.api('POST', '/api/worker/forge-token', { coordinator_id: 'f-1', token: secret }, anonymous), 401)
  assertError(await t.api('POST', '/api/worker/forge-token', { coordinator_id: 'f-1', token: secret, project_ids: [unserved.id] }, bearer(limited.token)), 403, '/body/project_ids/0')
  assert.is((await t.api('POST', '/api/worker/forge-token', { coordinator_id: 'f-1', token: secret }, bearer(limited.token))).status, 204)
  assert.not.ok(JSON.stringify(await snapshotTables(t)).includes(secret), 'stored encrypted')
  assert.is(await coordinatorForgeToken(t.app.ctx, served.id), secret)
  assert.is(await coordinatorForgeToken(t.app.ctx, unserved.id), null)
  const rows = await t.app.ctx.sql`select source, coordinator_id, project_ids from forge_tokens`
  assert.equal(rows.map((row) => ({ ...row })), [{ source: 'coordinator', coordinator_id: 'f-1', project_ids: [served.id] }])
  // Revoking the coordinator's token drops what it handed over.
  assert.is((await t.api('DELETE', `/api/coordinators/tokens/${limited.id}`)).status, 204)
  assert.is(await coordinatorForgeToken(t.app.ctx, served.id), null)
})

test('coordinator token routes are for admins: refused to an anonymous non-local caller', async ({ t }) => {
  // A forwarded request is not local (boundary.ts), so it needs a person's credential.
  const forwarded = { 'x-forwarded-for': '203.0.113.9' }
  assertError(await t.api('GET', '/api/coordinators/tokens', undefined, forwarded), 401)
  assertError(await t.api('POST', '/api/coordinators/tokens', { name: 'x' }, forwarded), 401)
  assertError(await t.api('DELETE', '/api/coordinators/tokens/1', undefined, forwarded), 401)
  // Machine credentials are not people's.
  assertError(await t.api('GET', '/api/coordinators/tokens', undefined, { ...forwarded, ...bearer(t.workerKey) }), 401)
})

test.run()

const replicas = suite<{ a: TestApp; b: TestApp }>('two app replicas on one PostgreSQL agree on the generated worker key')
replicas.before(async (context) => {
  context.a = await startTestApp({ kind: 'postgres', env: { TERARCHITECT_SECRET_KEY: 'shared-secret-key-for-replicas' } })
  context.b = await startTestApp({ kind: 'postgres', env: { DATABASE_URL: context.a.env.DATABASE_URL!, TERARCHITECT_SECRET_KEY: 'shared-secret-key-for-replicas' } })
})
replicas.after(async ({ a, b }) => {
  await b.close()
  await a.close()
})

replicas('both accept the key A generated; anonymous is 401 on both', async ({ a, b }) => {
  assert.ok(a.workerKey.startsWith('twk_'))
  assert.not.ok(existsSync(join(b.dataDir, 'worker.key')), 'B did not make a key of its own')
  for (const app of [a, b]) {
    assert.is((await app.api('POST', '/api/worker/jobs/start', { coordinator_id: 'r' }, bearer(a.workerKey))).status, 204)
    assertError(await app.api('POST', '/api/worker/jobs/start', { coordinator_id: 'r' }, anonymous), 401)
  }
  // A token created on A works on B at once, and its revocation on B is seen by A.
  const created = await newToken(a, { name: 'replicated' })
  assert.is((await b.api('POST', '/api/worker/jobs/start', { coordinator_id: 'r' }, bearer(created.token))).status, 204)
  assert.is((await b.api('DELETE', `/api/coordinators/tokens/${created.id}`)).status, 204)
  assertError(await a.api('POST', '/api/worker/jobs/start', { coordinator_id: 'r' }, bearer(created.token)), 401)
})
replicas.after(stopOwnCluster)
replicas.run()
