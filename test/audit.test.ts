// The audit trail (issue 9, acceptance 8), on PostgreSQL 15 and PGlite: ticket moves, run, stop,
// retry, settings, user and token changes, sign-ins and failed sign-ins are recorded with the
// actor, address and target, and read back through GET /api/audit (admins only, paginated).
// A job records who started it, and the ticket's activity says "moved to In Progress by …".
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { PASSWORD, PROXIED, firstAdmin, userWithRole } from './people-helpers.ts'

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`audit (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind })
  })
  test.after(async ({ t }) => t.close())

  test('the actions are read back through the API with their actor', async ({ t }) => {
    const admin = await firstAdmin(t, 'root')
    const alice = await userWithRole(t, admin, 'alice', 'member')
    const as = { ...PROXIED, ...alice.headers }
    await t.api('POST', '/api/auth/login', { login: 'alice', password: 'wrong password' }, PROXIED)
    const project = await t.api('POST', '/api/projects', { name: 'audited', repo_url: 'https://git.example/r.git' }, as)
    const pid = project.body.id
    const ticket = await t.api('POST', `/api/projects/${pid}/tickets`, { title: 'audit me' }, as)
    const base = `/api/projects/${pid}/tickets/${ticket.body.id}`
    const moved = await t.api('PATCH', base, { column_id: 'in_progress' }, as)
    assert.is(moved.status, 200, JSON.stringify(moved.body))
    const jobId = moved.body.job.job_id
    const job = await t.api('GET', `/api/jobs/${jobId}`, undefined, as)
    assert.equal([job.body.started_by, job.body.started_by_user_id], ['alice', alice.id], 'the job records who started it')
    const activity = await t.api('GET', `${base}/logs`, undefined, as)
    assert.ok(activity.body.events.some((event: any) => event.summary === 'moved to In Progress by alice'), JSON.stringify(activity.body))
    assert.is((await t.api('POST', `${base}/cancel`, {}, as)).status, 200)
    assert.is((await t.api('POST', `/api/jobs/${jobId}/retry`, {}, as)).status, 201)
    assert.is((await t.api('PUT', '/api/settings', { values: { WORKER_MODE: 'codex' } }, admin)).status, 200)
    const token = await t.api('POST', '/api/tokens', { name: 'script' }, as)
    await t.api('DELETE', `/api/tokens/${token.body.id}`, undefined, as)

    assertError(await t.api('GET', '/api/audit', undefined, as), 403, undefined, 'members do not read the audit trail')
    const all = await t.api('GET', '/api/audit?limit=100', undefined, admin)
    assert.is(all.status, 200)
    const seen = all.body.entries.map((entry: any) => `${entry.action} ${entry.actor_label}`)
    for (const expected of [
      'auth.setup local', 'auth.login root', 'user.create root', 'auth.login alice', 'auth.login_failed alice',
      'project.create alice', 'ticket.move alice', 'job.cancel alice', 'job.retry alice', 'settings.update root',
      'token.create alice', 'token.revoke alice',
    ]) assert.ok(seen.includes(expected), `${expected} in ${JSON.stringify(seen)}`)
    const move = all.body.entries.find((entry: any) => entry.action === 'ticket.move')
    assert.equal([move.actor_user_id, move.address, move.target_type, move.target_id, move.project_id, move.details],
      [alice.id, '127.0.0.1', 'ticket', String(ticket.body.id), pid, { from: 'backlog', to: 'in_progress' }])

    // Filters and pages.
    const mine = await t.api('GET', '/api/audit?actor=ALICE&action=ticket.move', undefined, admin)
    assert.equal(mine.body.entries.map((entry: any) => entry.action), ['ticket.move'])
    assert.is((await t.api('GET', `/api/audit?project_id=${pid}`, undefined, admin)).body.entries.every((entry: any) => entry.project_id === pid), true)
    const ids: number[] = []
    let before: number | null = null
    for (;;) {
      const page: any = await t.api('GET', `/api/audit?limit=3${before ? `&before=${before}` : ''}`, undefined, admin)
      ids.push(...page.body.entries.map((entry: any) => entry.id))
      if (!page.body.next_before) break
      before = page.body.next_before
    }
    assert.equal(ids, all.body.entries.map((entry: any) => entry.id), 'pages walk the whole trail, newest first, once')
    assert.not.ok(JSON.stringify(all.body).includes(PASSWORD), 'no password in the trail')
  })

  test.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
