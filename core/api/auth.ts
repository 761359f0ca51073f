/**
 * Routes: who am I, first-admin setup, password sign-in and sign-out (docs/SECURITY.md "Accounts,
 * sessions, roles"). Sign-in failures are throttled per account and per address (login-throttle.ts)
 * and answered with one generic message, whether the login exists or not.
 */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { conflict, forbidden, tooManyRequests, unauthorized } from '../errors.ts'
import { clientAddress } from '../http/boundary.ts'
import { actorOf, recordAudit } from '../services/audit.ts'
import { endSession, startSession } from '../services/sessions.ts'
import { findUserByLogin, hashNewUser, insertUser, lockFirstUser, usersExist, LOGIN_PATTERN } from '../services/users.ts'
import { deleteSetupCodes, setupCodeValid } from '../services/setup-code.ts'
import { verifyDummy, verifyPassword } from '../services/passwords.ts'
import { clearLoginFailures, recordLoginFailure, reserveLoginAttempt } from '../services/login-throttle.ts'

export const Login = Type.String({ pattern: LOGIN_PATTERN, maxLength: 100, description: 'letters, digits, . _ @ -; unique ignoring case' })
export const Password = Type.String({ minLength: 8, maxLength: 1000, description: 'at least 8 characters' })
export const DisplayName = Type.String({ maxLength: 200 })

const WRONG_CODE = 'the setup code is not the one the app printed'

const Setup = Type.Object(
  { login: Login, password: Password, display_name: Type.Optional(DisplayName), setup_code: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: false },
)
const LoginBody = Type.Object(
  { login: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
)

export function authRoutes(ctx: AppContext): Route[] {
  // Single sign-on methods are on when their variables are set (read loosely: a build without them has them off).
  const config = ctx.config as typeof ctx.config & { OIDC_ISSUER?: string; GITHUB_OAUTH_CLIENT_ID?: string }
  const userView = (user: { id: number; login: string; display_name: string; role: string }) =>
    ({ id: user.id, login: user.login, display_name: user.display_name, role: user.role })

  return [
    route({
      method: 'GET', path: '/api/auth/me', access: 'public',
      handle: async ({ caller }) => {
        const setupRequired = !(await usersExist(ctx))
        let user = null
        if (caller.user) {
          const [row] = await ctx.sql`select id, login, display_name from users where id = ${caller.user.id}`
          if (row) user = { id: row.id, login: row.login, display_name: row.display_name, role: caller.role }
        }
        return {
          user,
          local: caller.via === 'local',
          role: caller.role ?? null,
          setup_required: setupRequired,
          methods: { password: true, oidc: Boolean(config.OIDC_ISSUER), github: Boolean(config.GITHUB_OAUTH_CLIENT_ID) },
        }
      },
    }),
    route({
      method: 'POST', path: '/api/auth/setup', access: 'public', body: Setup,
      handle: async ({ req, res, body, caller }) => {
        const trusted = caller.via === 'local' || caller.via === 'admin-token'
        const conflictText = 'the first admin exists already: sign in instead'
        // The cheap refusals first (an account exists: cached once true; no code or a wrong one from afar), then
        // the hash, before the transaction, which would hold its connection for the hash's ≈50 ms
        // (users.ts, hashNewUser). The transaction checks again what may race.
        if (await usersExist(ctx)) throw conflict(conflictText)
        if (!trusted && !body.setup_code) throw forbidden('send the setup code the app printed at start as setup_code', [{ path: '/body/setup_code', message: 'required from this address' }])
        // A wrong code is refused before the hash too: nobody without the code makes the app hash.
        if (!trusted && !(await setupCodeValid(ctx.sql, body.setup_code!))) throw forbidden(WRONG_CODE, [{ path: '/body/setup_code', message: 'wrong code' }])
        const admin = await hashNewUser({ login: body.login, password: body.password, display_name: body.display_name, role: 'admin' })
        const user = await ctx.sql.begin(async (tx) => {
          // The lock a first single sign-on takes too (users.ts): exactly one first admin.
          if ((await lockFirstUser(tx)).usersExist) throw conflict(conflictText)
          if (!trusted && !(await setupCodeValid(tx, body.setup_code!))) throw forbidden(WRONG_CODE, [{ path: '/body/setup_code', message: 'wrong code' }])
          const actor = { ...actorOf(caller), label: caller.via ?? 'setup' }
          const created = await insertUser(ctx, tx, admin, actor)
          await deleteSetupCodes(tx)
          await recordAudit(tx, { ...actor, userId: created.id }, { action: 'auth.setup', target: { type: 'user', id: created.id }, details: { login: created.login, via: trusted ? caller.via : 'setup_code' } })
          return created
        })
        await startSession(ctx, req, res, user, { method: 'setup' })
        return new Reply(201, { user: userView(user) })
      },
    }),
    route({
      method: 'POST', path: '/api/auth/login', access: 'public', body: LoginBody,
      handle: async ({ req, res, body }) => {
        const address = clientAddress(req)
        const user = await findUserByLogin(ctx.sql, body.login)
        // Counted before the password is looked at, atomically (login-throttle.ts).
        const { attempt, wait } = await reserveLoginAttempt(ctx.sql, user, body.login, address)
        if (!attempt) {
          res.setHeader('retry-after', String(wait))
          throw tooManyRequests(`too many failed sign-ins: try again in ${wait} s (after ${new Date(Date.now() + wait * 1000).toISOString()})`)
        }
        const ok = user?.password_hash && !user.disabled
          ? await verifyPassword(body.password, user.password_hash)
          : await verifyDummy(body.password)
        if (!ok || !user) {
          await recordLoginFailure(ctx.sql, attempt)
          await recordAudit(ctx.sql, { userId: user?.id ?? null, label: body.login.slice(0, 100), address }, { action: 'auth.login_failed', ...(user ? { target: { type: 'user', id: user.id } } : {}) })
          throw unauthorized('wrong login or password')
        }
        await clearLoginFailures(ctx.sql, attempt)
        await startSession(ctx, req, res, user)
        return { user: userView(user) }
      },
    }),
    route({
      method: 'POST', path: '/api/auth/logout', access: 'public',
      handle: async ({ res, caller }) => {
        await endSession(ctx, res, caller.sessionHash, actorOf(caller))
        return new Reply(204)
      },
    }),
  ]
}
