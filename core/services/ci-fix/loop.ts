/**
 * The CI follower's loop, the guarantee behind check webhooks: every REVIEW_POLL_INTERVAL_SEC (the
 * review poller's cadence, re-read each cycle) it follows every tracked open request (follow.ts).
 * Between cycles the live-update feed is the fast path: a job of a ticket that ends (a ci_fix job
 * that pushed, a review job that freed the slot) and a ticket that reports its request bring that
 * ticket's requests back at once.
 *
 * It never throws: the cadence and the backoff are the shared poll loop's (poll-loop.ts).
 */
import type { AppContext } from '../../context.ts'
import type { ForgeClient } from '../../forge.ts'
import type { Feed, FeedRow } from '../feed.ts'
import { startPollLoop } from '../poll-loop.ts'
import { reviewAccess } from '../review/forge.ts'
import { listTrackingPrs, trackNewPrs } from '../review/prs.ts'
import { followPr } from './follow.ts'

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

/** One cycle over every tracked request; one request's failure is logged and counted, not raised. */
export async function ciCycle(ctx: AppContext): Promise<{ followed: number; failed: number }> {
  await trackNewPrs(ctx)
  const clients = new Map<number, Promise<ForgeClient | null>>()
  const clientOf = (projectId: number) => {
    if (!clients.has(projectId)) clients.set(projectId, reviewAccess(ctx, projectId).then((access) => access.client, () => null))
    return clients.get(projectId)!
  }
  let followed = 0
  let failed = 0
  for (const pr of await listTrackingPrs(ctx.sql)) {
    try {
      await followPr(ctx, pr.id, await clientOf(pr.project_id))
      followed++
    } catch (error) {
      failed++
      ctx.log.warn('following a request\'s CI failed; next cycle retries', { pr: pr.id, error: (error as Error).message })
    }
  }
  return { followed, failed }
}

/** Follows the tracked requests of one ticket (after one of its jobs ended). */
export async function followTicket(ctx: AppContext, ticketId: number): Promise<void> {
  const prs = await ctx.sql`select id from prs where ticket_id = ${ticketId} and tracking`
  for (const pr of prs) await followPr(ctx, pr.id as number)
}

export interface CiLoop {
  stop(): Promise<void>
}

export function startCiLoop(ctx: AppContext, feed: Feed): CiLoop {
  let stopped = false
  let quick: Promise<void> = Promise.resolve()
  const poller = startPollLoop(ctx, 'CI', () => ciCycle(ctx))

  const enqueue = (task: () => Promise<unknown>) => {
    quick = quick.then(task).then(() => {}, (error) => {
      if (!stopped) ctx.log.warn('CI follow-up failed; the next cycle catches up', { error })
    })
  }

  const unsubscribe = feed.subscribe((rows: FeedRow[]) => {
    if (stopped) return
    const tickets = new Set<number>()
    for (const row of rows) {
      const payload = row.payload as Record<string, any>
      if (row.type === 'job.updated' && TERMINAL.has(payload.status) && typeof payload.ticket_id === 'number') tickets.add(payload.ticket_id)
      if (row.type === 'ticket.updated' && payload.ticket?.pr_number && typeof payload.ticket.id === 'number') tickets.add(payload.ticket.id)
    }
    if (!tickets.size) return
    enqueue(() => trackNewPrs(ctx))
    for (const ticketId of tickets) enqueue(() => followTicket(ctx, ticketId))
  })

  return {
    async stop() {
      stopped = true
      unsubscribe()
      await Promise.all([poller.stop(), quick])
    },
  }
}
