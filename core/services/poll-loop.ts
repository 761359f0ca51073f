/**
 * The shape every poller of the app shares (review, issue intake): a cycle every
 * REVIEW_POLL_INTERVAL_SEC (re-read before each cycle), the first ~1 s after start so what happened
 * while the app was down is caught up. It never throws: a failing cycle is logged and the next one
 * waits longer, the interval doubled per consecutive failure, capped at 10 minutes (or the interval
 * when that is longer), ±20% jitter so app replicas drift apart.
 */
import type { AppContext } from '../context.ts'
import { reviewSettings } from './review/forge.ts'

const MAX_BACKOFF_SEC = 600

export interface PollLoop {
  /** Stops scheduling and waits for a cycle under way. */
  stop(): Promise<void>
}

/** `what` names the loop in its log lines ("review", "intake"). */
export function startPollLoop(ctx: AppContext, what: string, cycle: () => Promise<unknown>): PollLoop {
  let stopped = false
  let failures = 0
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()

  const schedule = (seconds: number) => {
    if (stopped) return
    timer = setTimeout(() => (running = run()), seconds * (0.8 + Math.random() * 0.4) * 1000)
    timer.unref()
  }

  async function run(): Promise<void> {
    let interval = 60
    try {
      interval = (await reviewSettings(ctx)).pollIntervalSec
      await cycle()
      failures = 0
    } catch (error) {
      failures++
      if (!stopped) ctx.log.warn(`${what} cycle failed; backing off`, { failures, error })
    }
    schedule(Math.min(interval * 2 ** failures, Math.max(interval, MAX_BACKOFF_SEC)))
  }

  schedule(1)
  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
