// Who may call what (DESIGN.md §5 Auth), on real PostgreSQL 15 and on PGlite: the worker key on the
// coordinator API (never anonymous), job-scoped tokens on their own ticket only (never the worker
// key), and the admin token off loopback.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DB_KINDS, ROOT, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { resolveAppConfig } from '../core/config.ts'
import { startApp } from '../core/app.ts'
import { createLogger } from '../core/log.ts'

const WORKER_KEY = 'worker-key-0123456789'
const ADMIN_TOKEN = 'admin-token-0123456789'
const worker = { authorization: `Bearer ${WORKER_KEY}` }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
/** No credential at all (the test client adds the worker key to worker calls otherwise). */
const anonymous = { authorization: '' }

/** A ticket with a claimed job, and the agent token the claim handed out. */
async function claimedTicket(t: TestApp, headers: Record<string, string> = {}) {
  const project = await createRunnableProject(t)
  const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' }, { ...worker, ...headers })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  return { project, ticket, job: claim.body, token: claim.body.agent_token as string, base: `/api/projects/${project.id}/tickets/${ticket.id}` }
}

/** Re-signs a token's payload with a changed field but the old signature. */
function tamper(token: string, change: (claims: any) => void): string {
  const [payload, signature] = token.slice('tj1.'.length).split('.')
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'))
  change(claims)
  return `tj1.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
}

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`auth with a worker key (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind, env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY } })
  })
  test.after(async ({ t }) => t.close())

  test('the worker API needs the worker key', async ({ t }) => {
    const project = await createRunnableProject(t)
    await createTicket(t, project.id, { column_id: 'in_progress' })
    for (const headers of [anonymous, bearer('wrong-key-0123456789'), { authorization: WORKER_KEY.slice(0, -1) }, { authorization: `Basic ${Buffer.from(`x:${WORKER_KEY}`).toString('base64')}` }]) {
      assertError(await t.api('POST', '/api/worker/jobs/start', { project_id: project.id }, headers), 401, undefined, JSON.stringify(headers))
    }
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' }, worker)
    assert.is(claim.status, 200, 'the right key claims')
    const id = claim.body.job_id
    const bound = { coordinator_id: 'c1', claim_seq: claim.body.claim_seq }
    for (const [path, body] of [[`/api/worker/jobs/${id}/heartbeat`, bound], [`/api/worker/jobs/${id}/fail`, { ...bound, error: 'x' }], [`/api/worker/jobs/${id}/complete`, bound]] as const) {
      assertError(await t.api('POST', path, body, anonymous), 401, undefined, path)
      assertError(await t.api('POST', path, body, bearer('nope-nope-nope')), 401, undefined, path)
    }
    assert.is((await t.api('GET', `/api/jobs/${id}`)).body.status, 'running', 'refused calls changed nothing')
    const beat = await t.api('POST', `/api/worker/jobs/${id}/heartbeat`, bound, worker)
    assert.is(beat.status, 200)
    assert.is((await t.api('POST', `/api/worker/jobs/${id}/complete`, { ...bound, exit_code: 0 }, worker)).body.status, 'succeeded')
    // The scheme is case-insensitive, as HTTP says.
    assert.is((await t.api('POST', '/api/worker/jobs/start', {}, { authorization: `bearer ${WORKER_KEY}` })).status, 204)
  })

  test('agent endpoints take the job token only: not the worker key, nothing else', async ({ t }) => {
    const { base, token } = await claimedTicket(t)
    for (const [method, path, body] of [['GET', `${base}/worker-context`], ['POST', `${base}/logs`, { step: 's' }], ['GET', `${base}/cancel-requested`], ['POST', `${base}/complete`, {}]] as const) {
      assertError(await t.api(method, path, body), 401, undefined, `${method} ${path} anonymous`)
      assertError(await t.api(method, path, body, bearer('wrong-key-0123456789')), 401, undefined, `${method} ${path} wrong key`)
      assertError(await t.api(method, path, body, worker), 403, undefined, `${method} ${path} worker key`)
    }
    assert.is((await t.api('GET', `${base}/worker-context`, undefined, bearer(token))).status, 200)
    assert.is((await t.api('POST', `${base}/logs`, { step: 'clone' }, bearer(token))).status, 201)
    assert.is((await t.api('GET', `${base}/cancel-requested`, undefined, bearer(token))).body.cancel_requested, false)
  })

  test('a job token cannot use the coordinator API', async ({ t }) => {
    const { job, token } = await claimedTicket(t)
    assertError(await t.api('POST', '/api/worker/jobs/start', {}, bearer(token)), 403)
    const bound = { coordinator_id: 'c1', claim_seq: job.claim_seq }
    assertError(await t.api('POST', `/api/worker/jobs/${job.job_id}/heartbeat`, bound, bearer(token)), 403)
    assertError(await t.api('POST', `/api/worker/jobs/${job.job_id}/complete`, bound, bearer(token)), 403)
    assertError(await t.api('POST', `/api/worker/jobs/${job.job_id}/fail`, { ...bound, error: 'x' }, bearer(token)), 403)
    assert.is((await t.api('GET', `/api/jobs/${job.job_id}`)).body.status, 'running')
  })

  test('a job token for ticket A is refused on ticket B and works on A', async ({ t }) => {
    const a = await claimedTicket(t)
    const b = await claimedTicket(t)
    // Same project, other ticket.
    const sibling = await createTicket(t, a.project.id)
    const siblingBase = `/api/projects/${a.project.id}/tickets/${sibling.id}`
    for (const base of [b.base, siblingBase, `/api/projects/${b.project.id}/tickets/${a.ticket.id}`]) {
      assertError(await t.api('GET', `${base}/worker-context`, undefined, bearer(a.token)), 403, undefined, base)
      assertError(await t.api('POST', `${base}/logs`, { step: 'x', summary: 'intruder' }, bearer(a.token)), 403, undefined, base)
      assertError(await t.api('POST', `${base}/complete`, { pr_number: 9 }, bearer(a.token)), 403, undefined, base)
      assertError(await t.api('GET', `${base}/cancel-requested`, undefined, bearer(a.token)), 403, undefined, base)
    }
    assert.equal((await t.api('GET', `${b.base}/logs`)).body.events, [], 'nothing was written to B')
    assert.is((await t.api('GET', b.base)).body.column_id, 'in_progress')

    const context = await t.api('GET', `${a.base}/worker-context`, undefined, bearer(a.token))
    assert.is(context.status, 200)
    assert.is(context.body.ticket.id, a.ticket.id)
    // A token also pins the job: naming another job in the body does not redirect the write.
    const logged = await t.api('POST', `${a.base}/logs`, { job_id: b.job.job_id, events: [{ step: 'clone' }] }, bearer(a.token))
    assert.is(logged.status, 201)
    const events = (await t.api('GET', `${a.base}/logs`)).body.events
    assert.equal(events.map((event: any) => event.job_id), [a.job.job_id])
    const done = await t.api('POST', `${a.base}/complete`, { summary: 'ok' }, bearer(a.token))
    assert.is(done.status, 200, JSON.stringify(done.body))
    assert.is(done.body.column_id, 'in_review')
  })

  test('an expired, tampered or foreign token is 401', async ({ t }) => {
    const { base, job, ticket, project, token } = await claimedTicket(t)
    const expired = t.app.ctx.secrets.signJobToken({ jobId: job.job_id, ticketId: ticket.id, projectId: project.id, attempt: 1, claim: 1, exp: Math.floor(Date.now() / 1000) - 5 })
    const forged = [
      expired,
      tamper(token, (claims) => (claims.exp += 3600)),
      tamper(token, (claims) => (claims.ticketId += 1)),
      tamper(token, (claims) => (claims.attempt += 1)),
      token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'),
      `${token.split('.').slice(0, 2).join('.')}.`,
      'tj1.',
      'tj1.bm90IGpzb24.c2ln',
    ]
    for (const bad of forged) {
      assertError(await t.api('GET', `${base}/worker-context`, undefined, bearer(bad)), 401, undefined, bad.slice(0, 40))
      assertError(await t.api('POST', `${base}/logs`, { step: 'x' }, bearer(bad)), 401, undefined, bad.slice(0, 40))
    }
    assert.equal((await t.api('GET', `${base}/logs`)).body.events, [])
    // A token signed with another app's key is worthless here.
    const other = await startTestApp({ kind: 'pglite', env: { TERARCHITECT_SECRET_KEY: 'another-key-entirely-0123456789' } })
    try {
      const foreign = other.app.ctx.secrets.signJobToken({ jobId: job.job_id, ticketId: ticket.id, projectId: project.id, attempt: 1, claim: 1, exp: Math.floor(Date.now() / 1000) + 600 })
      assertError(await t.api('GET', `${base}/worker-context`, undefined, bearer(foreign)), 401)
    } finally {
      await other.close()
    }
  })

  test('on loopback without an admin token, people routes are open', async ({ t }) => {
    assert.is((await t.api('GET', '/api/projects')).status, 200)
    assert.is((await t.api('GET', '/api/health')).status, 200)
    assert.is((await t.api('GET', '/api/projects', undefined, worker)).status, 200)
  })

  test.run()
}

