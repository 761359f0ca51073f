/**
 * What a ci_fix job's agent gets with worker-context: its request as the forge has it now (the
 * review context's `pr`: the branch to push), and the round it works: the commit whose checks
 * failed and the failing checks, bounded and redacted when the round was recorded (excerpt.ts).
 */
import type { AppContext } from '../../context.ts'
import { conflict } from '../../errors.ts'
import type { Job } from '../../types.ts'
import { reviewContext, type ReviewContext } from '../forge-actions.ts'
import type { FailingCheck } from './excerpt.ts'

export interface CiFixContext {
  pr: ReviewContext['pr']
  round: number
  max_rounds: number | null
  sha: string
  failing: FailingCheck[]
}

export async function ciFixContext(ctx: AppContext, job: Job): Promise<CiFixContext> {
  const [row] = await ctx.sql`select round, sha, failing from ci_rounds where job_id = ${job.id}`
  if (!row) throw conflict(`job ${job.id} has no CI round: ci_fix jobs are queued by the CI follower only`)
  const { pr } = await reviewContext(ctx, job)
  const [event] = await ctx.sql`select (event->>'max_rounds')::int as max from job_events where job_id = ${job.id} and event->>'kind' = 'ci_round' limit 1`
  return { pr, round: row.round as number, max_rounds: (event?.max as number | undefined) ?? null, sha: row.sha as string, failing: row.failing as FailingCheck[] }
}
