/**
 * The review loop: the guarantee behind webhooks. Every REVIEW_POLL_INTERVAL_SEC (re-read each
 * cycle) it starts tracking new ticket PRs, polls each tracked PR, re-checks authors the forge could
 * not be asked about, and dispatches every PR's next comment. Between cycles, the live-update feed
 * is the fast path: a ticket that reports a PR is tracked at once, and a job of a ticket that ends
 * lets that ticket's PR start its next review job at once; a job that failed is looked at again
 * when its retry delay has passed (dispatch.ts `retryDelayMs`) rather than at the next cycle.
 *
 * It never throws. A failing cycle is logged and the next one waits longer: the interval doubled
 * per consecutive failure, capped at 10 minutes, ±20% jitter so app replicas drift apart.
 */
import type { AppContext } from '../../context.ts'
import type { Feed, FeedRow } from '../feed.ts'
import { redecideComments } from './comments.ts'
import { dispatchForTicket, dispatchReview, retryDelayMs } from './dispatch.ts'
import { reviewAccess, reviewSettings, type ReviewAccess } from './forge.ts'
import { pollPr } from './poll.ts'
import { listTrackingPrs, trackNewPrs } from './prs.ts'

const MAX_BACKOFF_SEC = 600
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
  let failures = 0
  let timer: NodeJS.Timeout | undefined
  let cycle: Promise<void> = Promise.resolve()
  // Feed-triggered work runs one task at a time, apart from the (slower) poll cycle.
  let quick: Promise<void> = Promise.resolve()
  const retryTimers = new Set<NodeJS.Timeout>()

  const schedule = (seconds: number) => {
    if (stopped) return
    const jittered = seconds * (0.8 + Math.random() * 0.4)
    timer = setTimeout(() => (cycle = run()), jittered * 1000)
    timer.unref()
  }

  async function run(): Promise<void> {
    let interval = 60
    try {
      interval = (await reviewSettings(ctx)).pollIntervalSec
      await reviewCycle(ctx)
      failures = 0
    } catch (error) {
      failures++
      if (!stopped) ctx.log.warn('review cycle failed; backing off', { failures, error })
    }
    schedule(Math.min(interval * 2 ** failures, Math.max(interval, MAX_BACKOFF_SEC)))
  }

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

  // The first cycle soon after start: catches up on what happened while the app was down.
  schedule(1)
  return {
    async stop() {
      stopped = true
      unsubscribe()
      clearTimeout(timer)
      for (const retry of retryTimers) clearTimeout(retry)
      await Promise.all([cycle, quick])
    },
  }
}
