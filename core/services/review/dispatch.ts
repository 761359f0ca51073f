/**
 * One review job per PR at a time, comments in the order they were written. `dispatchReview` runs
 * after every change that may free or fill the slot (a comment stored, a job of the ticket ended,
 * each poll cycle); under the PR row's lock it first settles the comments whose job ended, then,
 * when the ticket has no active job (ticket or review: two agents must not push to one branch),
 * enqueues the oldest comment still waiting.
 *
 * Settling: succeeded → addressed; failed → queued again until it has had JOB_MAX_ATTEMPTS jobs,
 * then given up with the job's error shown; cancelled (a person stopped it) → given up at once.
 */
import type { AppContext, WriteScope } from '../../context.ts'
import { write } from '../../context.ts'
import { isAppError, notFound } from '../../errors.ts'
import type { Job } from '../../types.ts'
import { assertRunnable, enqueueJob } from '../jobs.ts'
import { getProject } from '../projects.ts'
import { PR_COLUMNS, type PrRow } from './prs.ts'

export async function dispatchReview(ctx: AppContext, prId: number): Promise<Job | null> {
  return write(ctx, async (scope) => {
    const { tx } = scope
    const [row] = await tx.unsafe(`select ${PR_COLUMNS} from prs where id = $1 for update`, [prId])
    if (!row) return null
    const pr = row as unknown as PrRow
    await settle(ctx, scope, pr)
    if (!pr.tracking) return null
    const [active] = await tx`select id from agent_jobs where ticket_id = ${pr.ticket_id} and status in ('pending', 'running') limit 1`
    if (active) return null
    const [next] = await tx`
      select id, github_id, kind, body, path, line, review_state, author, attempts from pr_review_comments
      where pr_id = ${pr.id} and authorized and ignored_reason is null and addressed_at is null and failed_at is null and job_id is null
      order by created_at, github_id limit 1`
    if (!next) return null
    try {
      await assertRunnable(ctx, tx, await getProject(tx, pr.project_id))
    } catch (error) {
      if (!isAppError(error)) throw error
      // Shown on the PR; the next dispatch (poll cycle) tries again once the settings are fixed.
      await tx`update prs set last_error = ${error.message}, updated_at = now() where id = ${pr.id}`
      return null
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

async function settle(ctx: AppContext, scope: WriteScope, pr: PrRow): Promise<void> {
  const { tx } = scope
  const ended = await tx`
    select c.id, c.attempts, j.id as job_id, j.status, j.error, j.finished_at
    from pr_review_comments c join agent_jobs j on j.id = c.job_id
    where c.pr_id = ${pr.id} and c.addressed_at is null and c.failed_at is null
      and j.status in ('succeeded', 'failed', 'cancelled')`
  const max = ctx.config.JOB_MAX_ATTEMPTS
  for (const c of ended) {
    if (c.status === 'succeeded') {
      await tx`update pr_review_comments set addressed_at = coalesce(${c.finished_at as string}, now()), error = null where id = ${c.id as number}`
    } else if (c.status === 'cancelled') {
      await tx`update pr_review_comments set failed_at = now(), error = ${`job ${c.job_id} was cancelled`} where id = ${c.id as number}`
    } else if ((c.attempts as number) >= max) {
      const error = `gave up after ${c.attempts} attempt(s); last error: ${(c.error as string | null) ?? 'job failed'}`
      await tx`update pr_review_comments set failed_at = now(), error = ${error} where id = ${c.id as number}`
    } else {
      const error = `attempt ${c.attempts} failed: ${(c.error as string | null) ?? 'job failed'}`
      await tx`update pr_review_comments set job_id = null, error = ${error} where id = ${c.id as number}`
    }
  }
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
