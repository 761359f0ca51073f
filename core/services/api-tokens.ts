/**
 * Personal API tokens for scripts and CI: `tpa_` + 32 random bytes, shown once at creation and
 * stored as SHA-256. A token carries a role no higher than its user's; at each use the effective
 * role is the lower of the token's and the user's current one. Expired, revoked, or of a disabled
 * user → 401. last_used_at is written at most once a minute per token.
 */
import { randomBytes } from 'node:crypto'
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import { badRequest, notFound, unauthorized } from '../errors.ts'
import { ROLES, type Caller, type Role } from '../http/router.ts'
import { recordAudit, type Actor } from './audit.ts'
import { sha256 } from './sessions.ts'

export const API_TOKEN_PREFIX = 'tpa_'
const TOUCH_MS = 60_000
const COLUMNS = `t.id, t.user_id, u.login as user_login, t.name, t.prefix, t.role, t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

export const lowerRole = (a: Role, b: Role): Role => (ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b)
export const roleAtLeast = (role: Role, wanted: Role) => ROLES.indexOf(role) >= ROLES.indexOf(wanted)

export interface TokenCreate {
  name: string
  role?: Role | undefined
  expires_in_days?: number | undefined
}

/** Creates a token for `owner`; the clear token is in the answer and nowhere else. */
export async function createApiToken(ctx: AppContext, owner: { id: number; role: Role }, input: TokenCreate, actor: Actor) {
  const role = input.role ?? owner.role
  if (!roleAtLeast(owner.role, role)) {
    throw badRequest(`a token's role cannot be above your own (${owner.role})`, [{ path: '/body/role', message: `at most ${owner.role}` }])
  }
  const token = API_TOKEN_PREFIX + randomBytes(32).toString('base64url')
  const prefix = token.slice(0, API_TOKEN_PREFIX.length + 8)
  const days = input.expires_in_days ?? null
  return write(ctx, async ({ tx }) => {
    const [row] = await tx`
      insert into api_tokens (user_id, name, token_hash, prefix, role, expires_at)
      values (${owner.id}, ${input.name}, ${sha256(token)}, ${prefix}, ${role},
        case when ${days}::int is null then null else now() + ${days}::int * interval '1 day' end)
      returning id`
    const id = row!.id as number
    await recordAudit(tx, actor, { action: 'token.create', target: { type: 'api_token', id }, details: { name: input.name, role, prefix, user_id: owner.id } })
    const [view] = await tx.unsafe(`select ${COLUMNS} from api_tokens t join users u on u.id = t.user_id where t.id = $1`, [id])
    return { ...view, token }
  })
}

/** A user's tokens, or everyone's (`userId` null), newest first; never the token itself. */
export async function listApiTokens(ctx: AppContext, userId: number | null) {
  return ctx.sql.unsafe(
    `select ${COLUMNS} from api_tokens t join users u on u.id = t.user_id
     where ($1::int is null or t.user_id = $1) order by t.id desc`,
    [userId],
  )
}

/** Revokes a token of the caller's own, or anyone's for an admin; others' tokens are 404. */
export async function revokeApiToken(ctx: AppContext, id: number, caller: Caller, actor: Actor): Promise<void> {
  await write(ctx, async ({ tx }) => {
    const [row] = await tx`select id, user_id, name, revoked_at from api_tokens where id = ${id}`
    if (!row || (caller.role !== 'admin' && row.user_id !== caller.user?.id)) throw notFound(`token ${id}`)
    if (row.revoked_at) return
    await tx`update api_tokens set revoked_at = now() where id = ${id}`
    await recordAudit(tx, actor, { action: 'token.revoke', target: { type: 'api_token', id }, details: { name: row.name, user_id: row.user_id } })
  })
}

/** The person a bearer `tpa_` token stands for, with its effective role; 401 when it does not stand for one. */
export async function authenticateApiToken(ctx: AppContext, token: string) {
  const [row] = await ctx.sql`
    select t.id, t.role, t.expires_at, t.revoked_at, t.last_used_at, u.id as user_id, u.login, u.role as user_role, u.disabled
    from api_tokens t join users u on u.id = t.user_id where t.token_hash = ${sha256(token)}`
  if (!row) throw unauthorized('unknown API token')
  if (row.revoked_at) throw unauthorized('this API token was revoked')
  if (row.expires_at && new Date(row.expires_at as string).getTime() <= Date.now()) throw unauthorized('this API token has expired')
  if (row.disabled) throw unauthorized('the account of this API token is disabled')
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at as string).getTime() > TOUCH_MS) {
    await ctx.sql`update api_tokens set last_used_at = now() where id = ${row.id as number}`
  }
  return {
    tokenId: row.id as number,
    role: lowerRole(row.role as Role, row.user_role as Role),
    user: { id: row.user_id as number, login: row.login as string },
  }
}

/** True while the token would still be accepted (the events stream re-checks this). */
export async function apiTokenIsLive(ctx: AppContext, tokenId: number): Promise<boolean> {
  const [row] = await ctx.sql`
    select 1 from api_tokens t join users u on u.id = t.user_id
    where t.id = ${tokenId} and t.revoked_at is null and not u.disabled and (t.expires_at is null or t.expires_at > now())`
  return Boolean(row)
}
