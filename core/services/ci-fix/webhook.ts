/**
 * The fast path of CI following: a verified delivery saying a commit's checks changed (GitHub
 * `check_run`/`check_suite`/`status`, GitLab `Pipeline Hook`, Gitea `status`) brings the tracked
 * open requests of that repository whose head may be that commit back to the follower at once.
 * The delivery's own claims (states, names) are not trusted: the follower reads the checks again
 * from the forge, so a replayed or stale delivery changes nothing.
 */
import type { AppContext } from '../../context.ts'
import type { VerifiedProjects } from '../webhook-projects.ts'
import { followPr } from './follow.ts'

/** Acts within `verified.ids` only: the projects whose webhook secret verified the delivery. */
export async function handleChecksEvent(ctx: AppContext, event: { repo: string; sha: string; number: number | null }, verified: VerifiedProjects): Promise<Record<string, unknown>> {
  const prs = await ctx.sql`
    select id from prs where lower(repo) = lower(${event.repo}) and tracking and state = 'open' and project_id = any(${verified.ids}::int[])
      and (${event.number}::int is null or number = ${event.number}) order by id limit 20`
  if (!prs.length) return { ignored: `no tracked open request of ${event.repo}${event.number ? ` #${event.number}` : ''}` }
  const followed = []
  for (const pr of prs) {
    const result = await followPr(ctx, pr.id as number)
    followed.push({ pr_id: pr.id, outcome: result.round?.outcome ?? null, job_id: result.jobId, skipped: result.skipped ?? null })
  }
  return { sha: event.sha, followed }
}
