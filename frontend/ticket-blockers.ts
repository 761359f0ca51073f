/**
 * What a ticket's blockers mean in words, for its card and its view: "Waiting for WIDG-1, WIDG-2",
 * "WIDG-1 failed", "WIDG-1 was deleted" (core/services/ticket-dependencies.ts holds the rules).
 */
import { ticketLabel } from './format.ts'
import type { TicketView } from './types.ts'

export interface BlockerLines {
  /** Labels of the blockers not yet Done. */
  open: string[]
  /** "Waiting for …" while the ticket waits in In Progress, else null. */
  waiting: string | null
  /** What went wrong with its blockers: failures, deletions, a start the project refused. */
  problems: string[]
}

export function blockerLines(ticket: TicketView): BlockerLines {
  const blockers = ticket.blocked_by ?? []
  const label = (blocker: { id: number; number: number }) => ticketLabel(null, { ...blocker, project_key: ticket.project_key })
  const open = blockers.filter((blocker) => !blocker.done).map(label)
  const failed = blockers.filter((blocker) => !blocker.done && blocker.job_status === 'failed').map((blocker) => `${label(blocker)} failed`)
  return {
    open,
    waiting: ticket.waiting ? (open.length ? `Waiting for ${open.join(', ')}` : 'Waiting to start') : null,
    problems: [...failed, ...(ticket.waiting ? ticket.waiting_notes ?? [] : [])],
  }
}
