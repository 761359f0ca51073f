/**
 * `RetryController`: an element whose load failed tries again by itself while it is attached,
 * 1 s, 2 s, 4 s … after each failure, at most 30 s apart (each delay jittered by up to a fifth,
 * at the cap too, between 24 and 30 s, so browsers left open do not all come back at once when
 * the server returns). The element reports each load's outcome (`failed`, `succeeded`); a Retry
 * button may load at any time, and the next failure is scheduled from there. Detaching the element
 * cancels what is scheduled. A refusal that does not pass by itself (a 4xx answer other than 408
 * and 429) is not retried.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { ApiError } from './api.ts'

const FIRST_MS = 1000
const MAX_MS = 30_000

export class RetryController implements ReactiveController {
  private timer: ReturnType<typeof setTimeout> | undefined
  private failures = 0
  private attached = false

  constructor(host: ReactiveControllerHost, private readonly load: () => unknown) {
    host.addController(this)
  }

  /** Whether a retry is scheduled (for the element to say so). */
  get scheduled(): boolean {
    return this.timer !== undefined
  }

  failed(error: unknown): void {
    this.cancel()
    if (!this.attached || !passing(error)) return
    // One draw spreads both the delay and the cap: delays cut at a fixed 30 s would bring the
    // browsers that failed together back in step, every 30 s.
    const spread = Math.random()
    const delay = Math.min(MAX_MS * (0.8 + spread * 0.2), FIRST_MS * 2 ** Math.min(this.failures++, 10) * (0.8 + spread * 0.4))
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.load()
    }, delay)
  }

  succeeded(): void {
    this.cancel()
    this.failures = 0
  }

  hostConnected(): void {
    this.attached = true
  }

  hostDisconnected(): void {
    this.attached = false
    this.cancel()
  }

  private cancel(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}

/** A failure that may pass: no answer, a server error, a timeout, or too many requests. */
function passing(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true
  return error.status === 0 || error.status >= 500 || error.status === 408 || error.status === 429
}