const exposed = suite('auth off loopback')

/** The configuration error startApp throws for `env`, or undefined when it started. */
async function startError(dataDir: string, env: Record<string, string>): Promise<any> {
  const config = resolveAppConfig({ PORT: '0', TERARCHITECT_DATA_DIR: dataDir, LOG_LEVEL: 'error', ...env })
  try {
    const app = await startApp({ config, migrationsDir: join(ROOT, 'sql'), log: createLogger('error') })
    await app.close()
    return undefined
  } catch (caught) {
    return caught
  }
}

exposed('binding off loopback with no account and no TERARCHITECT_ADMIN_TOKEN refuses to start, saying why', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'terarchitect-auth-'))
  try {
    const envs: Record<string, string>[] = [
      { HOST: '0.0.0.0', TERARCHITECT_WORKER_API_KEY: WORKER_KEY },
      { HOST: '0.0.0.0', TERARCHITECT_ADMIN_TOKEN: ADMIN_TOKEN },
      { HOST: '0.0.0.0' },
      { HOST: '::' },
      { HOST: '192.0.2.10', TERARCHITECT_WORKER_API_KEY: WORKER_KEY },
    ]
    for (const env of envs) {
      const error = await startError(dataDir, env)
      assert.ok(error, `${JSON.stringify(env)} must refuse to start`)
      assert.is(error.code, 'insecure_bind', JSON.stringify(env))
      assert.match(error.message, env.HOST!)
    }
    // With the browser boundary configured, what is missing is someone who can sign in.
    const error = await startError(dataDir, { HOST: '0.0.0.0', ALLOWED_HOSTS: '127.0.0.1', TERARCHITECT_WORKER_API_KEY: WORKER_KEY })
    assert.is(error?.code, 'insecure_bind')
    assert.match(error.message, /TERARCHITECT_ADMIN_TOKEN/)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})

