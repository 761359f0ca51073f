/**
 * The executor a running job really runs on, as its coordinator reports it: a docker-mode job the
 * coordinator ran on its host (AGENT_FALLBACK_TO_HOST) becomes `local` with the reason the container
 * could not start, so the jobs API and the UI show where the agent ran instead of the claimed executor.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import { redactText } from '../log.ts'
import type { Job } from '../types.ts'
import { JOB_COLUMNS, jobSummary } from './jobs.ts'
import { leaseLost, type Holder } from './queue.ts'

/** Records `executor` (and the fallback reason, or null) on a running job this holder claimed; refused as `leaseLost` says otherwise. */
export async function recordJobExecutor(ctx: AppContext, jobId: number, holder: Holder, executor: string, fallbackReason: string | null): Promise<Job> {
  return write(ctx, async ({ tx, emit }) => {
    const [row] = await tx.unsafe(
      `update agent_jobs set executor = $2, fallback_reason = $3
       where id = $1 and status = 'running' and claimed_by = $4 and claimed_credential = $5 and claim_seq = $6
       returning ${JOB_COLUMNS}`,
      // The reason quotes the daemon's error: coordinator-produced text, stored masked like job errors.
      [jobId, executor, fallbackReason === null ? null : redactText(fallbackReason), holder.coordinatorId, holder.credential.id, holder.claimSeq],
    )
    // Refused like a heartbeat: an unknown job 404, another credential's 403, else 409.
    if (!row) return leaseLost(tx, jobId, holder)
    const job = row as unknown as Job
    await emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
    return job
  })
}
