// API tokens (issue 9, acceptance 6), on PostgreSQL 15 and PGlite: a token works for a script, is
// refused after revocation, after expiry, and above its user's current role; tokens are shown once
// and stored only hashed.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { PROXIED, bearer, firstAdmin, signIn, userWithRole } from './people-helpers.ts'

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp; admin: Record<string, string> }>(`API tokens (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind })
    context.admin = await firstAdmin(context.t)
  })
  test.after(async ({ t }) => t.close())

  test('a token works for a script, is listed without its secret, and is refused once revoked', async ({ t, admin }) => {
    const dave = await userWithRole(t, admin, 'dave', 'member')
    const made = await t.api('POST', '/api/tokens', { name: 'ci', expires_in_days: 30 }, { ...PROXIED, ...dave.headers })
    assert.is(made.status, 201, JSON.stringify(made.body))
    const token = made.body.token as string
    assert.match(token, /^tpa_[A-Za-z0-9_-]{43}$/)
    assert.equal([made.body.role, made.body.name, made.body.prefix], ['member', 'ci', token.slice(0, 12)])
    const script = { ...PROXIED, ...bearer(token) }
    const project = await t.api('POST', '/api/projects', { name: 'via-token', repo_url: 'https://git.example/r.git' }, script)
    assert.is(project.status, 201, JSON.stringify(project.body))
    const listed = await t.api('GET', '/api/tokens', undefined, script)
    assert.is(listed.status, 200)
    assert.equal(listed.body.map((row: any) => row.name), ['ci'])
    assert.not.ok(JSON.stringify(listed.body).includes(token), 'the list never shows the token')
    assert.ok(listed.body[0].last_used_at, 'last use is recorded')

    const all = await t.api('GET', '/api/tokens?all=true', undefined, script)
    assertError(all, 403, undefined, 'only admins list everyone\'s tokens')
    assert.is((await t.api('GET', '/api/tokens?all=true', undefined, admin)).body.length, 1)

    const rows = JSON.stringify(await t.app.ctx.sql`select * from api_tokens`)
    assert.not.ok(rows.includes(token) || rows.includes(token.slice(4)), 'the clear token is nowhere in the table')

    assert.is((await t.api('DELETE', `/api/tokens/${made.body.id}`, undefined, { ...PROXIED, ...dave.headers })).status, 204)
    assertError(await t.api('GET', '/api/projects', undefined, script), 401, undefined, 'revoked')
    assertError(await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...bearer(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')) }), 401, undefined, 'unknown')
  })

  test('a token is refused after its expiry', async ({ t, admin }) => {
    const made = await t.api('POST', '/api/tokens', { name: 'short', expires_in_days: 1 }, admin)
    assert.is(made.status, 201)
    const script = { ...PROXIED, ...bearer(made.body.token) }
    assert.is((await t.api('GET', '/api/projects', undefined, script)).status, 200)
    await t.app.ctx.sql`update api_tokens set expires_at = now() - interval '1 second' where id = ${made.body.id}`
    assertError(await t.api('GET', '/api/projects', undefined, script), 401)
  })

  test('a token acts at most with its user\'s current role; a role above the user\'s is refused', async ({ t, admin }) => {
    const erin = await userWithRole(t, admin, 'erin', 'admin')
    const made = await t.api('POST', '/api/tokens', { name: 'admin script' }, { ...PROXIED, ...erin.headers })
    assert.is(made.body.role, 'admin')
    const script = { ...PROXIED, ...bearer(made.body.token) }
    assert.is((await t.api('GET', '/api/users', undefined, script)).status, 200)
    assert.is((await t.api('PATCH', `/api/users/${erin.id}`, { role: 'viewer' }, admin)).status, 200)
    assertError(await t.api('GET', '/api/users', undefined, script), 403, undefined, 'demoted user: the admin token is a viewer now')
    assertError(await t.api('POST', '/api/projects', { name: 'nope' }, script), 403)
    assert.is((await t.api('GET', '/api/projects', undefined, script)).status, 200, 'still reads')
    assertError(await t.api('POST', '/api/tokens', { name: 'up', role: 'member' }, { ...PROXIED, ...erin.headers }), 400, '/body/role')
    await t.api('PATCH', `/api/users/${erin.id}`, { disabled: true }, admin)
    assertError(await t.api('GET', '/api/projects', undefined, script), 401, undefined, 'disabled user')
  })

  test('revoking someone else\'s token: 404 for a member, allowed for an admin', async ({ t, admin }) => {
    const frank = await userWithRole(t, admin, 'frank', 'member')
    const grace = await userWithRole(t, admin, 'grace', 'member')
    const made = await t.api('POST', '/api/tokens', { name: 'f' }, { ...PROXIED, ...frank.headers })
    assertError(await t.api('DELETE', `/api/tokens/${made.body.id}`, undefined, { ...PROXIED, ...grace.headers }), 404)
    assert.is((await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...bearer(made.body.token) })).status, 200)
    assert.is((await t.api('DELETE', `/api/tokens/${made.body.id}`, undefined, admin)).status, 204)
    assertError(await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...bearer(made.body.token) }), 401)
  })

  test('a token cannot create tokens: 403 naming why; a session can', async ({ t, admin }) => {
    const hal = await userWithRole(t, admin, 'hal', 'member')
    const made = await t.api('POST', '/api/tokens', { name: 'parent' }, { ...PROXIED, ...hal.headers })
    assert.is(made.status, 201)
    const minted = await t.api('POST', '/api/tokens', { name: 'child' }, { ...PROXIED, ...bearer(made.body.token) })
    assertError(minted, 403)
    assert.match(minted.body.error.message, /API token cannot create API tokens/)
    assert.equal((await t.api('GET', '/api/tokens', undefined, { ...PROXIED, ...hal.headers })).body.map((row: any) => row.name), ['parent'], 'nothing was minted')
  })

  test('a password change revokes the user\'s tokens and sessions; an admin changing their own keeps only the session it came from', async ({ t, admin }) => {
    const ian = await userWithRole(t, admin, 'ian', 'member')
    const token = (await t.api('POST', '/api/tokens', { name: 'ian ci' }, { ...PROXIED, ...ian.headers })).body.token
    assert.is((await t.api('PATCH', `/api/users/${ian.id}`, { password: 'a brand new secret' }, admin)).status, 200)
    assertError(await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...bearer(token) }), 401, undefined, 'the token died with the old password')
    assertError(await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...ian.headers }), 401, undefined, 'and the session')

    const jo = await userWithRole(t, admin, 'jo', 'admin')
    const other = await signIn(t, 'jo')
    const joToken = (await t.api('POST', '/api/tokens', { name: 'jo ci' }, { ...PROXIED, ...jo.headers })).body.token
    assert.is((await t.api('PATCH', `/api/users/${jo.id}`, { password: 'jo has a new secret' }, { ...PROXIED, ...jo.headers })).status, 200)
    assert.is((await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...jo.headers })).status, 200, 'the session that changed it stays')
    assertError(await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...other }), 401, undefined, 'another session of the same user ends')
    assertError(await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...bearer(joToken) }), 401, undefined, 'the token ends')
  })

  test.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
