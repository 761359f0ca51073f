/**
 * Job events (the execution log): appended by agents and coordinators, read by people with
 * `?after=<seq>` pagination, pushed live over SSE. Text is passed through the log redactor first,
 * so a known secret or an issued credential (job token, coordinator token) that slipped into
 * output is stored as `***`.
 */
import type { AppContext, WriteScope } from '../context.ts'
import { write } from '../context.ts'
import { redactText } from '../log.ts'
import { registerStoredSecrets } from './coordinator-forge-token.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import type { JobEvent, JobEventInput } from '../types.ts'

const RAW_LIMIT = 65536

export async function appendJobEvents(
  ctx: AppContext,
  job: { id: number; ticket_id: number | null; project_id: number },
  events: JobEventInput[],
): Promise<JobEvent[]> {
  return write(ctx, async (scope) => {
    await registerStoredSecrets(ctx, scope.tx)
    return insertJobEvents(scope, job, events)
  })
}

export async function insertJobEvents(
  scope: WriteScope,
  job: { id: number; ticket_id: number | null; project_id: number },
  events: JobEventInput[],
): Promise<JobEvent[]> {
  if (!events.length) return []
  const { tx } = scope
  const rows = events.map((event) => ({
    job_id: job.id,
    ticket_id: job.ticket_id,
    project_id: job.project_id,
    step: event.step,
    summary: redactText(event.summary ?? ''),
    raw_output: event.raw_output === undefined ? null : redactText(event.raw_output.slice(-RAW_LIMIT)),
    event: event.event === undefined ? null : JSON.parse(redactText(JSON.stringify(event.event))),
  }))
  const inserted = (await tx`
    insert into job_events ${tx(rows, 'job_id', 'ticket_id', 'project_id', 'step', 'summary', 'raw_output', 'event')}
    returning id as seq, job_id, ticket_id, created_at, step, summary, raw_output, event`) as unknown as JobEvent[]
  for (const event of inserted) {
    await scope.emit({ project_id: job.project_id, type: 'log', payload: { ...event, raw_output: undefined } })
  }
  return inserted
}

export async function listTicketEvents(
  sql: Sql | TransactionSql,
  ticketId: number,
  after: number,
  limit: number,
  jobId?: number,
): Promise<{ events: JobEvent[]; next_after: number }> {
  const events = (await sql`
    select id as seq, job_id, ticket_id, created_at, step, summary, raw_output, event
    from job_events
    where ticket_id = ${ticketId} and id > ${after} and (${jobId ?? null}::int is null or job_id = ${jobId ?? null})
    order by id limit ${limit}`) as unknown as JobEvent[]
  return { events, next_after: events.length ? events[events.length - 1]!.seq : after }
}
