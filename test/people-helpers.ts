/**
 * Helpers for the accounts suites: headers that make a request non-local, the first admin, more
 * users, and signing in (the session cookie as a header to send back).
 */
import * as assert from 'uvu/assert'
import type { TestApp } from './helpers.ts'

/** A request through a same-box reverse proxy: never local. */
export const PROXIED = { 'x-forwarded-for': '203.0.113.7' }
export const PASSWORD = 'correct horse battery'

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The `name=value` of the session cookie a response set, ready to send as a Cookie header. */
export function cookieOf(res: { headers: Headers }): string {
  const header = res.headers.get('set-cookie')
  assert.ok(header, 'a session cookie was set')
  return header!.split(';')[0]!
}

/** Creates the first admin from this machine (local) and returns its cookie headers. */
export async function firstAdmin(t: TestApp, login = 'root'): Promise<Record<string, string>> {
  const res = await t.api('POST', '/api/auth/setup', { login, password: PASSWORD })
  assert.is(res.status, 201, JSON.stringify(res.body))
  return { cookie: cookieOf(res) }
}

export async function signIn(t: TestApp, login: string, password = PASSWORD): Promise<Record<string, string>> {
  const res = await t.api('POST', '/api/auth/login', { login, password }, PROXIED)
  assert.is(res.status, 200, `sign-in of ${login}: ${JSON.stringify(res.body)}`)
  return { cookie: cookieOf(res) }
}

/** Creates a user with `role` (as `admin`) and signs them in; returns their id and cookie headers. */
export async function userWithRole(t: TestApp, admin: Record<string, string>, login: string, role: 'viewer' | 'member' | 'admin') {
  const res = await t.api('POST', '/api/users', { login, password: PASSWORD, role }, admin)
  assert.is(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.id as number, headers: await signIn(t, login) }
}

/** Opens `/api/events`; `ended` resolves when the server ends the stream. */
export async function openStream(t: TestApp, headers: Record<string, string>) {
  const abort = new AbortController()
  const res = await fetch(`${t.url}/api/events`, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal })
  const ended = (async () => {
    try {
      for await (const _ of res.body as unknown as AsyncIterable<Uint8Array>) {
        // drain until the server closes
      }
    } catch {}
  })()
  return { status: res.status, ended, close: () => abort.abort() }
}

/** Resolves true when `promise` settles within `ms`, else false. */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])
}
