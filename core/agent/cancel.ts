/**
 * Cancellation: `GET …/cancel-requested` polled every CANCEL_POLL_SEC, plus the process signals the
 * caller passes in (the coordinator stops a container with SIGTERM). Either aborts `signal`, which
 * stops the running worker turn (its process group is killed) and every git or test command.
 * A failed poll is logged and retried at the next tick: the app being briefly away is no cancel.
 */
import type { Logger } from '../log.ts'
import type { AppClient } from './api.ts'
import { cancelled } from './errors.ts'

export interface CancelWatch {
  signal: AbortSignal
  /** Why the signal aborted, for the final event. */
  reason(): string | undefined
  /** Polls once now (used right before pushing) and throws `cancelled` if a cancel was requested. */
  check(): Promise<void>
  stop(): void
}

export function watchCancel(api: AppClient, options: { intervalMs: number; log: Logger; external?: AbortSignal }): CancelWatch {
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

  let inflight: Promise<void> | undefined
  const ask = async (): Promise<void> => {
    try {
      if (await api.cancelRequested(AbortSignal.timeout(10000))) abort('cancel requested')
    } catch (error) {
      options.log.warn('cancel poll failed', { error: (error as Error).message })
    }
  }
  // One request at a time; `check` waits for the one in flight rather than starting another.
  const poll = (): Promise<void> => {
    if (controller.signal.aborted) return Promise.resolve()
    inflight ??= ask().finally(() => (inflight = undefined))
    return inflight
  }
  const timer = setInterval(() => void poll(), options.intervalMs)
  timer.unref()

  return {
    signal: controller.signal,
    reason: () => why,
    async check() {
      await poll()
      if (controller.signal.aborted) throw cancelled(why)
    },
    stop() {
      clearInterval(timer)
      options.external?.removeEventListener('abort', onExternal)
    },
  }
}
