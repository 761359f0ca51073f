/**
 * A coordinator's metrics, counted by wrapping what the loop already calls (the worker client and
 * the executors), so the loop itself stays as it is: claims and claim errors, agents started (and
 * those that could not start), host fallbacks, jobs reported, plus gauges read when scraped
 * (running agents, the concurrency limit). Also remembers when the app last answered, for /health.
 */
import { isClientError, type WorkerClient } from '../coordinator/client.ts'
import type { CoordinatorExecutors } from '../coordinator/types.ts'
import type { Executor } from '../executor.ts'
import { BUILD } from '../version.ts'
import { createRegistry, type Counter, type Registry } from './registry.ts'

export interface CoordinatorMetrics {
  registry: Registry
  /** The client, counting claims, claim errors and reported outcomes, and noting every answer from the app. */
  client(client: WorkerClient): WorkerClient
  /** The executors, counting agent starts, start failures and host fallbacks. */
  executors(executors: CoordinatorExecutors): CoordinatorExecutors
  /** Gauges read at scrape time. */
  observe(source: { runningJobs(): number[]; limit(): number }): void
  /** When the app last answered (2xx, or a 4xx other than 401/403; ms since the epoch); 0 = never. */
  appReachedAt(): number
}

export function coordinatorMetrics(coordinatorId: string): CoordinatorMetrics {
  const registry = createRegistry()
  registry.gauge('terarchitect_coordinator_build_info', 'The coordinator\'s build: always 1, labelled with version, commit and coordinator id')
    .set(1, { version: BUILD.version, commit: BUILD.commit, coordinator_id: coordinatorId })
  const claims = registry.counter('terarchitect_coordinator_claims_total', 'Claims answered by the app, by result (job, none)')
  const claimErrors = registry.counter('terarchitect_coordinator_claim_errors_total', 'Claims that failed (app unreachable or erroring; aborted claims not counted)')
  const starts = registry.counter('terarchitect_coordinator_agent_starts_total', 'Agent starts attempted, by executor (those that could not start are also in _start_failures_total)')
  const startFailures = registry.counter('terarchitect_coordinator_agent_start_failures_total', 'Agents that could not be started (image missing, daemon error…), by executor')
  const fallbacks = registry.counter('terarchitect_coordinator_fallbacks_total', 'Docker-mode jobs run on the host because their container could not start (AGENT_FALLBACK_TO_HOST)')
  const reported = registry.counter('terarchitect_coordinator_jobs_reported_total', 'Job ends reported to the app, by outcome (complete, fail, release, requeue)')
  const appErrors = registry.counter('terarchitect_coordinator_app_errors_total', 'Requests to the app that failed, by call')
  let reachedAt = 0
  let source: { runningJobs(): number[]; limit(): number } | undefined
  registry.collect(() => [
    { name: 'terarchitect_coordinator_running_agents', help: 'Agents running now', type: 'gauge', samples: [{ labels: {}, value: source?.runningJobs().length ?? 0 }] },
    { name: 'terarchitect_coordinator_max_agents', help: 'The concurrency limit in force (MAX_CONCURRENT_AGENTS or the app setting)', type: 'gauge', samples: [{ labels: {}, value: source?.limit() ?? 0 }] },
    // -1 until the app first answers: an alert on "> N" then fires only once it was reached and lost.
    { name: 'terarchitect_coordinator_app_last_reached_seconds', help: 'Seconds since the app last answered this coordinator (-1: never yet)', type: 'gauge', samples: [{ labels: {}, value: reachedAt ? (Date.now() - reachedAt) / 1000 : -1 }] },
  ])

  return {
    registry,
    client(client) {
      const wrapped = { ...client } as Record<string, unknown>
      for (const [name, method] of Object.entries(client)) {
        if (typeof method !== 'function') continue
        wrapped[name] = async (...args: unknown[]) => {
          try {
            const result = await (method as (...a: unknown[]) => Promise<unknown>).apply(client, args)
            reachedAt = Date.now()
            countSuccess(name, result)
            return result
          } catch (error) {
            // A refusal of one request (409 lease lost, 400) still means the app is there and lets us in.
            if (isClientError(error) && error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 403) reachedAt = Date.now()
            const aborted = (args[0] as { signal?: AbortSignal } | undefined)?.signal?.aborted === true
            if (name === 'claim' && !aborted) claimErrors.inc()
            if (!aborted) appErrors.inc({ call: name })
            throw error
          }
        }
      }
      return wrapped as unknown as WorkerClient
    },
    executors(executors) {
      const containers = executors.containers
      return {
        containers: containers && { ...containers, forImage: (image) => counted(containers.forImage(image), starts, startFailures) },
        host: counted(executors.host, starts, startFailures, (spec) => spec.executionMode === 'docker' && fallbacks.inc()),
      }
    },
    observe(value) {
      source = value
    },
    appReachedAt: () => reachedAt,
  }

  function countSuccess(name: string, result: unknown) {
    if (name === 'claim') claims.inc({ result: result ? 'job' : 'none' })
    if (name === 'complete' || name === 'fail' || name === 'release' || name === 'requeue') reported.inc({ outcome: name })
  }
}

/** An executor whose runs are counted; `onRun` sees each spec first (fallback detection). */
function counted(executor: Executor, starts: Counter, failures: Counter, onRun?: (spec: Parameters<Executor['run']>[0]) => unknown): Executor {
  return {
    ...executor,
    async run(spec, output, signal) {
      onRun?.(spec)
      starts.inc({ executor: executor.name })
      try {
        return await executor.run(spec, output, signal)
      } catch (error) {
        failures.inc({ executor: executor.name })
        throw error
      }
    },
  }
}
