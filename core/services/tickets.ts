/**
 * Tickets on the board. Moving a ticket into the column whose role is `in_progress` enqueues its
 * job in the same transaction (422 when the project cannot run, 409 when a job is already active);
 * moving it back to the backlog asks its running job to stop. Positions stay dense per column.
 */
import type { AppContext, WriteScope } from '../context.ts'
import { write } from '../context.ts'
import { badRequest, notFound } from '../errors.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import type { Board, Job, Ticket, TicketCreate, TicketPatch } from '../types.ts'
import { columnWithRole, getBoard } from './board.ts'
import { getProject } from './projects.ts'
import { defaultLinks, getGraph } from './graph.ts'
import { assertRunnable, enqueueJob, jobSummary } from './jobs.ts'
import { cancelJob } from './queue.ts'
import { settleJobReason } from './job-reason-store.ts'
import { queuePrOpenedNotification } from './notifications-hooks.ts'
import { APP_ACTOR, recordAudit, type Actor } from './audit.ts'
import { insertJobEvents } from './job-events.ts'

/** The agent's completion moves tickets too; the audit trail names it. */
const AGENT_ACTOR: Actor = { userId: null, label: 'agent', address: null }
import { redactNullable } from '../log.ts'
import { registerStoredSecrets } from './coordinator-forge-token.ts'
import { ISSUE_COLUMN } from './intake/links.ts'
import { DEPENDENCY_COLUMNS, afterBlockerDeleted, endWait, onTicketDone, waitIfBlocked, dependentsOf } from './ticket-dependencies.ts'

/** A ticket as shown on the board: with a summary of its latest job. */
export type TicketView = Ticket & { job: ReturnType<typeof jobSummary> & { kind: string } | null }

const SELECT = `
  select t.id, t.number, (select key from projects where id = t.project_id) as project_key, t.project_id, t.title, t.description, t.column_id, t.position, t.priority,
    t.associated_node_ids, t.associated_edge_ids, t.pr_url, t.pr_number, t.summary, t.created_at, t.updated_at,
    ${DEPENDENCY_COLUMNS},
    ${ISSUE_COLUMN},
    case when j.id is null then null else jsonb_build_object('job_id', j.id, 'ticket_id', j.ticket_id, 'kind', j.kind,
      'status', j.status, 'attempt', j.attempt, 'error', j.error, 'cancel_requested', j.cancel_requested,
      'reason_kind', j.reason_kind, 'reason', j.reason, 'reason_event_id', j.reason_event_id, 'reason_fix', j.reason_fix) end as job
  from tickets t
  left join lateral (select * from agent_jobs where ticket_id = t.id order by id desc limit 1) j on true`

export async function listTickets(sql: Sql | TransactionSql, projectId: number): Promise<TicketView[]> {
  return (await sql.unsafe(`${SELECT} where t.project_id = $1 order by t.column_id, t.position, t.id`, [projectId])) as unknown as TicketView[]
}

export async function getTicket(sql: Sql | TransactionSql, projectId: number, ticketId: number): Promise<TicketView> {
  const [row] = await sql.unsafe(`${SELECT} where t.project_id = $1 and t.id = $2`, [projectId, ticketId])
  if (!row) throw notFound(`ticket ${ticketId} in project ${projectId}`)
  return row as unknown as TicketView
}

/** `within`: more writes in the ticket's own transaction, after its row exists (the issue intake's link). */
export async function createTicket(ctx: AppContext, projectId: number, input: TicketCreate, actor: Actor = APP_ACTOR,
  within?: (scope: WriteScope, ticketId: number) => Promise<void>): Promise<TicketView> {
  return write(ctx, async (scope) => {
    const { tx } = scope
    await lockProject(tx, projectId)
    const board = await getBoard(tx, projectId)
    const columnId = input.column_id ?? columnWithRole(board, 'backlog')!.id
    const column = requireColumn(board, columnId)
    const [{ n }] = (await tx`select count(*)::int as n from tickets where project_id = ${projectId} and column_id = ${columnId}`) as unknown as [{ n: number }]
    const position = Math.min(input.position ?? n, n)
    await tx`update tickets set position = position + 1 where project_id = ${projectId} and column_id = ${columnId} and position >= ${position}`
    const links = defaultLinks(await getGraph(tx, projectId), input)
    // The project row is locked above: numbers are handed out one insert at a time.
    const [{ number }] = (await tx`update projects set last_ticket_number = last_ticket_number + 1 where id = ${projectId}
      returning last_ticket_number as number`) as unknown as [{ number: number }]
    const [row] = await tx`
      insert into tickets (project_id, number, title, description, column_id, position, priority, associated_node_ids, associated_edge_ids)
      values (${projectId}, ${number}, ${input.title}, ${input.description ?? ''}, ${columnId}, ${position}, ${input.priority ?? 'medium'},
        ${tx.json(links.nodes)}, ${tx.json(links.edges)})
      returning id`
    const id = row!.id as number
    await within?.(scope, id)
    if (column.role === 'in_progress') {
      await startTicketJob(ctx, scope, projectId, id, actor, `created in ${column.title} by ${actor.label}`)
      await recordAudit(tx, actor, { action: 'ticket.move', target: { type: 'ticket', id }, projectId, details: { to: columnId, created: true } })
    }
    const ticket = await getTicket(tx, projectId, id)
    await scope.emit({ project_id: projectId, type: 'ticket.created', payload: { ticket } })
    return ticket
  })
}

