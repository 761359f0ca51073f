/**
 * Ticket dependencies (sql/016). A ticket is blocked by other tickets of its project; blockers are
 * set as a whole list, refused when one is unknown, of another project, the ticket itself, or when
 * the list would close a cycle. A blocked ticket entering In Progress waits: `waiting_since` is set
 * and no job exists; the waiting ticket counts as active (jobs.ts refuses a second run). It starts
 * by itself, its job enqueued in the same transaction that clears the wait, once every blocker is
 * in the `done` column (whatever moved it there). A deleted blocker is noted on the waiting ticket
 * ("WIDG-1 was deleted") and its edge goes; with no open blocker left the ticket starts. A blocker
 * whose job failed is shown from the reads (`blocked_by[].job_status`) and starts nothing.
 */
import type { AppContext, WriteScope } from '../context.ts'
import { write } from '../context.ts'
import { badRequest, conflict, isAppError, type ErrorDetail } from '../errors.ts'
import type { TransactionSql } from '../db/index.ts'
import { getTicket, lockProject, type TicketView } from './tickets.ts'
import { assertMayStart, assertRunnable, enqueueJob } from './jobs.ts'
import { getProject } from './projects.ts'
import { recordAudit, type Actor } from './audit.ts'
import { insertJobEvents } from './job-events.ts'

/** A ticket's reads add these: its blockers (with whether each is Done and its latest job's status), whom it blocks, its wait. */
export const DEPENDENCY_COLUMNS = `t.waiting_since is not null as waiting, t.waiting_notes,
    coalesce((select jsonb_agg(jsonb_build_object('id', b.id, 'number', b.number, 'title', b.title, 'column_id', b.column_id,
      'done', coalesce(b.column_id = (select c->>'id' from boards bd cross join jsonb_array_elements(bd.columns) c
        where bd.project_id = b.project_id and c->>'role' = 'done' limit 1), false),
      'job_status', (select status from agent_jobs where ticket_id = b.id order by id desc limit 1)) order by b.number)
      from ticket_dependencies d join tickets b on b.id = d.blocker_id where d.ticket_id = t.id), '[]'::jsonb) as blocked_by,
    coalesce((select jsonb_agg(d.ticket_id order by d.ticket_id) from ticket_dependencies d where d.blocker_id = t.id), '[]'::jsonb) as blocks`

const labelOf = (ticket: { number: number }, key: string | undefined) => (key ? `${key}-${ticket.number}` : `ticket ${ticket.number}`)

/** `PUT …/blockers`: replaces the ticket's blockers; a waiting ticket left with none open starts. */
export async function setBlockers(ctx: AppContext, projectId: number, ticketId: number, wanted: number[], actor: Actor): Promise<TicketView> {
  return write(ctx, async (scope) => {
    const { tx } = scope
    await lockProject(tx, projectId)
    const ticket = await getTicket(tx, projectId, ticketId)
    const ids = [...new Set(wanted)]
    const known = new Set(
      ids.length ? ((await tx`select id from tickets where project_id = ${projectId} and id in ${tx(ids)}`) as unknown as { id: number }[]).map((row) => row.id) : [],
    )
    const details: ErrorDetail[] = []
    wanted.forEach((id, i) => {
      if (id === ticketId) details.push({ path: `/body/blocked_by/${i}`, message: 'a ticket cannot block itself' })
      else if (!known.has(id)) details.push({ path: `/body/blocked_by/${i}`, message: `no ticket ${id} in this project` })
    })
    if (details.length) throw badRequest(`blocked_by: ${details[0]!.message}`, details)
    const cycle = await findCycle(tx, projectId, ticketId, ids)
    if (cycle) {
      throw badRequest(`these tickets would wait for each other forever: ${cycle}`, [{ path: '/body/blocked_by', message: `makes a cycle: ${cycle}` }])
    }
    await tx`delete from ticket_dependencies where ticket_id = ${ticketId}`
    for (const id of ids) await tx`insert into ticket_dependencies (ticket_id, blocker_id) values (${ticketId}, ${id})`
    await recordAudit(tx, actor, { action: 'ticket.blockers', target: { type: 'ticket', id: ticketId }, projectId, details: { blocked_by: ids } })
    if (ticket.waiting) await startIfUnblocked(ctx, scope, projectId, ticketId, 'its blockers changed')
    // The blockers gained or lost an entry in `blocks`: their cards follow too.
    const before = (ticket.blocked_by ?? []).map((blocker) => blocker.id)
    const touched = [...before.filter((id) => !ids.includes(id)), ...ids.filter((id) => !before.includes(id))]
    for (const id of touched) await emitTicket(scope, projectId, id)
    return emitTicket(scope, projectId, ticketId)
  })
}

/**
 * The cycle adding `blockers` to `ticketId` would close, as labels ("WIDG-1 → WIDG-3 → WIDG-1",
 * read "is blocked by"), or null. The stored edges never form a cycle, so a walk from each new
 * blocker that ignores the ticket's own (replaced) edges ends, and reaching the ticket is a cycle.
 */
