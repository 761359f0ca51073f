/**
 * The review loop: the guarantee behind webhooks. Every REVIEW_POLL_INTERVAL_SEC (re-read each
 * cycle) it starts tracking new ticket PRs, polls each tracked PR, re-checks authors the forge could
 * not be asked about, and dispatches every PR's next comment. Between cycles, the live-update feed
 * is the fast path: a ticket that reports a PR is tracked at once, and a job of a ticket that ends
 * lets that ticket's PR start its next review job at once; a job that failed is looked at again
 * when its retry delay has passed (dispatch.ts `retryDelayMs`) rather than at the next cycle.
 *
 * It never throws: the cycles' cadence and backoff are poll-loop.ts's.
 */
import type { AppContext } from '../../context.ts'
import type { Feed, FeedRow } from '../feed.ts'
import { redecideComments } from './comments.ts'
import { dispatchForTicket, dispatchReview, retryDelayMs } from './dispatch.ts'
import { startPollLoop } from '../poll-loop.ts'
import { reviewAccess, type ReviewAccess } from './forge.ts'
import { pollPr } from './poll.ts'
import { listTrackingPrs, trackNewPrs } from './prs.ts'

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

/** One full cycle; exported for tests and scripts. Per-PR failures are recorded on the PR. */
export async function reviewCycle(ctx: AppContext): Promise<{ polled: number; failed: number }> {
  await trackNewPrs(ctx)
  // Each project's forge token (forge-token.ts), read once per cycle.
  const access = new Map<number, Promise<ReviewAccess>>()
  const accessOf = (projectId: number) => {
    if (!access.has(projectId)) access.set(projectId, reviewAccess(ctx, projectId))
    return access.get(projectId)!
  }
  let polled = 0
  let failed = 0
  for (const pr of await listTrackingPrs(ctx.sql)) {
    // One project's refusal (no token, not on REPO_ALLOWLIST) is that PR's failure, not the cycle's.
    try {
      const { settings, client } = await accessOf(pr.project_id)
      if (client && pr.repo) {
        await pollPr(ctx, pr, { settings, client })
        await redecideComments(ctx, pr, { settings, client })
        polled++
      }
    } catch (error) {
      failed++
      ctx.log.warn('polling a pull request failed; next cycle retries', { pr: pr.id, error: (error as Error).message })
    }
    await dispatchReview(ctx, pr.id)
  }
  return { polled, failed }
}

export interface ReviewLoop {
  stop(): Promise<void>
}

export function startReviewLoop(ctx: AppContext, feed: Feed): ReviewLoop {
  let stopped = false
  // Feed-triggered work runs one task at a time, apart from the (slower) poll cycle.
  let quick: Promise<void> = Promise.resolve()
  const retryTimers = new Set<NodeJS.Timeout>()

  const enqueue = (task: () => Promise<unknown>) => {
    quick = quick.then(task).then(
      () => {},
      (error) => {
        if (!stopped) ctx.log.warn('review follow-up failed; the next cycle catches up', { error })
      },
    )
  }

  const retryLater = (ticketId: number, ms: number) => {
    const timer = setTimeout(() => {
      retryTimers.delete(timer)
      if (!stopped) enqueue(() => dispatchForTicket(ctx, ticketId))
    }, ms + 1000)
    timer.unref()
    retryTimers.add(timer)
  }

  const unsubscribe = feed.subscribe((rows: FeedRow[]) => {
    if (stopped) return
    const tickets = new Set<number>()
    let track = false
    for (const row of rows) {
      const payload = row.payload as Record<string, any>
      if (row.type === 'job.updated' && TERMINAL.has(payload.status) && typeof payload.ticket_id === 'number') {
        tickets.add(payload.ticket_id)
        if (payload.status === 'failed') retryLater(payload.ticket_id, retryDelayMs(Number(payload.attempt) || 1))
      }
      if (row.type === 'ticket.updated' && payload.ticket?.pr_number) track = true
    }
    if (track) enqueue(() => trackNewPrs(ctx))
    for (const ticketId of tickets) enqueue(() => dispatchForTicket(ctx, ticketId))
  })

  const poll = startPollLoop(ctx, 'review', () => reviewCycle(ctx))
  return {
    async stop() {
      stopped = true
      unsubscribe()
      for (const retry of retryTimers) clearTimeout(retry)
      await Promise.all([poll.stop(), quick])
    },
  }
}
