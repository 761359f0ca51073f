/**
 * Stores why a job ended failed or cancelled (sql/009_job_reason.sql), in the transaction that ends
 * it and before its `job.updated` is emitted, so every view gets the reason with the status.
 * Where the truth is:
 * - a cancel: who asked, from the audit (`job.cancel` on the job, or the ticket moved back to the
 *   backlog after the job was queued), as "Stopped by <display name or login>";
 * - a failure: the agent's own classified failure event (core/agent/errors.ts `reasonOf`), else the
 *   coordinator's report (`hint`: could not start, timed out, exit code) completed with the job's
 *   last error event, else the job's error.
 * Settling is idempotent: a job that has a reason keeps it. A claim clears the reason
 * (core/services/queue.ts), so a job queued again with one (`noteRequeueReason`) settles afresh.
 */
import type { Sql, TransactionSql } from '../db/index.ts'
import { redactText } from '../log.ts'
import type { Job } from '../types.ts'
import { isReasonKind, type FixTarget, type JobReason, type JobReasonFields } from './job-reason.ts'
import { queueJobFailedNotification } from './notifications-hooks.ts'

type Ended = Pick<Job, 'id' | 'status'>

interface Found {
  reason: JobReason
  eventId: number | null
}

/**
 * Settles the reason of `job` when it ended failed or cancelled; returns the job's reason columns.
 * `hintEventId`: the log event the hint comes from (the reaper's `lease_expired`), pointed at when
 * the hint is the reason.
 */
export async function settleJobReason(tx: Sql | TransactionSql, job: Ended, hint?: JobReason | null, hintEventId?: number | null): Promise<JobReasonFields> {
  if (job.status !== 'failed' && job.status !== 'cancelled') return emptyReason()
  const [row] = await tx`
    select reason_kind, reason, reason_event_id, reason_fix, error, ticket_id, created_at, started_at from agent_jobs where id = ${job.id}`
  const stored = row ? fieldsOf(row) : emptyReason()
  if (!row || stored.reason_kind) return stored
  const found = job.status === 'cancelled'
    ? await cancelReason(tx, job.id, row as { ticket_id: number | null; created_at: string; error: string | null }, hint, hintEventId ?? null)
    : await failureReason(tx, job.id, row.started_at as string | null, row.error as string | null, hint, hintEventId ?? null)
  const fields = await storeReason(tx, job.id, found)
  // Settled once per failure, in the transaction that ends the job: the webhook's event (docs/notifications.md).
  if (job.status === 'failed') await queueJobFailedNotification(tx, job.id, fields)
  return fields
}

/** Records why a job that ended its attempt without a result is pending again (the reaper's lost lease). */
export async function noteRequeueReason(tx: Sql | TransactionSql, jobId: number, reason: JobReason, eventId: number | null): Promise<JobReasonFields> {
  return storeReason(tx, jobId, { reason, eventId })
}

async function storeReason(tx: Sql | TransactionSql, jobId: number, found: Found): Promise<JobReasonFields> {
  const fields: JobReasonFields = {
    reason_kind: found.reason.kind,
    reason: redactText(found.reason.text).slice(0, 2000),
    reason_event_id: found.eventId,
    reason_fix: found.reason.fix ?? null,
  }
  await tx`
    update agent_jobs set reason_kind = ${fields.reason_kind}, reason = ${fields.reason}, reason_event_id = ${fields.reason_event_id},
      reason_fix = ${fields.reason_fix ? tx.json(fields.reason_fix) : null}
    where id = ${jobId}`
  return fields
}

