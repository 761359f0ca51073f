/**
 * One review job per PR at a time, comments in the order they were written. `dispatchReview` runs
 * after every change that may free or fill the slot (a comment stored, a job of the ticket ended,
 * each poll cycle); under the PR row's lock it first settles the comments whose job ended, then,
 * when the ticket has no active job (ticket or review: two agents must not push to one branch),
 * enqueues the oldest comment still waiting.
 *
 * Settling: succeeded → addressed; cancelled (a person stopped it) → given up at once; failed →
 * the same job runs again as its next attempt (attempt 2 of 3, …) once `retryDelayMs` has passed
 * since it failed, until it has had its max_attempts, then the comment is given up with the job's
 * error shown. A comment waiting out its delay keeps its place: later comments wait behind it.
 */
import type { AppContext, WriteScope } from '../../context.ts'
import { write } from '../../context.ts'
import { isAppError, notFound } from '../../errors.ts'
import type { Job } from '../../types.ts'
import { JOB_COLUMNS, assertRunnable, enqueueJob, jobSummary } from '../jobs.ts'
import { getProject } from '../projects.ts'
import { PR_COLUMNS, type PrRow } from './prs.ts'

export async function dispatchReview(ctx: AppContext, prId: number): Promise<Job | null> {
  return write(ctx, async (scope) => {
    const { tx } = scope
    const [row] = await tx.unsafe(`select ${PR_COLUMNS} from prs where id = $1 for update`, [prId])
    if (!row) return null
    const pr = row as unknown as PrRow
    await settle(scope, pr)
    if (!pr.tracking) return null
    const [active] = await tx`select id from agent_jobs where ticket_id = ${pr.ticket_id} and status in ('pending', 'running') limit 1`
    if (active) return null
    const [next] = await tx`
      select c.id, c.github_id, c.kind, c.body, c.path, c.line, c.review_state, c.author, c.attempts, c.job_id, j.attempt,
        (extract(epoch from now() - j.finished_at) * 1000)::float8 as failed_ms_ago
      from pr_review_comments c left join agent_jobs j on j.id = c.job_id and j.status = 'failed'
      where c.pr_id = ${pr.id} and c.authorized and c.ignored_reason is null and c.addressed_at is null and c.failed_at is null
        and (c.job_id is null or j.id is not null)
      order by c.created_at, c.github_id limit 1`
    if (!next) return null
    const failedJob = next.job_id as number | null
    // The database's clock on both sides: app replicas may disagree about the time.
    if (failedJob !== null && (next.failed_ms_ago as number) < retryDelayMs(next.attempt as number)) return null
    try {
      await assertRunnable(ctx, tx, await getProject(tx, pr.project_id))
    } catch (error) {
      if (!isAppError(error)) throw error
      // Shown on the PR; the next dispatch (poll cycle) tries again once the settings are fixed.
      await tx`update prs set last_error = ${error.message}, updated_at = now() where id = ${pr.id}`
      return null
    }
    if (failedJob !== null) {
      const job = await requeue(scope, failedJob)
      await tx`update pr_review_comments set attempts = attempts + 1 where id = ${next.id as number}`
      return job
    }
    const job = await enqueueJob(ctx, scope, {
      projectId: pr.project_id,
      ticketId: pr.ticket_id,
      kind: 'review',
      prNumber: pr.number,
      commentBody: instruction(next),
      githubCommentId: next.github_id as number,
    })
    await tx`update pr_review_comments set job_id = ${job.id}, attempts = attempts + 1, error = null where id = ${next.id as number}`
    return job
  })
}

/** Dispatches every tracked PR of the ticket (after one of its jobs ended). */
export async function dispatchForTicket(ctx: AppContext, ticketId: number): Promise<void> {
  const prs = await ctx.sql`select id from prs where ticket_id = ${ticketId} and tracking`
  for (const pr of prs) await dispatchReview(ctx, pr.id as number)
}

