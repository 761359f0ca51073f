/**
 * The events outgoing webhooks carry, and how one is queued: `queueNotification` runs in the
 * transaction that makes the event true (a job ending failed, a ticket getting its PR, a review job
 * succeeding) and writes one delivery per enabled endpoint subscribed to it, so a committed event
 * is delivered at least once and a rolled-back one never. The body is built here, once: every
 * attempt sends the same event (plus its `sent_at`).
 *
 * Body contract (stable; fields are added, never renamed): `event`, `id` (the event's uuid, the
 * same for every endpoint: receivers deduplicate on it), `occurred_at`, `project` {id, key, name},
 * `ticket` {id, number, ref, title} or null, then per event: `job` {id, kind, attempt}, `reason`
 * {kind, text}, `pull_request` {number, url}, `ci` {rounds}.
 */
import { randomUUID } from 'node:crypto'
import type { Sql, TransactionSql } from '../db/index.ts'

export const NOTIFICATION_EVENTS = ['job.failed', 'pr.opened', 'review.done', 'ci_fix.exhausted'] as const
export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number]
/** Sent by the "Send test" button only; no endpoint subscribes to it. */
export const TEST_EVENT = 'test'

export interface NotificationEvent {
  event: NotificationEventType
  projectId: number
  ticketId: number | null
  job?: { id: number; kind: string; attempt: number }
  reason?: { kind: string | null; text: string | null }
  pull_request?: { number: number | null; url: string | null }
  /** ci_fix.exhausted: the CI-fix rounds run before giving up. */
  ci?: { rounds: number }
}

/** Queues `event` for every enabled endpoint subscribed to it, in `tx`; returns the deliveries written. */
export async function queueNotification(tx: Sql | TransactionSql, event: NotificationEvent): Promise<number> {
  const endpoints = await tx`select id from notification_endpoints where enabled and ${event.event} = any(events)`
  if (!endpoints.length) return 0
  const body = await eventBody(tx, event)
  const rows = endpoints.map((endpoint) => ({
    endpoint_id: endpoint.id as number, event_id: body.id, event: event.event, project_id: event.projectId, body: tx.json(body as never),
  }))
  await tx`insert into notification_deliveries ${tx(rows, 'endpoint_id', 'event_id', 'event', 'project_id', 'body')}`
  return rows.length
}

/**
 * Writes the test event for one endpoint, already claimed by the caller (status `sending`, first
 * attempt, held `holdSec`) so the background sender leaves it to the request that sends it now.
 * Returns the delivery's id.
 */
export async function queueTestNotification(tx: Sql | TransactionSql, endpointId: number, holdSec: number): Promise<number> {
  const id = randomUUID()
  const body = { event: TEST_EVENT, id, occurred_at: new Date().toISOString(), project: null, ticket: null, text: 'A test notification from Terarchitect' }
  const [row] = await tx`
    insert into notification_deliveries (endpoint_id, event_id, event, body, max_attempts, status, attempts, locked_until)
    values (${endpointId}, ${id}, ${TEST_EVENT}, ${tx.json(body as never)}, 1, 'sending', 1, now() + make_interval(secs => ${holdSec})) returning id`
  return Number(row!.id)
}

async function eventBody(tx: Sql | TransactionSql, event: NotificationEvent): Promise<Record<string, unknown> & { id: string }> {
  const [project] = await tx`select id, key, name from projects where id = ${event.projectId}`
  const [ticket] = event.ticketId === null ? [] : await tx`select id, number, title from tickets where id = ${event.ticketId}`
  const { event: type, projectId: _p, ticketId: _t, ...details } = event
  return {
    event: type,
    id: randomUUID(),
    occurred_at: new Date().toISOString(),
    project: project ? { id: project.id, key: project.key ?? null, name: project.name } : { id: event.projectId, key: null, name: null },
    ticket: ticket
      ? { id: ticket.id, number: ticket.number ?? null, ref: project?.key && ticket.number ? `${project.key}-${ticket.number}` : `ticket-${ticket.id}`, title: ticket.title }
      : null,
    ...details,
  }
}