export async function updateTicket(ctx: AppContext, projectId: number, ticketId: number, patch: TicketPatch, actor: Actor = APP_ACTOR): Promise<TicketView> {
  return write(ctx, async (scope) => {
    const { tx } = scope
    await lockProject(tx, projectId)
    const current = await getTicket(tx, projectId, ticketId)
    const { column_id, position, ...fields } = patch
    if (Object.keys(fields).length) {
      const values: Record<string, unknown> = { ...fields }
      if (fields.associated_node_ids) values.associated_node_ids = tx.json(fields.associated_node_ids)
      if (fields.associated_edge_ids) values.associated_edge_ids = tx.json(fields.associated_edge_ids)
      await tx`update tickets set ${tx(values)}, updated_at = now() where id = ${ticketId}`
    }
    // Repeating the ticket's own column without a position (a form saving every field) is no move.
    if (position !== undefined || (column_id !== undefined && column_id !== current.column_id)) {
      await moveTicket(ctx, scope, current, column_id ?? current.column_id, position, actor)
    }
    const ticket = await getTicket(tx, projectId, ticketId)
    await scope.emit({ project_id: projectId, type: 'ticket.updated', payload: { ticket, from_column_id: current.column_id } })
    return ticket
  })
}

/**
 * Moves a ticket (a change of column is audited); returns the job the move started, if it entered
 * the in_progress column.
 */
async function moveTicket(ctx: AppContext, scope: WriteScope, ticket: TicketView, columnId: string, wanted: number | undefined, actor: Actor): Promise<Job | null> {
  const { tx } = scope
  const board = await getBoard(tx, ticket.project_id)
  const target = requireColumn(board, columnId)
  const source = board.columns.find((column) => column.id === ticket.column_id)
  // Take the ticket out of its column, then open a gap at the wanted position of the target.
  await tx`update tickets set position = position - 1
    where project_id = ${ticket.project_id} and column_id = ${ticket.column_id} and position > ${ticket.position}`
  const [{ n }] = (await tx`select count(*)::int as n from tickets
    where project_id = ${ticket.project_id} and column_id = ${columnId} and id <> ${ticket.id}`) as unknown as [{ n: number }]
  const position = Math.min(wanted ?? n, n)
  await tx`update tickets set position = position + 1
    where project_id = ${ticket.project_id} and column_id = ${columnId} and position >= ${position} and id <> ${ticket.id}`
  await tx`update tickets set column_id = ${columnId}, position = ${position}, updated_at = now() where id = ${ticket.id}`
  if (columnId !== ticket.column_id) {
    await recordAudit(tx, actor, { action: 'ticket.move', target: { type: 'ticket', id: ticket.id }, projectId: ticket.project_id, details: { from: ticket.column_id, to: columnId } })
  }
  if (target.role === 'backlog' && ticket.job && ['pending', 'running'].includes(ticket.job.status)) {
    await requestCancel(scope, ticket.job.job_id)
  }
  if (source?.role === 'in_progress' && target.role !== 'in_progress') await endWait(tx, ticket.id)
  if (target.role === 'done' && source?.role !== 'done') await onTicketDone(ctx, scope, ticket.project_id, ticket)
  if (target.role === 'in_progress' && source?.role !== 'in_progress') {
    if (await waitIfBlocked(ctx, scope, ticket, actor)) return null
    return startTicketJob(ctx, scope, ticket.project_id, ticket.id, actor, `moved to ${target.title} by ${actor.label}`)
  }
  return null
}

async function requestCancel(scope: WriteScope, jobId: number): Promise<void> {
  const [row] = await scope.tx`
    update agent_jobs set cancel_requested = true,
      status = case when status = 'pending' then 'cancelled' else status end,
      finished_at = case when status = 'pending' then now() else finished_at end
    where id = ${jobId} and status in ('pending', 'running')
    returning id, project_id, ticket_id, status, attempt, error, cancel_requested`
  if (!row) return
  const job = Object.assign(row as unknown as Job, await settleJobReason(scope.tx, row as unknown as Job))
  await scope.emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
}

/**
 * Enqueues the ticket's job, recording who started it; when a signed-in person did, the ticket's
 * activity says so (`why`, e.g. "moved to In Progress by alice") as the job's first event.
 */
async function startTicketJob(ctx: AppContext, scope: WriteScope, projectId: number, ticketId: number, actor: Actor, why: string): Promise<Job> {
  await assertRunnable(ctx, scope.tx, await getProject(scope.tx, projectId))
  const job = await enqueueJob(ctx, scope, { projectId, ticketId, kind: 'ticket', startedBy: actor })
  if (actor.userId !== null) await insertJobEvents(scope, job, [{ step: 'queued', summary: why }])
  return job
}

