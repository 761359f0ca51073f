/**
 * Who may call what (DESIGN.md §5 Auth):
 * - people: open to local requests (boundary.ts: loopback bind, no PUBLIC_URL, no admin token, no
 *   forwarding headers); otherwise every people route needs TERARCHITECT_ADMIN_TOKEN.
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
import { isLocalRequest, type LocalRule } from './boundary.ts'

export interface AuthOptions {
  workerKey: string | undefined
  adminToken: string | undefined
  /** Who counts as local: the zero-setup admin on this machine. */
  local: LocalRule
  secrets: SecretBox
}

export function createAuthorize(options: AuthOptions): Authorize {
  return (access: Access, req: IncomingMessage, params: Record<string, unknown>): Caller => {
    const token = bearer(req)
    if (access === 'public') return { kind: 'anonymous' }
    if (access === 'people') {
      if (isLocalRequest(options.local, req)) return { kind: 'person' }
      if (token && options.adminToken && safeEqual(token, options.adminToken)) return { kind: 'person' }
      throw unauthorized('this app is reachable off loopback: send Authorization: Bearer <TERARCHITECT_ADMIN_TOKEN>')
    }
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
