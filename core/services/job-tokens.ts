/**
 * Job tokens: what an agent holds, and all it holds. Issued at claim, signed (secrets.ts) for one
 * project, ticket, job, attempt and claim; accepted only while that job is `running` at that attempt
 * and claim. Cancel (once reported), complete, fail, release and lease expiry (the reaper handing
 * the job back) all end it: the next request with it is 401. A cancel request ends it at once
 * everywhere except the routes an agent needs to stop cleanly (`…/cancel-requested`, which also
 * confirms the lease, and `…/logs`): no push, forge action, LLM call or complete after a cancel.
 * Checking costs one primary-key read.
 * The relays (git, forge actions, LLM) check their callers with `verifyAgentCaller` too.
 */
import type { AppContext } from '../context.ts'
import { forbidden, unauthorized } from '../errors.ts'

/** The job an agent's token was issued for. */
export interface AgentJob {
  jobId: number
  ticketId: number | null
  projectId: number
  attempt: number
}

/** Signs the token for a job just claimed (its attempt and claim_seq as they are now). */
export function issueJobToken(
  ctx: AppContext,
  job: { id: number; ticket_id: number | null; project_id: number; attempt: number; claim_seq: number },
): string {
  return ctx.secrets.signJobToken({
    jobId: job.id,
    ticketId: job.ticket_id,
    projectId: job.project_id,
    attempt: job.attempt,
    claim: job.claim_seq,
    exp: Math.floor(Date.now() / 1000) + ctx.config.JOB_TOKEN_TTL_SEC,
  })
}

/**
 * Checks a job token for a request about `scope` (the project and/or ticket the route names).
 * Throws 401 when the token is invalid, expired, its job is no longer running at the token's
 * attempt and claim, or its job is being cancelled (unless `afterCancel`: the routes that let the
 * agent stop); 403 when it is valid but for another project or ticket.
 */
export async function verifyAgentCaller(
  ctx: AppContext,
  token: string,
  scope: { projectId?: number; ticketId?: number } = {},
  options: { afterCancel?: boolean } = {},
): Promise<AgentJob> {
  const claims = ctx.secrets.verifyJobToken(token)
  if (!claims) throw unauthorized('job token is invalid or expired')
  const sameProject = scope.projectId === undefined || scope.projectId === claims.projectId
  const sameTicket = scope.ticketId === undefined || scope.ticketId === claims.ticketId
  if (!sameProject || !sameTicket) throw forbidden('this job token is for another ticket')
  const [job] = await ctx.sql`select status, attempt, claim_seq, cancel_requested from agent_jobs where id = ${claims.jobId}`
  if (!job) throw unauthorized(`job token is no longer valid: job ${claims.jobId} no longer exists`)
  if (job.status !== 'running') throw unauthorized(`job token is no longer valid: job ${claims.jobId} is ${job.status}`)
  if (job.attempt !== claims.attempt || job.claim_seq !== claims.claim) {
    throw unauthorized(`job token is no longer valid: job ${claims.jobId} was claimed again (attempt ${job.attempt})`)
  }
  if (job.cancel_requested && !options.afterCancel) {
    throw unauthorized(`job token is no longer valid: job ${claims.jobId} was cancelled; only its logs and cancel-requested answer until it stops`)
  }
  return { jobId: claims.jobId, ticketId: claims.ticketId, projectId: claims.projectId, attempt: claims.attempt }
}