/**
 * `POST …/run`: moves the ticket to the in_progress column (which enqueues) or, if already there,
 * enqueues; `job` is null when the move made it wait for its blockers.
 */
export async function runTicket(ctx: AppContext, projectId: number, ticketId: number, actor: Actor = APP_ACTOR): Promise<{ ticket: TicketView; job: Job | null }> {
  return write(ctx, async (scope) => {
    const { tx } = scope
    await lockProject(tx, projectId)
    const ticket = await getTicket(tx, projectId, ticketId)
    const board = await getBoard(tx, projectId)
    const inProgress = columnWithRole(board, 'in_progress')!
    const job =
      ticket.column_id === inProgress.id
        ? await startTicketJob(ctx, scope, projectId, ticketId, actor, `run by ${actor.label}`)
        : await moveTicket(ctx, scope, ticket, inProgress.id, undefined, actor)
    await recordAudit(tx, actor, { action: 'ticket.run', target: { type: 'ticket', id: ticketId }, projectId, details: { job_id: job?.id ?? null } })
    const updated = await getTicket(tx, projectId, ticketId)
    await scope.emit({ project_id: projectId, type: 'ticket.updated', payload: { ticket: updated, from_column_id: ticket.column_id } })
    return { ticket: updated, job }
  })
}

/** `POST …/cancel`: cancels the ticket's active job. */
export async function cancelTicket(ctx: AppContext, projectId: number, ticketId: number, actor: Actor = APP_ACTOR): Promise<Job> {
  const ticket = await getTicket(ctx.sql, projectId, ticketId)
  if (!ticket.job) throw notFound(`active job of ticket ${ticketId}`)
  return cancelJob(ctx, ticket.job.job_id, actor)
}

export async function deleteTicket(ctx: AppContext, projectId: number, ticketId: number): Promise<void> {
  await write(ctx, async (scope) => {
    const { tx, emit } = scope
    await lockProject(tx, projectId)
    const ticket = await getTicket(tx, projectId, ticketId)
    const dependents = await dependentsOf(tx, ticketId)
    await tx`delete from tickets where id = ${ticketId}`
    await tx`update tickets set position = position - 1
      where project_id = ${projectId} and column_id = ${ticket.column_id} and position > ${ticket.position}`
    await emit({ project_id: projectId, type: 'ticket.deleted', payload: { ticket_id: ticketId, column_id: ticket.column_id } })
    await afterBlockerDeleted(ctx, scope, projectId, dependents, ticket)
  })
}

/** The agent's `POST …/complete`: records the PR and summary and moves the ticket to the in_review column. */
export async function completeTicket(
  ctx: AppContext,
  projectId: number,
  ticketId: number,
  input: { pr_url?: string | null; pr_number?: number | null; summary?: string | null; usage?: object | null; job_id?: number | null },
): Promise<TicketView> {
  return write(ctx, async (scope) => {
    const { tx } = scope
    await lockProject(tx, projectId)
    const ticket = await getTicket(tx, projectId, ticketId)
    // The summary is agent-produced text: stored masked, like job events.
    await registerStoredSecrets(ctx, tx)
    // The PR and its link come checked from services/job-pull.ts; a new PR replaces the old link.
    await tx`update tickets set pr_url = case when ${input.pr_number ?? null}::int is null then pr_url else ${input.pr_url ?? null} end,
      pr_number = coalesce(${input.pr_number ?? null}, pr_number),
      summary = coalesce(${redactNullable(input.summary ?? null)}, summary), updated_at = now() where id = ${ticketId}`
    const jobId = input.job_id ?? ticket.job?.job_id
    if (input.pr_number && input.pr_number !== ticket.pr_number) await queuePrOpenedNotification(tx, projectId, ticketId, { number: input.pr_number, url: input.pr_url ?? null }, jobId ?? null)
    if (jobId && input.usage) await tx`update agent_jobs set usage = ${tx.json(input.usage as never)} where id = ${jobId} and ticket_id = ${ticketId}`
    const inReview = columnWithRole(await getBoard(tx, projectId), 'in_review')!
    if (ticket.column_id !== inReview.id) await moveTicket(ctx, scope, ticket, inReview.id, undefined, AGENT_ACTOR)
    const updated = await getTicket(tx, projectId, ticketId)
    await scope.emit({ project_id: projectId, type: 'ticket.updated', payload: { ticket: updated, from_column_id: ticket.column_id } })
    return updated
  })
}

function requireColumn(board: Board, columnId: string) {
  const column = board.columns.find((candidate) => candidate.id === columnId)
  if (!column) throw badRequest(`no column "${columnId}" on this board`, [{ path: '/body/column_id', message: `unknown column "${columnId}"` }])
  return column
}

/** Serializes board edits per project so concurrent moves keep positions dense. */
export async function lockProject(tx: TransactionSql, projectId: number): Promise<void> {
  const [row] = await tx`select id from projects where id = ${projectId} for update`
  if (!row) throw notFound(`project ${projectId}`)
}
