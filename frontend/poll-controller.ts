/**
 * `PollController`: an element that shows what the live feed does not carry (the coordinators'
 * reports, notification deliveries) loads it when attached and again every `everyMs` while attached.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

export class PollController implements ReactiveController {
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(host: ReactiveControllerHost, private readonly load: () => Promise<void>, private readonly everyMs: number) {
    host.addController(this)
  }

  hostConnected(): void {
    void this.load()
    this.timer = setInterval(() => void this.load(), this.everyMs)
  }

  hostDisconnected(): void {
    clearInterval(this.timer)
  }
}
