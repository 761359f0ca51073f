/** Retry pacing for the coordinator's loops, and a sleep an AbortSignal can cut short. */

/**
 * Exponential backoff with jitter: attempt 1 waits ≈1 s, then 2, 4, 8, 16 and at most 30 s,
 * each multiplied by a random factor in [0.5, 1.0) so coordinators that lost the app at the same
 * moment do not come back in lockstep.
 */
export function backoffMs(attempt: number, baseMs = 1000, capMs = 30000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling * (0.5 + Math.random() * 0.5))
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