/** A cancel: the person who asked, else what the coordinator or the app said. */
async function cancelReason(tx: Sql | TransactionSql, jobId: number, job: { ticket_id: number | null; created_at: string; error: string | null }, hint: JobReason | null | undefined, hintEventId: number | null): Promise<Found> {
  const [who] = await tx`
    select coalesce(nullif(u.display_name, ''), a.actor_label) as name
    from audit a left join users u on u.id = a.actor_user_id
    where (a.action = 'job.cancel' and a.target_type = 'job' and a.target_id = ${String(jobId)})
       or (a.action = 'ticket.move' and a.target_type = 'ticket' and a.target_id = ${String(job.ticket_id)} and a.at > ${job.created_at})
    order by a.id desc limit 1`
  const [event] = await tx`
    select id from job_events where job_id = ${jobId} and event->>'kind' = 'cancelled' order by id desc limit 1`
  const eventId = (event?.id as number | undefined) ?? hintEventId
  if (who) return { reason: { kind: 'cancelled', text: `Stopped by ${who.name as string}` }, eventId }
  if (hint?.kind === 'cancelled') return { reason: hint, eventId }
  return { reason: { kind: 'cancelled', text: job.error ? sentence(job.error) : 'Stopped' }, eventId }
}

/** A failure: the agent's classified event, else the coordinator's reason with the last error event. */
async function failureReason(tx: Sql | TransactionSql, jobId: number, startedAt: string | null, error: string | null, hint: JobReason | null | undefined, hintEventId: number | null): Promise<Found> {
  // This attempt's events only: an earlier attempt's failure is not why this one ended.
  const [classified] = await tx`
    select id, event from job_events
    where job_id = ${jobId} and event->>'kind' in ('failure', 'cancelled') and event ? 'reason_kind'
      and (${startedAt}::timestamptz is null or created_at >= ${startedAt}::timestamptz)
    order by id desc limit 1`
  const event = classified?.event as Record<string, unknown> | undefined
  if (event && isReasonKind(event.reason_kind) && typeof event.reason === 'string' && event.reason) {
    const fix = isFix(event.fix) ? event.fix : null
    return { reason: { kind: event.reason_kind, text: event.reason, fix }, eventId: classified!.id as number }
  }
  if (hint && hintEventId !== null) return { reason: hint, eventId: hintEventId }
  // The agent died without saying why: its last error (a worker's error event, a failed step).
  const [last] = await tx`
    select id, summary from job_events
    where job_id = ${jobId} and (event->>'kind' in ('error', 'failure') or step = 'error')
      and (${startedAt}::timestamptz is null or created_at >= ${startedAt}::timestamptz)
    order by id desc limit 1`
  const base: JobReason = hint ?? { kind: 'internal', text: error ? sentence(error) : 'Failed' }
  if (!last) return { reason: base, eventId: await lastCoordinatorNote(tx, jobId) }
  const text = base.kind === 'internal' && last.summary ? `${base.text}: ${last.summary as string}` : base.text
  return { reason: { ...base, text }, eventId: last.id as number }
}

/** The coordinator's last note on the job (`the agent could not be started: …`). */
async function lastCoordinatorNote(tx: Sql | TransactionSql, jobId: number): Promise<number | null> {
  const [note] = await tx`select id from job_events where job_id = ${jobId} and step = 'coordinator' order by id desc limit 1`
  return (note?.id as number | undefined) ?? null
}

function isFix(value: unknown): value is FixTarget {
  const fix = value as Partial<{ kind: string; key: string; field: string }> | null
  return !!fix && ((fix.kind === 'setting' && typeof fix.key === 'string') || (fix.kind === 'project' && typeof fix.field === 'string'))
}

function fieldsOf(row: Record<string, unknown>): JobReasonFields {
  return {
    reason_kind: isReasonKind(row.reason_kind) ? row.reason_kind : null,
    reason: (row.reason as string | null) ?? null,
    reason_event_id: row.reason_event_id === null || row.reason_event_id === undefined ? null : Number(row.reason_event_id),
    reason_fix: isFix(row.reason_fix) ? row.reason_fix : null,
  }
}

const emptyReason = (): JobReasonFields => ({ reason_kind: null, reason: null, reason_event_id: null, reason_fix: null })
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)
