/**
 * The one-time code that lets the first admin be created from a browser that is not local. Each
 * app start while no account exists issues one (printed on stdout and logged once) and stores its
 * SHA-256, so any replica accepts the code another printed. All codes are deleted with the first
 * account; codes older than a day are dropped at each start.
 */
import { randomBytes } from 'node:crypto'
import type { AppContext } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { sha256 } from './sessions.ts'
import { usersExist } from './users.ts'

/** Issues a code when no account exists yet; null otherwise. */
export async function issueSetupCode(ctx: AppContext): Promise<string | null> {
  if (await usersExist(ctx)) return null
  // Grouped for reading aloud or typing: xxxx-xxxx-xxxx-xxxx (64 bits).
  const code = (randomBytes(8).toString('hex').match(/.{4}/g) as string[]).join('-')
  await ctx.sql`delete from setup_codes where created_at < now() - interval '1 day'`
  await ctx.sql`insert into setup_codes (code_hash) values (${sha256(code)})`
  return code
}

/** True when `code` is one of the issued codes (checked inside the setup transaction). */
export async function setupCodeValid(tx: TransactionSql | Sql, code: string): Promise<boolean> {
  // Looked up by hash: the clear code is never compared or stored.
  const [row] = await tx`select 1 from setup_codes where code_hash = ${sha256(code.trim().toLowerCase())}`
  return Boolean(row)
}

export async function deleteSetupCodes(tx: TransactionSql): Promise<void> {
  await tx`delete from setup_codes`
}
