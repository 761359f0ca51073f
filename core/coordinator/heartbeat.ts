/**
 * Keeps one job's lease alive while its agent runs (DESIGN.md §4.3). Every `intervalMs`:
 * - 200 with `cancel_requested` → `onStop('cancel')` (heartbeats go on until the run has ended,
 *   so the lease holds while the container stops);
 * - 409 `lease_lost` (or 404) → `onStop('lease_lost')`: the job (or this claim of it: the job may run
 *   its next claim here) is no longer ours; heartbeats end;
 * - no answer: retried on the next tick; once nothing was accepted for a whole lease, the app has
 *   handed the job back (or will, as soon as it is back), so `onStop('lease_lost')` too, with
 *   `refused` false: the app did not say so, and a report of the run may still be taken.
 */
import type { Logger } from '../log.ts'
import { sleep } from './backoff.ts'
import { isClientError, type WorkerClient } from './client.ts'

export type StopReason = 'cancel' | 'lease_lost'

export interface HeartbeatOptions {
  client: WorkerClient
  jobId: number
  /** The claim the run is (the claim answer's `claim_seq`): a heartbeat of an ended claim is 409. */
  claimSeq: number
  intervalMs: number
  leaseMs: number
  log: Logger
  /** `refused`: the app answered that the claim is gone (409/404), not merely silent. */
  onStop(reason: StopReason, detail: string, refused?: boolean): void
}

export function startHeartbeat(options: HeartbeatOptions): { stop(): void } {
  const { client, jobId, claimSeq, intervalMs, leaseMs, log, onStop } = options
  const stopped = new AbortController()
  let lastOk = Date.now()
  let cancelSeen = false

  void (async () => {
    while (!stopped.signal.aborted) {
      await sleep(intervalMs, stopped.signal)
      if (stopped.signal.aborted) return
      try {
        const answer = await client.heartbeat(jobId, claimSeq)
        lastOk = Date.now()
        if (answer.cancel_requested && !cancelSeen) {
          cancelSeen = true
          onStop('cancel', 'cancel requested')
        }
      } catch (error) {
        if (isClientError(error, 409) || isClientError(error, 404)) {
          onStop('lease_lost', (error as Error).message, true)
          return
        }
        log.warn('heartbeat failed', { jobId, error: (error as Error).message })
        if (Date.now() - lastOk >= leaseMs) {
          onStop('lease_lost', `no heartbeat accepted for ${Math.round((Date.now() - lastOk) / 1000)} s (lease ${leaseMs / 1000} s)`)
          return
        }
      }
    }
  })().catch((error: unknown) => log.error('heartbeat loop crashed', { jobId, error }))

  return { stop: () => stopped.abort() }
}
