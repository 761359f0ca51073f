/**
 * Failed sign-in throttling, in the database so app replicas agree: at most ACCOUNT_LIMIT attempts
 * that did not succeed per account and ADDRESS_LIMIT per client address within WINDOW_SEC.
 *
 * Counting is atomic and comes before the password check: `reserveLoginAttempt` takes a
 * transaction-scoped advisory lock per scope (account, then address: one order, no deadlock),
 * counts the window and, under the limit, inserts the attempt's rows; over it, the attempt is
 * refused (429) without its password being looked at, even the right one. So N parallel guesses
 * get at most the limit through to the password check, whatever N is.
 *
 * An attempt's rows stay as its failure. A success within the limit (it holds a reservation)
 * clears the account's window up to its own row (a person who mistyped is not locked out after
 * signing in) and takes back its own address row; an attempt running alongside whose row that
 * erased puts it back when it fails (`recordLoginFailure`), so a success never hands concurrent
 * guesses a fresh window.
 */
import type { Sql } from '../db/index.ts'

export const ACCOUNT_LIMIT = 10
export const ADDRESS_LIMIT = 50
export const WINDOW_SEC = 60

/** The rows one attempt holds (its account's and its address's). */
export interface LoginAttempt {
  accountScope: string
  account: { id: number; at: Date }
  address: { id: number; scope: string; at: Date }
}

/**
 * The account's throttle scope: its user id when the login names one (any spelling counts for the
 * same account), else the login lower-cased by the database (the comparison `findUserByLogin` uses).
 */
async function accountScope(sql: Sql, userId: number | null, login: string): Promise<string> {
  if (userId !== null) return `account:user:${userId}`
  const [row] = await sql`select 'account:login:' || lower(${login}) as scope`
  return row!.scope as string
}

/**
 * Counts an attempt before its password is checked. Returns the attempt's rows, or the seconds to
 * wait when the account or the address has reached its limit in the window (nothing is counted).
 */
export async function reserveLoginAttempt(
  sql: Sql, user: { id: number } | null, login: string, address: string,
): Promise<{ attempt: LoginAttempt; wait: 0 } | { attempt: null; wait: number }> {
  const account = await accountScope(sql, user?.id ?? null, login)
  const scopes = [{ scope: account, limit: ACCOUNT_LIMIT }, { scope: `address:${address}`, limit: ADDRESS_LIMIT }]
  return sql.begin(async (tx) => {
    for (const { scope } of scopes) await tx`select pg_advisory_xact_lock(hashtextextended(${scope}, 7210005))`
    let wait = 0
    for (const { scope, limit } of scopes) {
      // The limit-th newest attempt in the window: when it ages out, one attempt is free again.
      const [row] = await tx`
        select ceil(extract(epoch from (at + ${WINDOW_SEC} * interval '1 second' - now())))::int as wait
        from login_failures where scope = ${scope} and at > now() - ${WINDOW_SEC} * interval '1 second'
        order by at desc offset ${limit - 1} limit 1`
      if (row) wait = Math.max(wait, Math.max(1, row.wait as number))
    }
    if (wait) return { attempt: null, wait }
    const [accountRow] = await tx`insert into login_failures (scope) values (${account}) returning id, at`
    const [addressRow] = await tx`insert into login_failures (scope) values (${scopes[1]!.scope}) returning id, at`
    // Only the last minute counts; an hour of history is kept for whoever looks into an attack.
    await tx`delete from login_failures where at < now() - interval '1 hour'`
    return {
      attempt: {
        accountScope: account,
        account: { id: Number(accountRow!.id), at: accountRow!.at as Date },
        address: { id: Number(addressRow!.id), scope: scopes[1]!.scope, at: addressRow!.at as Date },
      },
      wait: 0,
    }
  })
}

/** The attempt failed: its rows stay counted (put back if a concurrent success cleared them). */
export async function recordLoginFailure(sql: Sql, attempt: LoginAttempt): Promise<void> {
  for (const row of [{ ...attempt.account, scope: attempt.accountScope }, attempt.address]) {
    await sql`insert into login_failures (id, scope, at)
      select ${row.id}, ${row.scope}, ${row.at} where not exists (select 1 from login_failures where id = ${row.id})`
  }
}

/** The attempt succeeded: the account's window up to it is cleared, and its address row taken back. */
export async function clearLoginFailures(sql: Sql, attempt: LoginAttempt): Promise<void> {
  await sql`delete from login_failures where (scope = ${attempt.accountScope} and id <= ${attempt.account.id}) or id = ${attempt.address.id}`
}
