/**
 * The first admin is made once, however many setups arrive at once. Setup hashes the password
 * before its transaction (core/api/auth.ts), so several setups may all pass the checks made before
 * the hash; the transaction's first-account lock and its second look at the setup code decide.
 * Local setups and setups from afar with the printed code race here: exactly one account results,
 * the others are 409 (never a 500, never a second admin), and the setup code ends with it.
 *   node --import ./scripts/ts-register.mjs test/security/setup-race.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, type TestApp } from '../helpers.ts'
import { PASSWORD, PROXIED } from '../people-helpers.ts'

let t: TestApp

test.before(async () => {
  t = await startTestApp({ kind: 'pglite' })
})
test.after(async () => t?.close())

test('setups at once, local and from afar with the code: one account, the rest 409', async () => {
  const code = t.app.setupCode
  assert.ok(code, 'the app printed a setup code')
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => i % 2
    ? t.api('POST', '/api/auth/setup', { login: `afar${i}`, password: PASSWORD, setup_code: code }, PROXIED)
    : t.api('POST', '/api/auth/setup', { login: `local${i}`, password: PASSWORD })))
  const statuses = answers.map((answer) => answer.status).sort()
  assert.equal(statuses, [201, 409, 409, 409, 409, 409], JSON.stringify(answers.map((answer) => answer.body)))
  const users = await t.app.ctx.sql`select login, role from users`
  assert.is(users.length, 1)
  assert.is(users[0]!.role, 'admin')
  assert.is(users[0]!.login, answers.find((answer) => answer.status === 201)!.body.user.login)
  assert.equal((await t.app.ctx.sql`select count(*)::int as n from setup_codes`)[0]!.n, 0, 'the setup code ended with the first account')
  // The code cannot make a second admin afterwards either.
  const late = await t.api('POST', '/api/auth/setup', { login: 'late', password: PASSWORD, setup_code: code }, PROXIED)
  assert.is(late.status, 409)
})

test.run()
