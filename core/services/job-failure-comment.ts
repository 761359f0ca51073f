/**
 * A failed ticket job says why on its ticket's pull request, where reviewers look: one comment per
 * failed job, with the job's classified reason (never its raw error) and, when PUBLIC_URL is set, a
 * link to it in the app.
 * - Only `failed` ticket jobs: a person's cancel ends `cancelled` and says nothing on the PR; a
 *   review job replies on its PR itself (core/agent/run-agent.ts).
 * - The PR: the one the job opened or found (its `pr_number`), else the ticket's newest open one.
 * - Once: `failure_commented_at` is claimed before the forge call (sql/012); a repeated report, or
 *   two app replicas, never comment twice. A forge failure is logged, not retried.
 * - The body is redacted like every agent text and carries REPLY_MARKER, so review ingestion
 *   skips it (core/services/review/comments.ts).
 * Best effort: it runs after the job's transition committed and never throws.
 */
import type { AppContext } from '../context.ts'
import { redactText } from '../log.ts'
import type { Job } from '../types.ts'
import { projectForge } from './forge-actions.ts'
import { getProject } from './projects.ts'
import { REPLY_MARKER } from './review/comments.ts'

type FailedJob = Pick<Job, 'id' | 'project_id' | 'ticket_id' | 'kind' | 'status' | 'attempt' | 'max_attempts' | 'pr_number' | 'reason' | 'reason_kind' | 'reason_event_id' | 'error'>

/** Comments on the failed ticket job's PR, at most once; resolves when done (or given up), never rejects. */
export async function commentJobFailure(ctx: AppContext, job: FailedJob): Promise<void> {
  if (job.status !== 'failed' || job.kind !== 'ticket' || job.ticket_id === null) return
  try {
    const pr = await pullOf(ctx, job)
    if (pr === null) return
    const [claimed] = await ctx.sql`
      update agent_jobs set failure_commented_at = now() where id = ${job.id} and failure_commented_at is null returning id`
    if (!claimed) return
    await postPullComment(ctx, job.project_id, pr, failureCommentBody(ctx, job))
    ctx.log.info('commented the job failure on its pull request', { jobId: job.id, pr })
  } catch (error) {
    ctx.log.warn('could not comment the job failure on its pull request', { jobId: job.id, error: (error as Error).message })
  }
}

/**
 * The comment: the classified reason as one sentence, and where to read the job's log in the app.
 * The PR may be public: an unclassified failure (`internal`: the raw error, a stack line, a host
 * path) is never posted, only a line saying the reason is in the app.
 */
export function failureCommentBody(ctx: AppContext, job: FailedJob): string {
  const classified = job.reason && job.reason_kind && job.reason_kind !== 'internal' ? job.reason.replace(/[.\s]+$/, '') : null
  const what = `Terarchitect job ${job.id} (attempt ${job.attempt} of ${job.max_attempts}) on this ticket failed`
  const lines = [REPLY_MARKER, classified ? `${what}: ${classified}.` : `${what}; its reason is in the app.`]
  const base = ctx.config.PUBLIC_URL?.replace(/\/+$/, '')
  if (base) {
    const query = job.reason_event_id ? `?event=${job.reason_event_id}` : ''
    lines.push('', `[Open the job's log](${base}/projects/${job.project_id}/tickets/${job.ticket_id}${query})`)
  }
  return redactText(lines.join('\n'))
}

/** The PR number to comment on, or null when the ticket has none open. */
async function pullOf(ctx: AppContext, job: FailedJob): Promise<number | null> {
  if (job.pr_number) return job.pr_number
  const [pr] = await ctx.sql`
    select number from prs where ticket_id = ${job.ticket_id} and project_id = ${job.project_id} and state = 'open'
    order by id desc limit 1`
  return (pr?.number as number | undefined) ?? null
}

/** The one forge call: a comment on PR `number` of the project's repository. */
async function postPullComment(ctx: AppContext, projectId: number, number: number, body: string): Promise<void> {
  const forge = await projectForge(ctx, await getProject(ctx.sql, projectId))
  await forge.client.comment(forge.repo, number, body)
}
