/**
 * Cancellation and the job's lease: `GET …/cancel-requested` polled every CANCEL_POLL_SEC (and at
 * start), plus the process signals the caller passes in (the coordinator stops a container with
 * SIGTERM). A cancel, a job that is no longer this agent's (not running, another attempt, its token
 * refused) or a lease that could not be confirmed until LEASE_MARGIN_SEC before it runs out aborts
 * `signal`, which stops the running worker turn (its process group is killed) and every git or test
 * command, so nothing more is pushed. The app's reaper requeues a job only JOB_LEASE_GRACE_SEC after
 * its lease ran out, by when this agent has stopped: two attempts never overlap, even when the
 * coordinator is gone and the agent (a container, an orphaned host process) lives on.
 * A failed poll is otherwise logged and retried: the app being briefly away is no cancel. A slow
 * answer is no failure: it is awaited for as long as the lease may still be confirmed (at least
 * ANSWER_WAIT_MS), since a loaded app may take longer than that to answer, while the coordinator's
 * heartbeats, awaited longer, keep the lease alive; giving up on each answer early, the watch would
 * see no answer at all and stop the agent of a job that is still its own.
 */
import type { Logger } from '../log.ts'
import type { AppClient, JobState } from './api.ts'
import { cancelled } from './errors.ts'

export interface CancelWatch {
  signal: AbortSignal
  /** Why the signal aborted, for the final event. */
  reason(): string | undefined
  /**
   * When the lease could not be confirmed: the moment (epoch ms) the lease runs out, by which this
   * agent must be gone, since the app may be unreachable (a cut network) and retrying it would keep
   * the process alive beside the next attempt. Undefined otherwise.
   */
  leaveBy(): number | undefined
  /** Polls once now (used right before pushing) and throws `cancelled` if a cancel was requested. */
  check(): Promise<void>
  stop(): void
}

export interface CancelOptions {
  intervalMs: number
  log: Logger
  external?: AbortSignal
  /**
   * Confirm the job is still this agent's (with a job token; a manual run with the worker key has
   * no lease to confirm): stop when it is no longer running, runs another attempt than `attempt`,
   * or its token is refused, and when the lease cannot be confirmed up to `marginMs` before it ends.
   * `givenSec`: the lease at the claim (JOB_LEASE_SEC from the coordinator), counted from now until
   * the app first confirms it.
   */
  lease?: { attempt: number | undefined; marginMs: number; givenSec?: number }
  /** The least a poll's answer is waited for (default ANSWER_WAIT_MS); longer while the lease lasts. */
  answerWaitMs?: number
}

/** How long a poll's answer is waited for at least. */
export const ANSWER_WAIT_MS = 10_000

export function watchCancel(api: AppClient, options: CancelOptions): CancelWatch {
  const controller = new AbortController()
  let why: string | undefined
  const abort = (reason: string) => {
    if (controller.signal.aborted) return
    why = reason
    controller.abort(new Error(reason))
  }
  const onExternal = () => abort(String(options.external?.reason instanceof Error ? options.external.reason.message : options.external?.reason ?? 'stopped'))
  if (options.external?.aborted) onExternal()
  options.external?.addEventListener('abort', onExternal, { once: true })

  let intervalMs = options.intervalMs
  let deadline: NodeJS.Timeout | undefined
  /** When (epoch ms) the deadline fires: until then an answer can still confirm the lease. */
  let deadlineAt: number | undefined
  let leaveBy: number | undefined
  let inflight: Promise<void> | undefined
  const ended = new AbortController()
  const ask = async (): Promise<void> => {
    const sentAt = Date.now()
    const waitMs = Math.max(options.answerWaitMs ?? ANSWER_WAIT_MS, (deadlineAt ?? 0) - sentAt)
    try {
      // Given up when the watch ends (the deadline, a cancel, stop): the answer would change nothing.
      const state = await api.cancelRequested(AbortSignal.any([AbortSignal.timeout(waitMs), controller.signal, ended.signal]))
      if (state.cancel_requested) return abort('cancel requested')
      if (options.lease) confirm(state, sentAt, options.lease)
    } catch (error) {
      if (controller.signal.aborted || ended.signal.aborted) return
      const status = (error as { status?: number }).status
      if (options.lease && (status === 401 || status === 403 || status === 404)) {
        return abort(`the app refused this job's token (${status}): the job is no longer this agent's`)
      }
      options.log.warn('cancel poll failed', { error: (error as Error).message })
    }
  }
  const confirm = (state: JobState, sentAt: number, lease: NonNullable<CancelOptions['lease']>) => {
    if (state.status && state.status !== 'running') return abort(`the job is ${state.status}: it is no longer this agent's`)
    if (lease.attempt && state.attempt && state.attempt !== lease.attempt) {
      return abort(`the job was handed to attempt ${state.attempt}; this agent ran attempt ${lease.attempt}`)
    }
    if (!state.lease_expires_at || !state.now) return
    // The app's clock says how long the lease has left; counted from when the question was sent
    // (the earliest it can have been answered), so clock skew and latency only shorten it.
    const leaseMs = (state.lease_sec ?? Infinity) * 1000
    const margin = Math.min(lease.marginMs, leaseMs / 4)
    const left = sentAt + Date.parse(state.lease_expires_at) - Date.parse(state.now) - margin - Date.now()
    // Polls come often enough that a live coordinator's heartbeats keep the deadline ahead.
    intervalMs = Math.min(options.intervalMs, leaseMs / 6)
    armDeadline(left, margin)
  }
  const armDeadline = (left: number, margin: number) => {
    clearTimeout(deadline)
    deadlineAt = Date.now() + Math.max(0, left)
    deadline = setTimeout(() => {
      leaveBy ??= Date.now() + margin
      abort(`the lease of this job could not be confirmed before it ran out (its coordinator stopped heartbeating, or the app is unreachable); stopping so that a retry never overlaps this attempt`)
    }, Math.max(0, left))
    deadline.unref()
  }
  // One request at a time; `check` waits for the one in flight rather than starting another.
  const poll = (): Promise<void> => {
    if (controller.signal.aborted) return Promise.resolve()
    inflight ??= ask().finally(() => (inflight = undefined))
    return inflight
  }
  // One chain of polls, each scheduled when the last has answered, at the interval that answer set.
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const next = () => {
    if (stopped || controller.signal.aborted) return
    timer = setTimeout(() => void poll().finally(next), intervalMs)
    timer.unref()
  }
  // Until the app first answers, the lease is the one given at the claim, which came before this
  // agent started: an agent cut off from the start (its host's network went down) stops too.
  const given = options.lease?.givenSec
  if (options.lease && given) {
    const margin = Math.min(options.lease.marginMs, (given * 1000) / 4)
    armDeadline(given * 1000 - margin, margin)
  }
  void poll().finally(next)

  return {
    signal: controller.signal,
    reason: () => why,
    leaveBy: () => leaveBy,
    async check() {
      await poll()
      if (controller.signal.aborted) throw cancelled(why)
    },
    stop() {
      stopped = true
      ended.abort()
      clearTimeout(timer)
      clearTimeout(deadline)
      options.external?.removeEventListener('abort', onExternal)
    },
  }
}
