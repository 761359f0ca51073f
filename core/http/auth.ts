/**
 * Who may call what (DESIGN.md §5 Auth):
 * - people (routes whose access is a role: viewer < member < admin): the admin token, an API token,
 *   a session cookie, or — while no account exists — a local request (people-auth.ts); a person
 *   below the route's role → 403. Public routes still learn who calls when someone is signed in.
 * - worker (coordinators): TERARCHITECT_WORKER_API_KEY when set; open when unset (loopback only,
 *   the app refuses to bind elsewhere without it). A job token is never enough to claim jobs.
 * - agent (ticket endpoints): the worker key, or a job token signed for exactly this project and
 *   ticket; a token for ticket A is refused on ticket B.
 * On worker and agent routes a credential that is present but wrong is refused even where none is
 * required; people routes on loopback need none and ignore the header.
 */
import type { IncomingMessage } from 'node:http'
import { forbidden, unauthorized } from '../errors.ts'
import { safeEqual, type SecretBox } from '../secrets.ts'
import type { Access, Authorize, Caller } from './router.ts'
import type { AppContext } from '../context.ts'
import type { LocalRule } from './boundary.ts'
import { createPeopleAuth, isRole } from './people-auth.ts'

export interface AuthOptions {
  /** People's sessions and API tokens are looked up in the database. */
  ctx: AppContext
  workerKey: string | undefined
  adminToken: string | undefined
  /** Who counts as local: the zero-setup admin on this machine. */
  local: LocalRule
  secrets: SecretBox
}

export function createAuthorize(options: AuthOptions): Authorize {
  const people = createPeopleAuth(options.ctx, { adminToken: options.adminToken, local: options.local })
  return async (access: Access, req: IncomingMessage, params: Record<string, unknown>): Promise<Caller> => {
    const token = bearer(req)
    if (access === 'public') return people.optional(req, token)
    if (isRole(access)) return people.require(access, req, token)
    if (token && options.workerKey && safeEqual(token, options.workerKey)) return { kind: 'worker' }
    if (token?.startsWith('tj1.')) {
      const claims = options.secrets.verifyJobToken(token)
      if (!claims) throw unauthorized('job token is invalid or expired')
      if (access === 'worker') throw forbidden('a job token cannot use the coordinator API')
      const sameProject = params.pid === undefined || params.pid === claims.projectId
      const sameTicket = params.tid === undefined || params.tid === claims.ticketId
      // Agent routes name their parameters :pid and :tid; a token opens only its own.
      if (!sameProject || !sameTicket) throw forbidden('this job token is for another ticket')
      return { kind: 'agent', job: { jobId: claims.jobId, ticketId: claims.ticketId, projectId: claims.projectId } }
    }
    if (token) throw unauthorized('invalid bearer credential')
    if (options.workerKey) throw unauthorized('send Authorization: Bearer <TERARCHITECT_WORKER_API_KEY> or the job token')
    return { kind: 'worker' }
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization
  if (!header) return undefined
  const match = /^Bearer\s+(.+)$/i.exec(header)
  return match ? match[1]!.trim() : header.trim()
}
