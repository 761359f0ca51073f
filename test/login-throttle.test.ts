// Sign-in throttling (issue 9, acceptance 9): the 11th bad password for an account within a minute
// gets 429 with Retry-After, across two app replicas on one PostgreSQL, even with the right
// password; a per-address cap stops guessing across many accounts; the state is in the database.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { PASSWORD, PROXIED, firstAdmin } from './people-helpers.ts'
import { ACCOUNT_LIMIT, ADDRESS_LIMIT } from '../core/services/login-throttle.ts'

const test = suite<{ a: TestApp; b: TestApp }>('login throttling across two replicas (postgres)')
test.before(async (context) => {
  context.a = await startTestApp({ kind: 'postgres' })
  context.b = await startTestApp({ kind: 'postgres', reuse: { dataDir: context.a.dataDir, env: context.a.env } })
  const admin = await firstAdmin(context.a)
  for (const login of ['hank', 'ivy']) {
    assert.is((await context.a.api('POST', '/api/users', { login, password: PASSWORD, role: 'member' }, admin)).status, 201)
  }
})
test.after(async ({ a, b }) => {
  await b.stop()
  await a.close()
})

/** hank's throttle scope: by user id, whatever the spelling of the login. */
async function hankScope(app: TestApp): Promise<string> {
  const [row] = await app.app.ctx.sql`select id from users where login = 'hank'`
  return `account:user:${row!.id}`
}

test('the 11th bad password within a minute is 429 on either replica, naming when to retry', async ({ a, b }) => {
  for (let i = 0; i < ACCOUNT_LIMIT; i++) {
    const replica = i % 2 ? b : a
    assertError(await replica.api('POST', '/api/auth/login', { login: 'hank', password: `guess ${i}` }, PROXIED), 401, undefined, `attempt ${i + 1}`)
  }
  for (const replica of [a, b]) {
    const refused = await replica.api('POST', '/api/auth/login', { login: 'HANK', password: 'guess 11' }, PROXIED)
    assertError(refused, 429)
    const wait = Number(refused.headers.get('retry-after'))
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`)
    assert.match(refused.body.error.message, /try again in \d+ s/)
  }
  assertError(await b.api('POST', '/api/auth/login', { login: 'hank', password: PASSWORD }, PROXIED), 429, undefined, 'even the right password waits')
  assert.is((await a.api('POST', '/api/auth/login', { login: 'ivy', password: PASSWORD }, PROXIED)).status, 200, 'other accounts are not locked')
  // A minute later the account may try again (the window is measured by the database).
  const scope = await hankScope(a)
  await a.app.ctx.sql`update login_failures set at = at - interval '61 seconds' where scope = ${scope}`
  assert.is((await b.api('POST', '/api/auth/login', { login: 'hank', password: PASSWORD }, PROXIED)).status, 200)
  assert.is((await a.app.ctx.sql`select count(*)::int as n from login_failures where scope = ${scope}`)[0]!.n, 0, 'success clears the account')
})

test('200 parallel bad passwords: at most the limit reach the password check, the rest are 429; then even the right one waits', async ({ a, b }) => {
  await a.app.ctx.sql`delete from login_failures`
  const replies = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    (i % 2 ? b : a).api('POST', '/api/auth/login', { login: i % 3 ? 'hank' : 'Hank', password: `guess ${i}` }, PROXIED)))
  const statuses = replies.map((reply) => reply.status)
  const checked = statuses.filter((status) => status === 401).length
  assert.ok(checked <= ACCOUNT_LIMIT, `${checked} attempts reached the password check`)
  assert.ok(checked >= 1, 'some attempts were checked')
  assert.is(statuses.filter((status) => status === 429).length, 200 - checked, `statuses: ${[...new Set(statuses)].join(', ')}`)
  assertError(await a.api('POST', '/api/auth/login', { login: 'hank', password: PASSWORD }, PROXIED), 429, undefined, 'the right password within the window')
})

test('a success clears only what was counted before it: an attempt running alongside stays counted', async ({ a }) => {
  await a.app.ctx.sql`delete from login_failures`
  const { reserveLoginAttempt, recordLoginFailure, clearLoginFailures } = await import('../core/services/login-throttle.ts')
  const [hank] = await a.app.ctx.sql`select id from users where login = 'hank'`
  const user = { id: hank!.id as number }
  const first = (await reserveLoginAttempt(a.app.ctx.sql, user, 'hank', '192.0.2.1')).attempt!
  const second = (await reserveLoginAttempt(a.app.ctx.sql, user, 'hank', '192.0.2.2')).attempt!
  await clearLoginFailures(a.app.ctx.sql, second) // the success clears the window, the first attempt's row included
  await recordLoginFailure(a.app.ctx.sql, first) // which then fails: it is counted again
  const scope = await hankScope(a)
  assert.is((await a.app.ctx.sql`select count(*)::int as n from login_failures where scope = ${scope}`)[0]!.n, 1)
  await a.app.ctx.sql`delete from login_failures`
})

test('one address guessing across many accounts is capped too', async ({ a, b }) => {
  await a.app.ctx.sql`delete from login_failures`
  const from = { 'x-forwarded-for': '198.51.100.9' }
  // Behind TRUST_PROXY the forwarded address would count; without it the socket's address does.
  for (let i = 0; i < ADDRESS_LIMIT; i++) {
    assertError(await (i % 2 ? b : a).api('POST', '/api/auth/login', { login: `nobody-${i}`, password: 'x' }, from), 401)
  }
  assertError(await a.api('POST', '/api/auth/login', { login: 'ivy', password: PASSWORD }, from), 429)
})

test.run()

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
