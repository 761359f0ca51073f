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
  await a.app.ctx.sql`update login_failures set at = at - interval '61 seconds' where scope = 'account:hank'`
  assert.is((await b.api('POST', '/api/auth/login', { login: 'hank', password: PASSWORD }, PROXIED)).status, 200)
  assert.is((await a.app.ctx.sql`select count(*)::int as n from login_failures where scope = 'account:hank'`)[0]!.n, 0, 'success clears the account')
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