async function settle(scope: WriteScope, pr: PrRow): Promise<void> {
  const { tx } = scope
  const ended = await tx`
    select c.id, j.id as job_id, j.status, j.error, j.finished_at, j.attempt, j.max_attempts
    from pr_review_comments c join agent_jobs j on j.id = c.job_id
    where c.pr_id = ${pr.id} and c.addressed_at is null and c.failed_at is null
      and j.status in ('succeeded', 'failed', 'cancelled')`
  for (const c of ended) {
    if (c.status === 'succeeded') {
      await tx`update pr_review_comments set addressed_at = coalesce(${c.finished_at as string}, now()), error = null where id = ${c.id as number}`
    } else if (c.status === 'cancelled') {
      await tx`update pr_review_comments set failed_at = now(), error = ${`job ${c.job_id} was cancelled`} where id = ${c.id as number}`
    } else if ((c.attempt as number) >= (c.max_attempts as number)) {
      const error = `gave up after ${c.attempt} attempt(s); last error: ${(c.error as string | null) ?? 'job failed'}`
      await tx`update pr_review_comments set failed_at = now(), error = ${error} where id = ${c.id as number}`
    } else {
      // The job stays linked: dispatchReview runs it again as its next attempt after the delay.
      const error = `attempt ${c.attempt} of ${c.max_attempts} failed: ${(c.error as string | null) ?? 'job failed'}; trying again in ${delayText(retryDelayMs(c.attempt as number))}`
      await tx`update pr_review_comments set error = ${error} where id = ${c.id as number}`
    }
  }
}

/**
 * How long a failed review job waits before its next attempt: 30 s after the first failure, then
 * 2 min, 8 min (×4 each time). A comment that fails at once (a push rejected, the model down) is
 * not retried in a burst, and a passing outage has time to end.
 */
export function retryDelayMs(failedAttempt: number): number {
  return 30_000 * 4 ** Math.max(0, failedAttempt - 1)
}

const delayText = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`)

/**
 * The failed job back to pending as its next attempt, cleared of what the last attempt left (like a
 * lease that expired, core/services/reaper.ts). Its log goes on under the same job.
 */
async function requeue(scope: WriteScope, jobId: number): Promise<Job> {
  const [row] = await scope.tx.unsafe(
    `update agent_jobs set status = 'pending', attempt = attempt + 1, started_at = null, finished_at = null, exit_code = null,
       error = null, output_tail = null, claimed_by = null, claimed_credential = null, lease_expires_at = null,
       reason_kind = null, reason = null, reason_event_id = null, reason_fix = null
     where id = $1 and status = 'failed' and attempt < max_attempts returning ${JOB_COLUMNS}`,
    [jobId],
  )
  const job = row as unknown as Job
  await scope.emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
  scope.wakeClaimers(job.project_id)
  return job
}

/** What the review agent is asked to address: the comment, with where it was made. */
function instruction(comment: Record<string, unknown>): string {
  const body = String(comment.body)
  if (comment.kind === 'review_comment') {
    const where = `${comment.path ?? 'the diff'}${comment.line ? ` line ${comment.line}` : ''}`
    return `Review comment by @${comment.author} on ${where}:\n\n${body}`
  }
  if (comment.kind === 'review') {
    const state = String(comment.review_state ?? 'COMMENTED').toLowerCase().replace('_', ' ')
    return `Review by @${comment.author} (${state}):\n\n${body}`
  }
  return body
}

/** The review agent's "done with this comment" (DESIGN §7.2); its job's success would say the same. */
export async function markAddressed(ctx: AppContext, ticketId: number, githubCommentId: number): Promise<{ addressed: number }> {
  const rows = await ctx.sql`
    update pr_review_comments c set addressed_at = coalesce(c.addressed_at, now()), failed_at = null
    from prs p where p.id = c.pr_id and p.ticket_id = ${ticketId} and c.github_id = ${githubCommentId}
    returning c.id`
  if (!rows.length) throw notFound(`review comment ${githubCommentId} of ticket ${ticketId}`)
  return { addressed: rows.length }
}