async function findCycle(tx: TransactionSql, projectId: number, ticketId: number, blockers: number[]): Promise<string | null> {
  if (!blockers.length) return null
  const edges = (await tx`select d.ticket_id, d.blocker_id from ticket_dependencies d join tickets t on t.id = d.ticket_id
    where t.project_id = ${projectId} and d.ticket_id <> ${ticketId}`) as unknown as { ticket_id: number; blocker_id: number }[]
  const next = new Map<number, number[]>()
  for (const edge of edges) next.set(edge.ticket_id, [...(next.get(edge.ticket_id) ?? []), edge.blocker_id])
  const seen = new Set<number>()
  const walk = (id: number, path: number[]): number[] | null => {
    if (id === ticketId) return path
    if (seen.has(id)) return null
    seen.add(id)
    for (const blocker of next.get(id) ?? []) {
      const found = walk(blocker, [...path, blocker])
      if (found) return found
    }
    return null
  }
  for (const blocker of blockers) {
    const path = walk(blocker, [ticketId, blocker])
    if (!path) continue
    const rows = (await tx`select t.id, t.number, p.key from tickets t join projects p on p.id = t.project_id where t.id in ${tx(path)}`) as unknown as
      { id: number; number: number; key: string }[]
    const byId = new Map(rows.map((row) => [row.id, labelOf(row, row.key)]))
    return path.map((id) => byId.get(id)).join(' → ')
  }
  return null
}

/**
 * Where a ticket enters In Progress: with a blocker not Done it waits and `true` is returned (no
 * job); the rules of a start still apply now (who may start, a project that can run, one active job).
 */
export async function waitIfBlocked(ctx: AppContext, scope: WriteScope, ticket: TicketView, actor: Actor): Promise<boolean> {
  if (!(ticket.blocked_by ?? []).some((blocker) => !blocker.done)) return false
  const { tx } = scope
  await assertMayStart(tx, ticket.project_id, actor)
  await assertRunnable(ctx, tx, await getProject(tx, ticket.project_id))
  if (ticket.job && ticket.job.kind === 'ticket' && ['pending', 'running'].includes(ticket.job.status)) {
    throw conflict(`ticket ${ticket.id} already has an active job (${ticket.job.job_id}, ${ticket.job.status})`)
  }
  await tx`update tickets set waiting_since = now(), waiting_notes = '[]' where id = ${ticket.id}`
  return true
}

/** Where a ticket leaves In Progress: its wait, if any, is cancelled. */
export async function endWait(tx: TransactionSql, ticketId: number): Promise<void> {
  await tx`update tickets set waiting_since = null, waiting_notes = '[]' where id = ${ticketId} and waiting_since is not null`
}

/**
 * Where a ticket enters the done column, whatever moved it: its waiting dependents with every
 * blocker Done start (oldest wait first); the others' cards are told the blocker is Done.
 */
export async function onTicketDone(ctx: AppContext, scope: WriteScope, projectId: number, ticket: { id: number; number: number; project_key?: string }): Promise<void> {
  for (const id of await dependentsOf(scope.tx, ticket.id)) {
    await startIfUnblocked(ctx, scope, projectId, id, `${labelOf(ticket, ticket.project_key)} is done`)
  }
}

/** The tickets a ticket blocks, waiting ones first (oldest wait first); read before a delete's cascade removes the edges. */
export function dependentsOf(tx: TransactionSql, ticketId: number): Promise<number[]> {
  return tx`select d.ticket_id from ticket_dependencies d join tickets t on t.id = d.ticket_id
    where d.blocker_id = ${ticketId} order by t.waiting_since nulls last, t.id`
    .then((rows) => (rows as unknown as { ticket_id: number }[]).map((row) => row.ticket_id))
}

/** After a blocker was deleted: its waiting dependents say so, and those with no open blocker left start. */
export async function afterBlockerDeleted(ctx: AppContext, scope: WriteScope, projectId: number, dependents: number[], deleted: { number: number; project_key?: string }): Promise<void> {
  const note = `${labelOf(deleted, deleted.project_key)} was deleted`
  for (const id of dependents) {
    await scope.tx`update tickets set waiting_notes = waiting_notes || ${scope.tx.json([note])} where id = ${id} and waiting_since is not null`
    await startIfUnblocked(ctx, scope, projectId, id, note)
  }
}

/** Starts a waiting ticket whose blockers are all Done; otherwise only tells the boards what changed. */
async function startIfUnblocked(ctx: AppContext, scope: WriteScope, projectId: number, ticketId: number, why: string): Promise<void> {
  const { tx } = scope
  const ticket = await getTicket(tx, projectId, ticketId)
  if (!ticket.waiting || (ticket.blocked_by ?? []).some((blocker) => !blocker.done)) {
    await emitTicket(scope, projectId, ticketId)
    return
  }
  try {
    await assertRunnable(ctx, tx, await getProject(tx, projectId))
  } catch (error) {
    // The blocker's move (a merge) must not fail because this project cannot run: the ticket keeps waiting and says why.
    if (!isAppError(error)) throw error
    await tx`update tickets set waiting_notes = waiting_notes || ${tx.json([`cannot start: ${error.message}`])} where id = ${ticketId}`
    await emitTicket(scope, projectId, ticketId)
    return
  }
  await tx`update tickets set waiting_since = null, waiting_notes = '[]' where id = ${ticketId}`
  const job = await enqueueJob(ctx, scope, { projectId, ticketId, kind: 'ticket' })
  await insertJobEvents(scope, job, [{ step: 'queued', summary: `started by itself: ${why}` }])
  await emitTicket(scope, projectId, ticketId)
}

async function emitTicket(scope: WriteScope, projectId: number, ticketId: number): Promise<TicketView> {
  const ticket = await getTicket(scope.tx, projectId, ticketId)
  await scope.emit({ project_id: projectId, type: 'ticket.updated', payload: { ticket, from_column_id: ticket.column_id } })
  return ticket
}
