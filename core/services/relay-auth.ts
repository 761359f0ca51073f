/**
 * How a request to the git relay proves its job: by the job token alone, sent as
 * `Authorization: Bearer <token>` or as the password of HTTP Basic (what git's credential helper
 * answers; the user name is ignored). The forge actions are ordinary agent routes (auth.ts). The token must be signed for this project and ticket, and its
 * job must still be running at the token's attempt and claim: a token of a job that ended (complete,
 * fail, cancel, release, lease expiry) opens nothing. The worker key and people's credentials open
 * nothing here either.
 */
import type { IncomingMessage } from 'node:http'
import type { AppContext } from '../context.ts'
import { unauthorized } from '../errors.ts'
import type { Job } from '../types.ts'
import { getJob } from './jobs.ts'
import { verifyAgentCaller } from './job-tokens.ts'

/** The job token a request carries, from Bearer or from the Basic password; undefined when none. */
export function requestJobToken(req: IncomingMessage): string | undefined {
  const header = String(req.headers.authorization ?? '').trim()
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)
  if (bearer) return bearer[1]
  const basic = /^Basic\s+(\S+)$/i.exec(header)
  if (!basic) return undefined
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined
}

/**
 * The running job `token` opens for this project and ticket (the check of every agent route,
 * services/job-tokens.ts). 401: no token, not a valid job token, or its job has ended; 403: a valid
 * token of another project or ticket.
 */
export async function runningJobOf(ctx: AppContext, token: string | undefined, projectId: number, ticketId: number): Promise<Job> {
  if (!token) throw unauthorized('send the job token (Authorization: Bearer, or as the HTTP Basic password)')
  const agent = await verifyAgentCaller(ctx, token, { projectId, ticketId })
  return getJob(ctx.sql, agent.jobId)
}
