/**
 * Watches whether the Docker daemon answers, so a coordinator outlives a daemon restart: it logs
 * when Docker goes away and when it is back, and on every (re)appearance reconciles: containers it
 * labelled for jobs it no longer runs are removed (DESIGN.md §4.3). Checks every `intervalMs`.
 */
import type { Logger } from '../log.ts'
import { sleep } from './backoff.ts'
import type { ContainerExecutors } from './types.ts'

export interface DockerWatch {
  /** Last known state: undefined before the first check. */
  readonly up: boolean | undefined
  /** Resolves after the first check (and its reconcile) is done. */
  readonly ready: Promise<void>
  stop(): void
}

export function watchDocker(options: {
  containers: ContainerExecutors
  coordinatorId: string
  /** Job ids this coordinator is running now (their containers are kept). */
  runningJobs(): ReadonlySet<number>
  intervalMs: number
  log: Logger
  onChange?(up: boolean): void
}): DockerWatch {
  const { containers, coordinatorId, log } = options
  const stopped = new AbortController()
  let up: boolean | undefined
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => (markReady = resolve))

  const check = async () => {
    const probe = await containers.ping()
    if (probe.ok && up !== true) {
      log.info(up === false ? 'Docker is available again' : 'Docker is available', { executor: containers.name, detail: probe.detail })
      try {
        const removed = await containers.reconcile(coordinatorId, options.runningJobs())
        if (removed.length) log.info('reconcile: removed containers left by an earlier run of this coordinator', { removed: removed.map((id) => id.slice(0, 12)) })
      } catch (error) {
        log.warn('reconcile failed; will retry on the next check', { error: (error as Error).message })
        return // stay "not up" so the next check reconciles again
      }
    } else if (!probe.ok && up !== false) {
      log.warn(`Docker is unavailable: ${probe.reason}; the coordinator keeps running and checks again every ${options.intervalMs / 1000} s`, { executor: containers.name })
    }
    if (up !== probe.ok) {
      up = probe.ok
      options.onChange?.(probe.ok)
    }
  }

  void (async () => {
    while (!stopped.signal.aborted) {
      try {
        await check()
      } catch (error) {
        log.error('docker check crashed', { error })
      }
      markReady()
      await sleep(options.intervalMs, stopped.signal)
    }
  })()

  return {
    get up() {
      return up
    },
    ready,
    stop: () => stopped.abort(),
  }
}
