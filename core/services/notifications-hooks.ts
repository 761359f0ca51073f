/**
 * Where the app's own transitions queue webhook events (notifications-events.ts), one call from
 * each: a job settled failed (job-reason-store.ts), a ticket's agent reporting a new pull request
 * (tickets.ts `completeTicket`), a review job reported succeeded (queue.ts). Each runs in the
 * caller's transaction. `ci_fix.exhausted` is queued by the CI fixer with `queueNotification`.
 */
import type { Sql, TransactionSql } from '../db/index.ts'
import type { JobReasonFields } from './job-reason.ts'
import { queueNotification } from './notifications-events.ts'

export async function queueJobFailedNotification(tx: Sql | TransactionSql, jobId: number, fields: JobReasonFields): Promise<void> {
  const [job] = await tx`select id, project_id, ticket_id, kind, attempt from agent_jobs where id = ${jobId}`
  if (!job) return
  await queueNotification(tx, {
    event: 'job.failed', projectId: job.project_id as number, ticketId: job.ticket_id as number | null,
    job: { id: job.id as number, kind: job.kind as string, attempt: job.attempt as number },
    reason: { kind: fields.reason_kind, text: fields.reason },
  })
}

export async function queuePrOpenedNotification(tx: Sql | TransactionSql, projectId: number, ticketId: number, pull: { number: number; url: string | null }, jobId: number | null): Promise<void> {
  const [job] = jobId ? await tx`select id, kind, attempt from agent_jobs where id = ${jobId} and ticket_id = ${ticketId}` : []
  await queueNotification(tx, {
    event: 'pr.opened', projectId, ticketId, pull_request: pull,
    ...(job ? { job: { id: job.id as number, kind: job.kind as string, attempt: job.attempt as number } } : {}),
  })
}

export async function queueReviewDoneNotification(tx: Sql | TransactionSql, job: { id: number; project_id: number; ticket_id: number | null; kind: string; attempt: number; pr_number: number | null }): Promise<void> {
  const [ticket] = job.ticket_id === null ? [] : await tx`select pr_url from tickets where id = ${job.ticket_id}`
  await queueNotification(tx, {
    event: 'review.done', projectId: job.project_id, ticketId: job.ticket_id,
    job: { id: job.id, kind: job.kind, attempt: job.attempt },
    pull_request: { number: job.pr_number, url: (ticket?.pr_url as string | null | undefined) ?? null },
  })
}
