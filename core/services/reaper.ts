/**
 * Background upkeep: jobs whose lease expired (their coordinator died or lost the network) go back
 * to pending with attempt+1, or fail with an explanation after max_attempts; a cancel that was
 * requested ends them cancelled. Only JOB_LEASE_GRACE_SEC after the expiry: an agent whose
 * coordinator is gone stops itself before its lease runs out (core/agent/cancel.ts), so the next
 * attempt never starts while the last one still works. Also prunes the live-update feed past its
 * retention. The job's reason says its lease was lost (job-reason.ts `leaseLostReason`), pointing
 * at the `lease_expired` log event: on the job queued again too, until its next claim.
 * The loop never throws: errors are logged and the next tick tries again.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import { jobSummary } from './jobs.ts'
import { insertJobEvents } from './job-events.ts'
import { noteRequeueReason, settleJobReason } from './job-reason-store.ts'
import { commentJobFailure } from './job-failure-comment.ts'
import { leaseLostReason } from './job-reason.ts'
import type { Job } from '../types.ts'

export async function expireLeases(ctx: AppContext): Promise<number> {
  const expired = await takeBackExpired(ctx)
  // A job failed for good says so on its ticket's PR, after the commit (job-failure-comment.ts).
  await Promise.all(expired.filter((job) => job.status === 'failed').map((job) => commentJobFailure(ctx, job)))
  return expired.length
}

async function takeBackExpired(ctx: AppContext): Promise<Job[]> {
  return write(ctx, async (scope) => {
    const expired = (await scope.tx`
      update agent_jobs set
        status = case when cancel_requested then 'cancelled' when attempt >= max_attempts then 'failed' else 'pending' end,
        error = case
          when cancel_requested then error
          when attempt >= max_attempts then
            'lease expired on attempt ' || attempt || ' of ' || max_attempts || ': coordinator ' ||
            coalesce(claimed_by, '?') || ' stopped heartbeating; giving up'
          else error end,
        attempt = case when cancel_requested or attempt >= max_attempts then attempt else attempt + 1 end,
        finished_at = case when cancel_requested or attempt >= max_attempts then now() else null end,
        started_at = case when cancel_requested or attempt >= max_attempts then started_at else null end,
        claimed_by = null, lease_expires_at = null
      where status = 'running' and lease_expires_at < now() - make_interval(secs => ${ctx.config.JOB_LEASE_GRACE_SEC})
      returning id, project_id, ticket_id, kind, status, attempt, max_attempts, error, cancel_requested, pr_number`) as unknown as Job[]
    for (const job of expired) {
      const summary =
        job.status === 'pending' ? `lease expired; queued again as attempt ${job.attempt}` : job.status === 'cancelled' ? 'lease expired after cancel; job cancelled' : (job.error ?? 'lease expired')
      const [event] = await insertJobEvents(scope, job, [{ step: 'lease_expired', summary }])
      const eventId = event?.seq ?? null
      if (job.status === 'pending') Object.assign(job, await noteRequeueReason(scope.tx, job.id, leaseLostReason('pending', job.attempt, job.max_attempts), eventId))
      else {
        const hint = job.status === 'failed'
          ? leaseLostReason('failed', job.attempt, job.max_attempts)
          : { kind: 'cancelled' as const, text: 'Stopped on request; its coordinator stopped answering (lease lost) before the agent ended' }
        Object.assign(job, await settleJobReason(scope.tx, job, hint, eventId))
      }
      await scope.emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
      if (job.status === 'pending') scope.wakeClaimers(job.project_id)
    }
    return expired
  })
}

export async function pruneFeed(ctx: AppContext): Promise<void> {
  await ctx.sql`delete from app_events where created_at < now() - make_interval(hours => ${ctx.config.EVENT_RETENTION_HOURS})`
}

/** Starts the upkeep loop; returns its stop function. */
export function startReaper(ctx: AppContext): () => Promise<void> {
  let stopped = false
  let running: Promise<void> = Promise.resolve()
  let ticks = 0
  const tick = async () => {
    try {
      const n = await expireLeases(ctx)
      if (n) ctx.log.info('expired job leases', { jobs: n })
      if (++ticks % 720 === 1) await pruneFeed(ctx)
    } catch (error) {
      if (!stopped) ctx.log.warn('reaper tick failed; retrying next interval', { error })
    }
  }
  const timer = setInterval(() => {
    running = running.then(tick)
  }, ctx.config.REAPER_INTERVAL_SEC * 1000)
  timer.unref()
  return async () => {
    stopped = true
    clearInterval(timer)
    await running
  }
}
