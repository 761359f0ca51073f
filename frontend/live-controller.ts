/**
 * `LiveController`: how an element follows the live feed. It subscribes when the element first
 * renders, re-subscribes when what the element shows (its subject) changes, leaves the feed when the
 * element is detached and rejoins when it is attached again.
 *
 * The order is the contract that keeps a view gap-free: `reset` (before the render of a new
 * subject), then `load` once the stream is open, while `onEvent` applies every event from the
 * moment of subscribing, so a change made between the load and the first event is never lost.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { subscribe, type EventType } from './live.ts'

export interface LiveOptions {
  /** The project whose feed to follow; `null` follows every project. */
  project: () => number | null
  /** What the element shows (default: the project). When it changes: re-subscribe, `reset`, `load`. */
  subject?: () => unknown
  onEvent: (type: EventType, data: any) => void
  /** Clears what was shown for the previous subject; runs before the new subject's first render. */
  reset?: () => void
  /** Loads the element's state for the current subject. */
  load?: () => unknown
  /** Load right away instead of once the stream is open (views whose state the feed only refreshes). */
  loadAtOnce?: boolean
}

const NONE = Symbol('none')

export class LiveController implements ReactiveController {
  private feed: { ready: Promise<void>; close(): void } | null = null
  private subject: unknown = NONE

  constructor(host: ReactiveControllerHost, private readonly options: LiveOptions) {
    host.addController(this)
  }

  hostConnected(): void {
    // Attached again after a first render: rejoin the feed and catch up on what was missed.
    if (this.subject !== NONE && !this.feed) this.open()
  }

  hostUpdate(): void {
    const subject = this.currentSubject()
    if (this.feed && subject === this.subject) return
    const fresh = subject !== this.subject
    this.subject = subject
    if (fresh) this.options.reset?.()
    this.open()
  }

  hostDisconnected(): void {
    this.feed?.close()
    this.feed = null
  }

  private currentSubject(): unknown {
    return this.options.subject ? this.options.subject() : this.options.project()
  }

  private open(): void {
    this.feed?.close()
    const feed = subscribe(this.options.project(), (type, data) => this.options.onEvent(type, data))
    this.feed = feed
    const { load, loadAtOnce } = this.options
    if (!load) return
    if (loadAtOnce) void load()
    else void feed.ready.then(() => this.feed === feed && load())
  }
}