exposed('once an account exists, binding off loopback needs no TERARCHITECT_ADMIN_TOKEN', async () => {
  const local = await startTestApp({ kind: 'pglite' })
  const setup = await local.api('POST', '/api/auth/setup', { login: 'root', password: 'correct horse battery' })
  assert.is(setup.status, 201, JSON.stringify(setup.body))
  await local.stop()
  try {
    const error = await startError(local.dataDir, { HOST: '0.0.0.0', ALLOWED_HOSTS: '127.0.0.1', TERARCHITECT_WORKER_API_KEY: WORKER_KEY })
    assert.is(error, undefined, String(error?.message))
  } finally {
    rmSync(local.dataDir, { recursive: true, force: true })
  }
})

exposed.run()

for (const kind of DB_KINDS) {
  const off = suite<{ t: TestApp }>(`auth on 0.0.0.0 with both tokens (${kind})`)
  off.before(async (context) => {
    context.t = await startTestApp({ kind, env: { HOST: '0.0.0.0', ALLOWED_HOSTS: '127.0.0.1', TERARCHITECT_ADMIN_TOKEN: ADMIN_TOKEN, TERARCHITECT_WORKER_API_KEY: WORKER_KEY } })
    assert.match(context.t.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'tests talk over loopback only')
  })
  off.after(async ({ t }) => t.close())

  off('people routes need the admin token', async ({ t }) => {
    const admin = bearer(ADMIN_TOKEN)
    const people: [string, string, unknown?][] = [
      ['GET', '/api/projects'],
      ['POST', '/api/projects', { name: 'nope' }],
      ['GET', '/api/settings'],
      ['PUT', '/api/settings', { values: { WORKER_MODE: 'codex' } }],
      ['GET', '/api/settings/check'],
      ['GET', '/api/jobs'],
      ['GET', '/api/projects/1'],
      ['GET', '/api/events'],
    ]
    for (const [method, path, body] of people) {
      for (const headers of [{}, bearer('wrong-token-0123456789'), worker]) {
        assertError(await t.api(method, path, body, headers), 401, undefined, `${method} ${path} ${JSON.stringify(headers)}`)
      }
    }
    assert.equal((await t.api('GET', '/api/projects', undefined, admin)).body, [], 'refused calls created nothing')
    assert.is((await t.api('GET', '/api/health')).status, 200, 'health stays public')
    const created = await t.api('POST', '/api/projects', { name: 'ok', repo_url: 'https://git.example/r.git' }, admin)
    assert.is(created.status, 201)
    assert.is((await t.api('GET', `/api/projects/${created.body.id}`, undefined, admin)).status, 200)
    const ticket = await t.api('POST', `/api/projects/${created.body.id}/tickets`, { title: 't', column_id: 'in_progress' }, admin)
    assert.is(ticket.status, 201)

    // The coordinator still uses the worker key; the admin token is not a worker key.
    assertError(await t.api('POST', '/api/worker/jobs/start', {}, admin), 401)
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: created.body.id }, worker)
    assert.is(claim.status, 200)
    const base = `/api/projects/${created.body.id}/tickets/${ticket.body.id}`
    assert.is((await t.api('GET', `${base}/worker-context`, undefined, bearer(claim.body.agent_token))).status, 200)
    assertError(await t.api('GET', base, undefined, bearer(claim.body.agent_token)), 401, undefined, 'a job token is not an admin token')
  })

  off.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
