/**
 * Failed sign-in throttling, in the database so app replicas agree: at most ACCOUNT_LIMIT failures
 * per account and ADDRESS_LIMIT per client address within WINDOW_SEC; the next attempt is refused
 * (429) until the oldest counted failure leaves the window, even with the right password. Under
 * concurrent attempts a few more than the limit may be counted (check and record are not one
 * statement); that only shortens the next wait's precision, never lets more guesses through later.
 */
import type { Sql } from '../db/index.ts'

export const ACCOUNT_LIMIT = 10
export const ADDRESS_LIMIT = 50
export const WINDOW_SEC = 60

const scopes = (login: string, address: string) => [
  { scope: `account:${login.toLowerCase()}`, limit: ACCOUNT_LIMIT },
  { scope: `address:${address}`, limit: ADDRESS_LIMIT },
]

/** Seconds to wait before another attempt, or 0 when one may be made now. */
export async function loginRetryAfter(sql: Sql, login: string, address: string): Promise<number> {
  let wait = 0
  for (const { scope, limit } of scopes(login, address)) {
    // The limit-th newest failure in the window: when it ages out, one attempt is free again.
    const [row] = await sql`
      select ceil(extract(epoch from (at + ${WINDOW_SEC} * interval '1 second' - now())))::int as wait
      from login_failures where scope = ${scope} and at > now() - ${WINDOW_SEC} * interval '1 second'
      order by at desc offset ${limit - 1} limit 1`
    if (row) wait = Math.max(wait, Math.max(1, row.wait as number))
  }
  return wait
}

export async function recordLoginFailure(sql: Sql, login: string, address: string): Promise<void> {
  await sql.begin(async (tx) => {
    for (const { scope } of scopes(login, address)) await tx`insert into login_failures (scope) values (${scope})`
    // Only the last minute counts; an hour of history is kept for whoever looks into an attack.
    await tx`delete from login_failures where at < now() - interval '1 hour'`
  })
}

/** A successful sign-in clears its account's failures (the address keeps its count). */
export async function clearLoginFailures(sql: Sql, login: string): Promise<void> {
  await sql`delete from login_failures where scope = ${`account:${login.toLowerCase()}`}`
}
