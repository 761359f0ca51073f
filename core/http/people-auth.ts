/**
 * Who a person is, for the people routes (docs/SECURITY.md "Accounts, sessions, roles"):
 * 1. `Authorization: Bearer <TERARCHITECT_ADMIN_TOKEN>` → admin;
 * 2. `Authorization: Bearer tpa_…` → that API token's user, at the lower of the token's and the
 *    user's current role (a bad token is 401, not a fall-through);
 * 3. the `terarchitect_session` cookie of a live session → its user;
 * 4. a local request (boundary.ts: loopback bind, no PUBLIC_URL, no admin token, no forwarding
 *    headers) while no account exists → the zero-setup admin. Creating the first account switches
 *    the app to sign-in: from then on local requests need a credential like any other.
 * Then the route's role rule: viewer < member < admin; below it → 403 naming both roles.
 */
import type { IncomingMessage } from 'node:http'
import type { AppContext } from '../context.ts'
import { forbidden, unauthorized } from '../errors.ts'
import { safeEqual } from '../secrets.ts'
import { API_TOKEN_PREFIX, authenticateApiToken, roleAtLeast } from '../services/api-tokens.ts'
import { readSession } from '../services/sessions.ts'
import { usersExist } from '../services/users.ts'
import { clientAddress, isLocalRequest, type LocalRule } from './boundary.ts'
import { ROLES, type Caller, type Role } from './router.ts'

export interface PeopleAuthOptions {
  adminToken: string | undefined
  local: LocalRule
}

export const isRole = (access: string): access is Role => (ROLES as readonly string[]).includes(access)

export function createPeopleAuth(ctx: AppContext, options: PeopleAuthOptions) {
  /** The person behind the request, or null when there is none; throws 401 for a bad API token. */
  async function identify(req: IncomingMessage, token: string | undefined): Promise<Caller | null> {
    const address = clientAddress(req)
    if (token && options.adminToken && safeEqual(token, options.adminToken)) {
      return { kind: 'person', role: 'admin', via: 'admin-token', address }
    }
    if (token?.startsWith(API_TOKEN_PREFIX)) {
      const found = await authenticateApiToken(ctx, token)
      return { kind: 'person', role: found.role, user: found.user, via: 'token', tokenId: found.tokenId, address }
    }
    const session = await readSession(ctx, req)
    if (session) {
      const { id, login, role } = session.user
      return { kind: 'person', role, user: { id, login }, via: 'session', sessionHash: session.idHash, address }
    }
    if (isLocalRequest(options.local, req) && !(await usersExist(ctx))) return { kind: 'person', role: 'admin', via: 'local', address }
    return null
  }

  return {
    identify,
    /** Public routes: the person if one is recognised, else anonymous; never refuses. */
    async optional(req: IncomingMessage, token: string | undefined): Promise<Caller> {
      const person = await identify(req, token).catch(() => null)
      return person ?? { kind: 'anonymous', address: clientAddress(req) }
    },
    /** People routes: a person holding at least `role`, else 401 (nobody) or 403 (too low). */
    async require(role: Role, req: IncomingMessage, token: string | undefined): Promise<Caller> {
      const person = await identify(req, token)
      if (!person) {
        throw unauthorized('sign in, or send Authorization: Bearer <an API token or TERARCHITECT_ADMIN_TOKEN>')
      }
      if (!roleAtLeast(person.role!, role)) throw forbidden(`this needs the ${role} role; you have ${person.role}`)
      return person
    },
  }
}
