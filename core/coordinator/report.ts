/**
 * Reports this coordinator to the app's registry (core/services/coordinators.ts) every
 * COORDINATOR_REPORT_SEC: host, version, executor, capacity and the jobs running now; and once more
 * on a graceful stop, so the app shows it stopped rather than lost. A report that fails is logged
 * at debug and retried on the next tick: the registry is for people, never in the way of jobs.
 */
import { hostname } from 'node:os'
import type { Logger } from '../log.ts'
import { BUILD } from '../version.ts'
import { sleep } from './backoff.ts'
import type { WorkerClient } from './client.ts'

export interface ReportOptions {
  client: WorkerClient
  intervalSec: number
  executor: string
  runningJobs(): number[]
  capacity(): number
  log: Logger
}

export function startReporting(options: ReportOptions): { stop(): Promise<void> } {
  const { client, intervalSec, log } = options
  const startedAt = new Date().toISOString()
  const stopping = new AbortController()
  const body = (stopped: boolean) => ({
    host: hostname(), version: BUILD.id, executor: options.executor, capacity: options.capacity(),
    running_job_ids: stopped ? [] : options.runningJobs(), report_interval_sec: intervalSec, started_at: startedAt,
    ...(stopped ? { stopped: true } : {}),
  })
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await client.report(body(false)).catch((error: unknown) => log.debug('coordinator report failed', { error: (error as Error).message }))
      await sleep(intervalSec * 1000, stopping.signal)
    }
  })()
  return {
    async stop() {
      stopping.abort()
      await loop
      await client.report(body(true)).catch((error: unknown) => log.debug('final coordinator report failed', { error: (error as Error).message }))
    },
  }
}
