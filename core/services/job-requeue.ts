/**
 * A run whose place is gone (its Swarm node went down, its pod was evicted or lost its node) goes
 * back to the queue by itself, like a lost lease (reaper.ts) but at once: the coordinator saw the
 * place go and reports it (`POST /api/worker/jobs/:id/requeue`). Only the coordinator holding the
 * claim may (same rules as release: 403 for another credential, 409 when it is not running there).
 * Below max_attempts the job is pending again at attempt+1; on its last attempt it fails, "not
 * retried"; a requested cancel ends it cancelled. The executor returns `lost` only once the run is
 * seen down or removed (core/executor.ts), so the next attempt never runs beside it.
 * The report names the claim it is about (`claim_seq`): the same coordinator often claims the next
 * attempt at once (the requeue wakes its claim), and a report of the lost run that comes again (a
 * retry after its answer was lost) must not send that next run back to the queue: 409.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import { redactNullable } from '../log.ts'
import type { Job } from '../types.ts'
import { JOB_COLUMNS, jobSummary } from './jobs.ts'
import { insertJobEvents } from './job-events.ts'
import { noteRequeueReason, settleJobReason } from './job-reason-store.ts'
import { lostSentence, placeLostReason } from './job-reason.ts'
import { commentJobFailure } from './job-failure-comment.ts'
import { leaseLost, type Holder } from './queue.ts'

export interface Requeue {
  holder: Holder
  /** What the executor saw, e.g. "its node swarm-worker-1 is down (heartbeat failure)". */
  lost: string
  outputTail: string | null
}

export async function requeueLostJob(ctx: AppContext, jobId: number, requeue: Requeue): Promise<Job> {
  const said = lostSentence(requeue.lost)
  const job = await write(ctx, async (scope) => {
    const [row] = await scope.tx.unsafe(
      `update agent_jobs set
         status = case when cancel_requested then 'cancelled' when attempt >= max_attempts then 'failed' else 'pending' end,
         error = case when cancel_requested or attempt < max_attempts then error else $4 || ' on attempt ' || attempt || ' of ' || max_attempts || '; not retried' end,
         output_tail = case when cancel_requested or attempt >= max_attempts then coalesce($5, output_tail) else output_tail end,
         attempt = case when cancel_requested or attempt >= max_attempts then attempt else attempt + 1 end,
         finished_at = case when cancel_requested or attempt >= max_attempts then now() else null end,
         started_at = case when cancel_requested or attempt >= max_attempts then started_at else null end,
         claimed_by = null, claimed_credential = null, lease_expires_at = null
       where id = $1 and status = 'running' and claimed_by = $2 and claimed_credential = $3 and claim_seq = $6
       returning ${JOB_COLUMNS}`,
      [jobId, requeue.holder.coordinatorId, requeue.holder.credential.id, redactNullable(said), redactNullable(requeue.outputTail), requeue.holder.claimSeq],
    )
    if (!row) return leaseLost(scope.tx, jobId, requeue.holder)
    const job = row as unknown as Job
    const summary = job.status === 'pending'
      ? `${said}; queued again as attempt ${job.attempt} of ${job.max_attempts}`
      : job.status === 'cancelled' ? `${said} after a cancel; job cancelled` : (job.error ?? said)
    const [event] = await insertJobEvents(scope, job, [{ step: 'run_lost', summary }])
    const eventId = event?.seq ?? null
    if (job.status === 'pending') Object.assign(job, await noteRequeueReason(scope.tx, job.id, placeLostReason(requeue.lost, 'pending', job.attempt, job.max_attempts), eventId))
    else {
      const hint = job.status === 'failed'
        ? placeLostReason(requeue.lost, 'failed', job.attempt, job.max_attempts)
        : { kind: 'cancelled' as const, text: `Stopped on request; ${requeue.lost} before the agent ended` }
      Object.assign(job, await settleJobReason(scope.tx, job, hint, eventId))
    }
    await scope.emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
    if (job.status === 'pending') scope.wakeClaimers(job.project_id)
    return job
  })
  // A job failed for good says so on its ticket's PR, after the commit (job-failure-comment.ts).
  if (job.status === 'failed') void commentJobFailure(ctx, job)
  return job
}
