/**
 * The board's state as plain data: tickets grouped by column, each group ordered by position.
 * Every change builds new arrays only for the columns it touches, so only those columns re-render.
 * `placeTicket` is idempotent: applying the server's copy of a ticket (from a response or a live
 * event) again changes nothing, which lets optimistic moves and their echoes meet safely.
 */
import { ticketLabel } from './format.ts'
import type { Column, JobSummary, TicketView } from './types.ts'

export type Groups = Map<string, TicketView[]>

export function groupTickets(columns: Column[], tickets: TicketView[]): Groups {
  const groups: Groups = new Map(columns.map((column) => [column.id, []]))
  for (const ticket of tickets) {
    let group = groups.get(ticket.column_id)
    if (!group) groups.set(ticket.column_id, (group = []))
    group.push(ticket)
  }
  for (const group of groups.values()) group.sort((a, b) => a.position - b.position || a.id - b.id)
  return groups
}

export function findTicket(groups: Groups, id: number): TicketView | undefined {
  for (const group of groups.values()) {
    const ticket = group.find((candidate) => candidate.id === id)
    if (ticket) return ticket
  }
  return undefined
}

const renumber = (group: TicketView[]) =>
  group.map((ticket, position) => (ticket.position === position ? ticket : { ...ticket, position }))

export function removeTicket(groups: Groups, id: number): Groups {
  const next: Groups = new Map(groups)
  for (const [columnId, group] of groups) {
    if (group.some((ticket) => ticket.id === id)) next.set(columnId, renumber(group.filter((ticket) => ticket.id !== id)))
  }
  return next
}

/** Puts `ticket` at its `column_id` and `position`, shifting its neighbours the way the server does. */
export function placeTicket(groups: Groups, ticket: TicketView): Groups {
  const next = removeTicket(groups, ticket.id)
  const group = (next.get(ticket.column_id) ?? []).slice()
  const index = Math.max(0, Math.min(ticket.position, group.length))
  group.splice(index, 0, ticket)
  next.set(ticket.column_id, renumber(group))
  return next
}

/** The position a ticket lands at when dropped before `beforeId` (null: at the end) in `columnId`. */
export function dropPosition(groups: Groups, ticketId: number, columnId: string, beforeId: number | null): number {
  const group = (groups.get(columnId) ?? []).filter((ticket) => ticket.id !== ticketId)
  if (beforeId === null) return group.length
  const index = group.findIndex((ticket) => ticket.id === beforeId)
  return index < 0 ? group.length : index
}

/** Applies a `job.updated` summary to the ticket it belongs to (newer jobs only) and to the blocker lists naming that ticket. */
export function applyJob(groups: Groups, job: JobSummary): Groups {
  if (job.ticket_id === null) return groups
  const ticket = findTicket(groups, job.ticket_id)
  if (!ticket || (ticket.job && ticket.job.job_id > job.job_id)) return groups
  const merged: TicketView = { ...ticket, job: { ...ticket.job, ...job } }
  const next: Groups = new Map(groups)
  next.set(ticket.column_id, groups.get(ticket.column_id)!.map((candidate) => (candidate.id === ticket.id ? merged : candidate)))
  return applyBlockerStatus(next, ticket.id, job.status)
}

/** The cards waiting on `blockerId` learn its latest job's status (a failure shows on them at once). */
function applyBlockerStatus(groups: Groups, blockerId: number, status: JobSummary['status']): Groups {
  const next: Groups = new Map(groups)
  for (const [columnId, group] of groups) {
    if (!group.some((ticket) => ticket.blocked_by?.some((blocker) => blocker.id === blockerId && blocker.job_status !== status))) continue
    next.set(columnId, group.map((ticket) => ticket.blocked_by?.some((blocker) => blocker.id === blockerId)
      ? { ...ticket, blocked_by: ticket.blocked_by.map((blocker) => (blocker.id === blockerId ? { ...blocker, job_status: status } : blocker)) }
      : ticket))
  }
  return next
}

export interface Filter {
  text: string
  priority: '' | 'low' | 'medium' | 'high'
}

export function matches(ticket: TicketView, filter: Filter): boolean {
  if (filter.priority && ticket.priority !== filter.priority) return false
  if (!filter.text) return true
  const needle = filter.text.toLowerCase()
  return ticket.title.toLowerCase().includes(needle) || ticket.description.toLowerCase().includes(needle) || ticketLabel(null, ticket).toLowerCase() === needle
}
