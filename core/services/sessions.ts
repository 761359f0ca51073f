/**
 * Sign-in sessions. A fresh random id (32 bytes) per sign-in goes to the browser in an HttpOnly,
 * SameSite=Lax cookie; when PUBLIC_URL is https it is Secure and named with the `__Host-` prefix
 * (Path=/, no Domain: browsers refuse it from http or from a sibling subdomain, so it cannot be
 * planted or shadowed). The database keeps only its SHA-256. A
 * session ends at its absolute expiry (SESSION_MAX_AGE_HOURS), after SESSION_IDLE_HOURS without a
 * request, at logout, or when its user is disabled or changes password.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppContext } from '../context.ts'
import { clientAddress } from '../http/boundary.ts'
import type { Role } from '../http/router.ts'
import { recordAudit } from './audit.ts'
import { endSessionStreams } from './session-streams.ts'

export const SESSION_COOKIE = 'terarchitect_session'
/** The cookie's name when Secure (PUBLIC_URL https). */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`
/** last_seen_at is written at most this often per session (idle expiry is measured in hours). */
const TOUCH_MS = 60_000

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

export interface SessionPerson {
  idHash: string
  user: { id: number; login: string; display_name: string; role: Role }
}

const secure = (ctx: AppContext) => Boolean(ctx.config.PUBLIC_URL?.startsWith('https:'))
const cookieName = (ctx: AppContext) => (secure(ctx) ? SECURE_SESSION_COOKIE : SESSION_COOKIE)

function setCookie(ctx: AppContext, res: ServerResponse, value: string, maxAgeSec: number): void {
  const parts = [`${cookieName(ctx)}=${value}`, 'Path=/', `Max-Age=${maxAgeSec}`, 'HttpOnly', 'SameSite=Lax']
  if (secure(ctx)) parts.push('Secure')
  res.setHeader('set-cookie', parts.join('; '))
}

/**
 * Signs `user` in: issues a new session and its cookie on `res`, and audits the sign-in
 * (`details` says how, e.g. `{ method: 'oidc' }`). Call only after the credential was checked.
 */
export async function startSession(
  ctx: AppContext,
  req: IncomingMessage,
  res: ServerResponse,
  user: { id: number; login: string },
  details: Record<string, unknown> = { method: 'password' },
): Promise<void> {
  const id = randomBytes(32).toString('base64url')
  const maxAgeSec = Math.round(ctx.config.SESSION_MAX_AGE_HOURS * 3600)
  const address = clientAddress(req)
  await ctx.sql.begin(async (tx) => {
    await tx`
      insert into sessions (id_hash, user_id, expires_at, address)
      values (${sha256(id)}, ${user.id}, now() + ${maxAgeSec} * interval '1 second', ${address})`
    await recordAudit(tx, { userId: user.id, label: user.login, address }, { action: 'auth.login', target: { type: 'user', id: user.id }, details })
    // Sessions past their absolute expiry are of no use; a sign-in is a fine moment to drop them.
    await tx`delete from sessions where expires_at < now() - interval '1 day'`
  })
  setCookie(ctx, res, id, maxAgeSec)
}

/** The session id in the request's cookie (the one name this app's scheme uses), if any. */
export function sessionCookie(ctx: AppContext, req: IncomingMessage): string | undefined {
  const header = req.headers.cookie
  if (!header) return undefined
  const name = cookieName(ctx)
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim()
      return /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined
    }
  }
  return undefined
}

/** The live session behind the request's cookie (not revoked, expired, idle, or of a disabled user), or null. */
export async function readSession(ctx: AppContext, req: IncomingMessage): Promise<SessionPerson | null> {
  const id = sessionCookie(ctx, req)
  if (!id) return null
  const idHash = sha256(id)
  const idleSec = Math.round(ctx.config.SESSION_IDLE_HOURS * 3600)
  const [row] = await ctx.sql`
    select s.last_seen_at, u.id, u.login, u.display_name, u.role
    from sessions s join users u on u.id = s.user_id
    where s.id_hash = ${idHash} and not s.revoked and not u.disabled and s.expires_at > now()
      and s.last_seen_at > now() - ${idleSec} * interval '1 second'`
  if (!row) return null
  if (Date.now() - new Date(row.last_seen_at as string).getTime() > TOUCH_MS) {
    await ctx.sql`update sessions set last_seen_at = now() where id_hash = ${idHash}`
  }
  return { idHash, user: { id: row.id as number, login: row.login as string, display_name: row.display_name as string, role: row.role as Role } }
}

/** True while the session is live (the events stream re-checks this). */
export async function sessionIsLive(ctx: AppContext, idHash: string): Promise<boolean> {
  const idleSec = Math.round(ctx.config.SESSION_IDLE_HOURS * 3600)
  const [row] = await ctx.sql`
    select 1 from sessions s join users u on u.id = s.user_id
    where s.id_hash = ${idHash} and not s.revoked and not u.disabled and s.expires_at > now()
      and s.last_seen_at > now() - ${idleSec} * interval '1 second'`
  return Boolean(row)
}

/** Logout: revokes the session at once (its streams end) and clears the cookie. */
export async function endSession(ctx: AppContext, res: ServerResponse, idHash: string | undefined, actor: { userId: number | null; label: string; address: string | null }): Promise<void> {
  if (idHash) {
    await ctx.sql.begin(async (tx) => {
      const [row] = await tx`update sessions set revoked = true where id_hash = ${idHash} and not revoked returning user_id`
      if (row) await recordAudit(tx, actor, { action: 'auth.logout', target: { type: 'user', id: row.user_id as number } })
    })
    endSessionStreams([idHash])
  }
  setCookie(ctx, res, '', 0)
}
