// Accounts, setup, sign-in and sessions (issue 9, acceptance 3/4 backend, 6), on PostgreSQL 15 and
// PGlite: the first admin needs the printed code unless local, sessions are cookies stored hashed
// that end at logout and when the user is disabled, and the live stream ends with its session.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError, openEvents } from './api-helpers.ts'
import { PASSWORD, PROXIED, cookieOf, firstAdmin, openStream, signIn, userWithRole, within } from './people-helpers.ts'
import { sha256 } from '../core/services/sessions.ts'
import { lockFirstUser, upsertExternalUser } from '../core/services/users.ts'

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`accounts (${kind})`)
  test.before.each(async (context) => {
    context.t = await startTestApp({ kind })
  })
  test.after.each(async ({ t }) => t.close())

  test('zero setup: local is the admin until the first account exists', async ({ t }) => {
    const me = await t.api('GET', '/api/auth/me')
    assert.equal(me.body, { user: null, local: true, role: 'admin', setup_required: true, methods: { password: true, oidc: false, github: false } })
    assert.is((await t.api('GET', '/api/projects')).status, 200)
    assert.ok(t.app.setupCode && /^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/.test(t.app.setupCode), 'a setup code was issued')
    await firstAdmin(t)
    assertError(await t.api('GET', '/api/projects'), 401, undefined, 'local requests need a credential once an account exists')
    const after = await t.api('GET', '/api/auth/me')
    assert.equal([after.body.user, after.body.local, after.body.setup_required], [null, false, false])
  })

  test('setup from behind a proxy needs the printed code; a second setup is 409', async ({ t }) => {
    const body = { login: 'alice', password: PASSWORD, display_name: 'Alice' }
    const me = await t.api('GET', '/api/auth/me', undefined, PROXIED)
    assert.equal([me.body.local, me.body.user, me.body.setup_required], [false, null, true], 'a forwarded request is not local')
    assertError(await t.api('GET', '/api/projects', undefined, PROXIED), 401)
    assertError(await t.api('POST', '/api/auth/setup', body, PROXIED), 403, '/body/setup_code')
    assertError(await t.api('POST', '/api/auth/setup', { ...body, setup_code: 'aaaa-bbbb-cccc-dddd' }, PROXIED), 403, '/body/setup_code')
    assert.equal((await t.app.ctx.sql`select count(*)::int as n from users`)[0]!.n, 0, 'refused setups created nobody')
    const ok = await t.api('POST', '/api/auth/setup', { ...body, setup_code: t.app.setupCode }, PROXIED)
    assert.is(ok.status, 201, JSON.stringify(ok.body))
    assert.equal(ok.body.user, { id: ok.body.user.id, login: 'alice', display_name: 'Alice', role: 'admin' })
    const cookie = { cookie: cookieOf(ok) }
    assert.is((await t.api('GET', '/api/auth/me', undefined, { ...PROXIED, ...cookie })).body.user.login, 'alice')
    assert.is((await t.app.ctx.sql`select * from setup_codes`).length, 0, 'codes are gone with the first account')
    assertError(await t.api('POST', '/api/auth/setup', { ...body, login: 'mallory', setup_code: t.app.setupCode }, PROXIED), 409)
    assertError(await t.api('POST', '/api/auth/setup', { ...body, login: 'mallory' }), 409, undefined, 'not even locally')
  })

  test('login, me, logout; the cookie is HttpOnly, SameSite=Lax, Path=/ and not Secure on http', async ({ t }) => {
    const admin = await firstAdmin(t)
    await t.api('POST', '/api/users', { login: 'Bob', password: PASSWORD, role: 'member' }, admin)
    const res = await t.api('POST', '/api/auth/login', { login: 'bob', password: PASSWORD }, PROXIED)
    assert.is(res.status, 200, 'logins ignore case')
    assert.equal(res.body.user.login, 'Bob')
    const flags = res.headers.get('set-cookie')!
    assert.match(flags, /^terarchitect_session=[A-Za-z0-9_-]{43};/)
    for (const flag of ['HttpOnly', 'SameSite=Lax', 'Path=/', 'Max-Age=604800']) assert.ok(flags.includes(flag), `${flag} in ${flags}`)
    assert.not.ok(/Secure/.test(flags), 'no Secure flag on a plain-http app')
    const cookie = { cookie: cookieOf(res) }
    const me = await t.api('GET', '/api/auth/me', undefined, { ...PROXIED, ...cookie })
    assert.equal([me.body.user.login, me.body.user.role, me.body.local], ['Bob', 'member', false])
    assert.is((await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...cookie })).status, 200)

    // A new sign-in issues a new id; the old one stays valid until its own logout.
    const again = await signIn(t, 'bob')
    assert.is.not(again.cookie, cookie.cookie)
    const stream = await openStream(t, { ...PROXIED, ...cookie })
    assert.is(stream.status, 200)
    const out = await t.api('POST', '/api/auth/logout', {}, { ...PROXIED, ...cookie })
    assert.ok(await within(stream.ended, 5000), 'logout ended the session\'s stream')
    assert.is(out.status, 204)
    assert.match(out.headers.get('set-cookie')!, /Max-Age=0/)
    assertError(await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...cookie }), 401, undefined, 'revoked at once')
    assert.is((await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...again })).status, 200)

    for (const wrong of [{ login: 'bob', password: 'not the password' }, { login: 'nobody', password: PASSWORD }]) {
      const refused = await t.api('POST', '/api/auth/login', wrong, PROXIED)
      assertError(refused, 401)
      assert.is(refused.body.error.message, 'wrong login or password', 'one message for both')
    }
  })

  test('session ids are stored only hashed; setup with the admin token; a Secure cookie when PUBLIC_URL is https', async ({ t }) => {
    const admin = await firstAdmin(t)
    const id = admin.cookie!.split('=')[1]!
    const rows = JSON.stringify(await t.app.ctx.sql`select * from sessions`)
    assert.not.ok(rows.includes(id), 'the clear session id is nowhere in the table')
    assert.ok(rows.includes(sha256(id)), 'its SHA-256 is')
    const secure = await startTestApp({ kind: 'pglite', env: { PUBLIC_URL: 'https://tera.example', TERARCHITECT_ADMIN_TOKEN: 'setup-admin-token-0123' } })
    try {
      const site = { host: 'tera.example', origin: 'https://tera.example' }
      assertError(await secure.api('POST', '/api/auth/setup', { login: 'root', password: PASSWORD }, site), 403, '/body/setup_code')
      // The admin token stands in for the printed code.
      const res = await secure.api('POST', '/api/auth/setup', { login: 'root', password: PASSWORD }, { ...site, authorization: 'Bearer setup-admin-token-0123' })
      assert.is(res.status, 201, JSON.stringify(res.body))
      const flags = res.headers.get('set-cookie')!
      assert.match(flags, /^__Host-terarchitect_session=[A-Za-z0-9_-]{43};/, 'the __Host- prefix when Secure')
      for (const flag of ['; Secure', '; Path=/;', 'HttpOnly']) assert.ok(flags.includes(flag), `${flag} in ${flags}`)
      assert.not.ok(/Domain=/i.test(flags), 'no Domain on a __Host- cookie')
      const cookie = cookieOf(res)
      assert.is((await secure.api('GET', '/api/auth/me', undefined, { ...site, cookie })).body.user.login, 'root', 'the prefixed cookie signs in')
      const plain = cookie.replace(/^__Host-/, '')
      assert.is((await secure.api('GET', '/api/auth/me', undefined, { ...site, cookie: plain })).body.user, null, 'the unprefixed name is not read over https')
      const out = await secure.api('POST', '/api/auth/logout', undefined, { ...site, cookie })
      assert.match(out.headers.get('set-cookie') ?? '', /^__Host-terarchitect_session=; Path=\/; Max-Age=0/, 'logout clears the prefixed cookie')
    } finally {
      await secure.close()
    }
  })

  test('off loopback, a signed-in viewer\'s live stream (over the cookie) sees a member move a ticket', async ({ t }) => {
    const admin = await firstAdmin(t)
    const member = { ...PROXIED, ...(await userWithRole(t, admin, 'mo', 'member')).headers }
    const viewer = { ...PROXIED, ...(await userWithRole(t, admin, 'val', 'viewer')).headers }
    const project = await t.api('POST', '/api/projects', { name: 'live', repo_url: 'https://git.example/r.git' }, member)
    const ticket = await t.api('POST', `/api/projects/${project.body.id}/tickets`, { title: 'watch me' }, member)
    const stream = await openEvents(t, `/api/events?project_id=${project.body.id}`, { headers: viewer })
    assert.is(stream.status, 200)
    const path = `/api/projects/${project.body.id}/tickets/${ticket.body.id}`
    assertError(await t.api('PATCH', path, { column_id: 'in_review' }, viewer), 403, undefined, 'the viewer cannot move it')
    assert.is((await t.api('PATCH', path, { column_id: 'in_review' }, member)).status, 200)
    const seen = await stream.next((m) => m.event === 'ticket.updated' && m.data.ticket?.column_id === 'in_review', 20000, 'the move')
    assert.is(seen.data.ticket.id, ticket.body.id)
    stream.close()
  })

  test('disabling a user ends their sessions and live stream at once; the last admin stays', async ({ t }) => {
    const admin = await firstAdmin(t)
    const carol = await userWithRole(t, admin, 'carol', 'member')
    const stream = await openStream(t, { ...PROXIED, ...carol.headers })
    assert.is(stream.status, 200)
    const patch = await t.api('PATCH', `/api/users/${carol.id}`, { disabled: true }, admin)
    assert.is(patch.status, 200, JSON.stringify(patch.body))
    assertError(await t.api('GET', '/api/projects', undefined, { ...PROXIED, ...carol.headers }), 401)
    assertError(await t.api('POST', '/api/auth/login', { login: 'carol', password: PASSWORD }, PROXIED), 401)
    const [root] = await t.app.ctx.sql`select id from users where login = 'root'`
    assertError(await t.api('PATCH', `/api/users/${root!.id}`, { role: 'member' }, admin), 409, '/body/role')
    assertError(await t.api('PATCH', `/api/users/${root!.id}`, { disabled: true }, admin), 409, '/body/disabled')
    assert.ok(await within(stream.ended, 5000), 'the stream of the disabled user ended')
    stream.close()
  })

  test('external identities: found by provider and subject, logins de-duplicated, a disabled user refused', async ({ t }) => {
    const admin = await firstAdmin(t, 'dana')
    const ctx = t.app.ctx
    const first = await upsertExternalUser(ctx, { provider: 'oidc:https://id.example', subject: 's-1', login: 'Dana', displayName: 'Dana D', email: 'dana@example.com', role: 'member' })
    assert.equal([first.login, first.role, first.display_name, first.email], ['Dana-2', 'member', 'Dana D', 'dana@example.com'], 'the taken login (any case) gets a suffix')
    const again = await upsertExternalUser(ctx, { provider: 'oidc:https://id.example', subject: 's-1', login: 'renamed', role: 'admin' })
    assert.equal([again.id, again.role], [first.id, 'member'], 'the same subject is the same user, and keeps its role')
    const other = await upsertExternalUser(ctx, { provider: 'github', subject: 's-1', login: 'dana', role: 'viewer' })
    assert.is.not(other.id, first.id, 'another provider is another identity')
    await t.api('PATCH', `/api/users/${first.id}`, { disabled: true }, admin)
    try {
      await upsertExternalUser(ctx, { provider: 'oidc:https://id.example', subject: 's-1', login: 'x', role: 'member' })
      assert.unreachable('a disabled user must be refused')
    } catch (error: any) {
      assert.is(error.status, 403)
    }
  })

  test('the first account: a first single sign-on waits for a setup in progress, then is not the first', async ({ t }) => {
    const ctx = t.app.ctx
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const lockTaken = new Promise<void>((resolve) => (locked = resolve))
    // A setup in progress: holds the first-account lock, has seen no account, creates the admin.
    const setup = ctx.sql.begin(async (tx) => {
      assert.is((await lockFirstUser(tx)).usersExist, false)
      locked()
      await held
      await tx`insert into users (login, display_name, role) values ('root', 'root', 'admin')`
    })
    await lockTaken
    const sso = upsertExternalUser(ctx, { provider: 'github', subject: 'first-1', login: 'octo', role: 'member' })
    assert.not.ok(await within(sso, 400), 'the sign-on waits for the setup holding the lock')
    release()
    await setup
    const user = await sso
    assert.equal([user.login, user.role], ['octo', 'member'], 'after the setup it is an ordinary sign-on')
    assert.equal((await ctx.sql`select login from users order by id`).map((row) => row.login), ['root', 'octo'])
  })

  test('a first single sign-on that would not be an admin is refused, inside the lock', async ({ t }) => {
    try {
      await upsertExternalUser(t.app.ctx, { provider: 'github', subject: 'm-1', login: 'member1', role: 'member' })
      assert.unreachable('the first account must be an admin')
    } catch (error: any) {
      assert.is(error.status, 403)
      assert.match(error.message, /no admin exists yet/)
    }
    assert.is((await t.app.ctx.sql`select count(*)::int as n from users`)[0]!.n, 0)
  })

  test.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
