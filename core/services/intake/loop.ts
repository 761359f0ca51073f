/**
 * The intake poller, the guarantee behind webhooks: every REVIEW_POLL_INTERVAL_SEC (the review
 * poller's cadence, re-read each cycle) each project whose intake is on asks its forge for the
 * issues changed since its cursor (the plugin's own) and syncs each one; the cursor is saved only
 * after every issue returned was handled, so a failure mid-way is retried from the old cursor.
 * It never throws (poll-loop.ts).
 */
import type { AppContext } from '../../context.ts'
import { startPollLoop, type PollLoop } from '../poll-loop.ts'
import { syncIssue } from './sync.ts'
import { intakeProjectIds, intakeTarget, type IntakeTarget } from './target.ts'

/** One project's poll; exported for tests. Returns how many issues the forge reported. */
export async function pollIntake(ctx: AppContext, target: IntakeTarget): Promise<number> {
  const repo = target.forge.repo
  const [row] = await ctx.sql`select repo, cursor from issue_intake_cursors where project_id = ${target.projectId}`
  // A project that changed its repository starts over.
  const cursor = row && String(row.repo).toLowerCase() === repo.toLowerCase() ? (row.cursor as Record<string, unknown>) : {}
  try {
    const changed = await target.issues.changed(repo, cursor)
    for (const issue of changed.issues) await syncIssue(ctx, target, issue, { source: 'poller' })
    await ctx.sql`insert into issue_intake_cursors (project_id, repo, cursor, last_polled_at, last_error)
      values (${target.projectId}, ${repo}, ${ctx.sql.json(changed.cursor as never)}, now(), null)
      on conflict (project_id) do update set repo = excluded.repo, cursor = excluded.cursor, last_polled_at = now(), last_error = null`
    return changed.issues.length
  } catch (error) {
    await ctx.sql`insert into issue_intake_cursors (project_id, repo, cursor, last_polled_at, last_error)
      values (${target.projectId}, ${repo}, ${ctx.sql.json(cursor as never)}, now(), ${(error as Error).message.slice(0, 2000)})
      on conflict (project_id) do update set last_polled_at = now(), last_error = excluded.last_error`
    throw error
  }
}

/** One cycle over every project with intake on; one project's failure is logged, not the cycle's. */
export async function intakeCycle(ctx: AppContext): Promise<{ polled: number; failed: number }> {
  let polled = 0
  let failed = 0
  for (const projectId of await intakeProjectIds(ctx)) {
    try {
      const target = await intakeTarget(ctx, projectId)
      if (!target) continue
      await pollIntake(ctx, target)
      polled++
    } catch (error) {
      failed++
      ctx.log.warn('polling issues failed; next cycle retries', { project: projectId, error: (error as Error).message })
    }
  }
  return { polled, failed }
}

/** The poller (poll-loop.ts: the review poller's cadence and backoff). */
export function startIntakeLoop(ctx: AppContext): PollLoop {
  return startPollLoop(ctx, 'intake', () => intakeCycle(ctx))
}
