// Passwords are hashed before the transaction that stores them, never inside it. On the embedded
// database (PGlite behind one socket, one connection) a transaction holds the app's only
// connection, so a hash inside it (≈50 ms of scrypt) would make every other request wait. Each
// path that hashes (setup of the first admin, an admin creating an account, a password change) is
// run with its hash held: a query on the app's connection must be answered meanwhile.
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, waitFor, type TestApp } from './helpers.ts'
import { PASSWORD, PROXIED, cookieOf, within } from './people-helpers.ts'
import { assertError } from './api-helpers.ts'

type Scrypt = typeof crypto.scrypt

/**
 * Holds every scrypt computation (a password hash or verification) until `release()`. The module
 * object's function is replaced and the ES module exports synced, so `passwords.ts`'s named import
 * calls the held one.
 */
function holdHashes() {
  const original: Scrypt = crypto.scrypt
  const held: (() => void)[] = []
  let released = false
  let calls = 0
  crypto.scrypt = ((...args: unknown[]) => {
    calls++
    const run = () => (original as (...rest: unknown[]) => void)(...args)
    if (released) run()
    else held.push(run)
  }) as Scrypt
  syncBuiltinESMExports()
  return {
    calls: () => calls,
    release() {
      released = true
      crypto.scrypt = original
      syncBuiltinESMExports()
      for (const run of held.splice(0)) run()
    },
  }
}

/**
 * Starts `request`, waits until its hash has begun (and is held), then asks the app's database a
 * simple question: it must be answered while the hash is held. Returns the request's answer.
 */
async function answeredWhileHashing<T>(t: TestApp, request: () => Promise<T>): Promise<T> {
  const hashes = holdHashes()
  let answer: Promise<T> | undefined
  try {
    answer = request()
    await waitFor(async () => hashes.calls() > 0, 10000, 'the request to start hashing its password')
    const query = t.app.ctx.sql`select 1 as one`
    assert.ok(await within(query, 5000), 'a query on the one connection waited for a password hash: the hash ran inside a transaction')
    assert.equal((await query)[0]!.one, 1)
  } finally {
    hashes.release()
    // Settled before a failed check ends the test (and closes the app under the request).
    await answer?.catch(() => {})
  }
  return answer
}

const test = suite<{ t: TestApp }>('password hashing outside transactions (pglite)')
test.before.each(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
})
test.after.each(async ({ t }) => t.close())

test('setup, account creation and a password change hash while the one connection stays free', async ({ t }) => {
  const setup = await answeredWhileHashing(t, () => t.api('POST', '/api/auth/setup', { login: 'root', password: PASSWORD }))
  assert.is(setup.status, 201, JSON.stringify(setup.body))
  const admin = { cookie: cookieOf(setup) }

  const created = await answeredWhileHashing(t, () => t.api('POST', '/api/users', { login: 'bob', password: PASSWORD, role: 'member' }, admin))
  assert.is(created.status, 201, JSON.stringify(created.body))

  const changed = await answeredWhileHashing(t, () => t.api('PATCH', `/api/users/${created.body.id}`, { password: 'a brand new passphrase' }, admin))
  assert.is(changed.status, 200, JSON.stringify(changed.body))

  // The hashes stored are the ones computed: both passwords work where they should.
  assert.is((await t.api('POST', '/api/auth/login', { login: 'root', password: PASSWORD })).status, 200)
  assert.is((await t.api('POST', '/api/auth/login', { login: 'bob', password: 'a brand new passphrase' })).status, 200)
  assert.is((await t.api('POST', '/api/auth/login', { login: 'bob', password: PASSWORD })).status, 401)
})

test('a refused creation still refuses: a taken login is a 409 after the hash', async ({ t }) => {
  const setup = await t.api('POST', '/api/auth/setup', { login: 'root', password: PASSWORD })
  const admin = { cookie: cookieOf(setup) }
  const taken = await t.api('POST', '/api/users', { login: 'ROOT', password: PASSWORD, role: 'member' }, admin)
  assert.is(taken.status, 409)
  assert.equal(taken.body.error.details, [{ path: '/body/login', message: 'already in use' }])
  const again = await t.api('POST', '/api/auth/setup', { login: 'other', password: PASSWORD })
  assert.is(again.status, 409, 'a second setup is refused')
  assert.equal((await t.app.ctx.sql`select count(*)::int as n from users`)[0]!.n, 1)
})

test('a setup from afar without the right code is refused before any hash', async ({ t }) => {
  const hashes = holdHashes()
  try {
    const body = { login: 'root', password: PASSWORD }
    assertError(await t.api('POST', '/api/auth/setup', body, PROXIED), 403, '/body/setup_code')
    assertError(await t.api('POST', '/api/auth/setup', { ...body, setup_code: 'aaaa-bbbb-cccc-dddd' }, PROXIED), 403, '/body/setup_code')
    assert.is(hashes.calls(), 0, 'a caller without the setup code made the app hash a password')
  } finally {
    hashes.release()
  }
  const ok = await t.api('POST', '/api/auth/setup', { login: 'root', password: PASSWORD, setup_code: t.app.setupCode }, PROXIED)
  assert.is(ok.status, 201, JSON.stringify(ok.body))
})

test.run()
