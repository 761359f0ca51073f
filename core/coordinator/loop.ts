/**
 * The coordinator's main loop: claim a job whenever a slot is free, run it (run-job.ts), repeat.
 *
 * - Claims long-poll (`wait_ms` = CLAIM_WAIT_SEC): the app answers at once when a job is enqueued.
 *   When the app does not wait (it answered 204 well before `wait_ms`) or refuses `wait_ms`, the
 *   loop polls every POLL_INTERVAL_SEC instead and tries long-poll again after 5 minutes.
 * - When the app is unreachable or failing, claims back off with jitter (≈1, 2, 4, 8, 16, then 30 s
 *   at most; see backoff.ts) and the log says so; when it answers again, the log says that too.
 * - Concurrency: MAX_CONCURRENT_AGENTS, overridden by the app setting of the same name, re-read
 *   every SETTINGS_REFRESH_SEC (a lower limit lets running jobs finish; it never stops them).
 * - Container limits: the app settings AGENT_MEMORY, AGENT_CPUS and AGENT_PIDS_LIMIT, re-read with
 *   it and applied to the next container started; the coordinator's variables of the same names,
 *   when set, win (config.containerLimitOverrides).
 * - Local path checks asked at a project's save are answered every few seconds (path-checks.ts).
 * - Nothing escapes the loop: a job's failure is written to that job, not thrown.
 * - When Docker first answers, how containers reach the app is decided (reachability.ts): with a
 *   loopback TERARCHITECT_API_URL the forwarder listens on the bridge before the first claim, and
 *   container jobs get its URL; it closes after the last job has ended.
 * - AGENT_WARM_POOL > 0: claimed docker jobs take a warm container when one of their key is ready
 *   (warm-pool.ts); the pool is emptied on stop.
 */
import type { ContainerLimits } from '../container-limits.ts'
import type { CoordinatorConfig } from '../coordinator-config.ts'
import type { Logger } from '../log.ts'
import { backoffMs, sleep } from './backoff.ts'
import { isClientError, type ClaimedJob, type WorkerClient } from './client.ts'
import { watchDocker, type DockerWatch } from './docker-watch.ts'
import type { ProjectImages } from './images.ts'
import { openContainerReach, withAgentApiUrl, type ContainerReach } from './reachability.ts'
import { gitCacheFor } from './git-cache.ts'
import { runJob } from './run-job.ts'
import { createWarmPool } from './warm-pool.ts'
import { handForgeToken } from './forge-token.ts'
import { startReporting } from './report.ts'
import { startPathChecks } from './path-checks.ts'
import type { CoordinatorExecutors } from './types.ts'

const LONG_POLL_RETRY_MS = 5 * 60 * 1000

export interface CoordinatorOptions {
  config: CoordinatorConfig
  coordinatorId: string
  client: WorkerClient
  executors: CoordinatorExecutors
  /** project_images.json (state.ts); omitted: every project runs AGENT_IMAGE. */
  images?: ProjectImages
  log: Logger
}

export interface RunningCoordinator {
  readonly coordinatorId: string
  /** Job ids running now. */
  runningJobs(): number[]
  /** The concurrency limit in force. */
  limit(): number
  /**
   * Graceful stop: no new claims; running jobs may finish for `graceMs` (default
   * SHUTDOWN_GRACE_SEC); then their agents are stopped and the jobs released back to the queue.
   * Resolves when everything has ended.
   */
  stop(graceMs?: number): Promise<void>
  /** Ends the grace period now (a second SIGTERM): running agents are stopped and handed back. */
  abortJobs(): void
}

export function startCoordinator(options: CoordinatorOptions): RunningCoordinator {
  const { config, client, executors, coordinatorId } = options
  const log = options.log
  // One entry per run (per claim), not per job id: a job whose run lost its place comes back as its
  // next attempt, which this coordinator may claim before the lost run has finished reporting; that
  // run's end must not drop the next attempt's entry (uncounted against the limit, unkept by reconcile).
  const running = new Map<ClaimedJob, Promise<void>>()
  const runningJobIds = () => [...new Set([...running.keys()].map((job) => job.job_id))]
  const stopping = new AbortController()
  const shutdown = new AbortController()
  let appLimit: number | null = null
  let appContainerLimits: Partial<ContainerLimits> = {}
  const containerLimits = (): ContainerLimits => ({ ...config.containerLimits, ...appContainerLimits, ...config.containerLimitOverrides })
  let wake: () => void = () => {}
  const wakeLoop = () => wake()
  let claimInFlight: AbortController | undefined
  // How containers reach the app (reachability.ts): decided once Docker first answers.
  let reach: Promise<ContainerReach> | undefined
  const limit = () => appLimit ?? config.MAX_CONCURRENT_AGENTS
  const containers = executors.containers
  const jobExecutors: CoordinatorExecutors = containers
    ? { ...executors, containers: withAgentApiUrl(containers, async () => (await reach)?.agentApiUrl) }
    : executors

  // Warm containers (warm-pool.ts) when this coordinator runs containers that can be prepared.
  const warmPool = containers && config.AGENT_WARM_POOL > 0
    ? createWarmPool({ containers: jobExecutors.containers!, maxPerKey: config.AGENT_WARM_POOL, tickMs: config.DOCKER_CHECK_SEC * 1000, log })
    : null
  const docker: DockerWatch | null = containers
    ? watchDocker({
        // Reconcile keeps this process's warm containers and removes any other pool's.
        containers: warmPool ? { ...containers, reconcile: (id, keep) => containers.reconcile(id, keep, warmPool.id) } : containers,
        coordinatorId, log, intervalMs: config.DOCKER_CHECK_SEC * 1000,
        runningJobs: () => new Set(runningJobIds()),
        onChange(up) {
          if (up && !reach && containers.hostGateway && !stopping.signal.aborted) {
            reach = containers.hostGateway()
              .then((gateway) => openContainerReach(config.TERARCHITECT_API_URL, gateway, log))
              .catch((error: unknown): ContainerReach => {
                log.warn('could not decide how agent containers reach the app', { error: (error as Error).message })
                return {}
              })
          }
          // Without the fallback a claim made now could only fail its job: drop the one in flight.
          if (!up && !config.AGENT_FALLBACK_TO_HOST) claimInFlight?.abort()
          wakeLoop()
        },
      })
    : null
  if (!containers) log.warn('Docker is not configured: docker-mode jobs run on the host (fallback) or fail')
  const warnDood = () => {
    if (containers?.name === 'docker-dood' && limit() > 1) {
      log.warn(`docker-dood with ${limit()} concurrent agents: agents share the host daemon and can see each other's containers; dood is safe with one agent at a time`)
    }
  }
  warnDood()

  // --- the app settings MAX_CONCURRENT_AGENTS and container limits, re-read while running -------
  const settingsLoop = (async () => {
    let refusedLogged = false
    while (!stopping.signal.aborted) {
      try {
        const { maxConcurrent: value, limits } = await client.readSettings()
        const before = containerLimits()
        appContainerLimits = limits
        const after = containerLimits()
        if (JSON.stringify(before) !== JSON.stringify(after)) log.info('container limits changed (app settings; this coordinator\'s AGENT_MEMORY, AGENT_CPUS, AGENT_PIDS_LIMIT win when set)', { ...after })
        if (value !== appLimit) {
          appLimit = value
          log.info(value === null
            ? `app setting MAX_CONCURRENT_AGENTS is unset: using ${config.MAX_CONCURRENT_AGENTS} from the environment`
            : `max concurrent agents is ${value} (app setting)`)
          warnDood()
          // A lower limit holds back the claim in flight too (the app hands it back untouched).
          if (running.size >= limit()) claimInFlight?.abort()
          wakeLoop()
        }
      } catch (error) {
        if (isClientError(error, 401) || isClientError(error, 403)) {
          if (!refusedLogged) log.warn(`the app does not let this coordinator read settings (${(error as Error).message}); MAX_CONCURRENT_AGENTS=${config.MAX_CONCURRENT_AGENTS} from the environment applies`)
          refusedLogged = true
        } else {
          log.debug('reading app settings failed', { error: (error as Error).message })
        }
      }
      await sleep(config.SETTINGS_REFRESH_SEC * 1000, stopping.signal)
    }
  })()

  const gitCache = containers?.bindsHostPaths ? gitCacheFor(config, log) : null
  const launch = (job: ClaimedJob) => {
    log.info('job claimed', { jobId: job.job_id, projectId: job.project_id, kind: job.kind, mode: job.execution_mode, attempt: job.attempt })
    const done = runJob(job, {
      client, executors: jobExecutors, log,
      apiUrl: config.TERARCHITECT_API_URL,
      defaultImage: config.AGENT_IMAGE,
      ...(options.images ? { images: options.images } : {}),
      timeoutMs: config.JOB_TIMEOUT_SEC * 1000,
      repoRoot: config.COORDINATOR_REPO_ROOT,
      fallbackToHost: config.AGENT_FALLBACK_TO_HOST,
      heartbeatMaxMs: config.HEARTBEAT_MAX_SEC * 1000,
      containerLimits: containerLimits(),
      gitCache,
      warmPool,
      shutdown: shutdown.signal,
    }).catch((error: unknown) => log.error('job runner crashed', { jobId: job.job_id, error }))
      .finally(() => {
        running.delete(job)
        wakeLoop()
      })
    running.set(job, done)
  }

  /** Waits until something may have changed (a job ended, the limit or Docker changed, stop). */
  const changed = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      stopping.signal.removeEventListener('abort', done)
      wake = () => {}
      resolve()
    }
    wake = done
    stopping.signal.addEventListener('abort', done, { once: true })
  })

  // --- the claim loop -------------------------------------------------------------------------
  // GITHUB_TOKEN goes to the app before the first claim, so the first job's git relay has it.
  const forgeHandoff = config.GITHUB_TOKEN
    ? handForgeToken({ client, token: config.GITHUB_TOKEN, projectIds: config.projectIds, log, signal: stopping.signal })
    : Promise.resolve()
  const claimLoop = (async () => {
    await forgeHandoff
    if (docker) await Promise.race([docker.ready, sleep(10000, stopping.signal)]) // reconcile before the first claim
    if (reach) await reach // the forwarder listens before the first container starts
    let failures = 0
    let longPoll = config.CLAIM_WAIT_SEC > 0
    let longPollRetryAt = 0
    let pausedForDocker = false
    while (!stopping.signal.aborted) {
      if (running.size >= limit()) {
        await changed(60000)
        continue
      }
      // Without the host fallback, a coordinator whose Docker is down would only fail jobs: wait.
      const dockerDown = docker !== null && docker.up !== true && !config.AGENT_FALLBACK_TO_HOST
      if (dockerDown) {
        if (!pausedForDocker) log.warn('not claiming while Docker is unavailable (AGENT_FALLBACK_TO_HOST=false)')
        pausedForDocker = true
        await changed(60000)
        continue
      }
      pausedForDocker = false
      if (!longPoll && config.CLAIM_WAIT_SEC > 0 && Date.now() >= longPollRetryAt) longPoll = true
      const waitMs = longPoll ? config.CLAIM_WAIT_SEC * 1000 : 0
      const started = Date.now()
      claimInFlight = new AbortController()
      try {
        const signal = AbortSignal.any([stopping.signal, claimInFlight.signal])
        const job = await client.claim({ projectIds: config.projectIds, waitMs, executor: containers?.name ?? executors.host.name, signal })
        if (failures > 0) log.info('the app answers again; claiming', { url: config.TERARCHITECT_API_URL })
        failures = 0
        if (job) {
          launch(job)
          continue
        }
        if (longPoll && Date.now() - started < waitMs / 2) {
          log.warn(`the app answered a long-poll claim at once: long-poll unavailable; polling every ${config.POLL_INTERVAL_SEC} s`)
          longPoll = false
          longPollRetryAt = Date.now() + LONG_POLL_RETRY_MS
        }
        if (!longPoll) await sleep(config.POLL_INTERVAL_SEC * 1000, stopping.signal)
      } catch (error) {
        if (stopping.signal.aborted) break
        if (claimInFlight.signal.aborted) continue
        if (longPoll && isClientError(error, 400)) {
          log.warn(`the app refused a long-poll claim (${(error as Error).message}); polling every ${config.POLL_INTERVAL_SEC} s`)
          longPoll = false
          longPollRetryAt = Date.now() + LONG_POLL_RETRY_MS
          await sleep(config.POLL_INTERVAL_SEC * 1000, stopping.signal)
          continue
        }
        failures++
        const delay = Math.max(backoffMs(failures), longPoll ? 0 : config.POLL_INTERVAL_SEC * 1000)
        const what = isClientError(error, 0) ? `the app at ${config.TERARCHITECT_API_URL} is unreachable` : 'claiming failed'
        log.warn(`${what}: ${(error as Error).message}; retrying in ${(delay / 1000).toFixed(1)} s`, { failures })
        await sleep(delay, stopping.signal)
      }
    }
  })().catch((error: unknown) => log.error('claim loop crashed', { error }))

  log.info('coordinator started', {
    coordinatorId, api: config.TERARCHITECT_API_URL, projects: config.projectIds ?? 'all',
    executor: containers?.name ?? executors.host.name, maxConcurrent: config.MAX_CONCURRENT_AGENTS,
  })

  const reporting = startReporting({
    client, log, intervalSec: config.COORDINATOR_REPORT_SEC, executor: containers?.name ?? executors.host.name,
    runningJobs: runningJobIds, capacity: limit,
  })

  // Path checks asked at a project's save answer within seconds, whatever the claim mode.
  const pathChecks = startPathChecks({ client, log, intervalMs: Math.min(3000, config.POLL_INTERVAL_SEC * 1000), projectIds: config.projectIds })

  let stopped: Promise<void> | undefined
  return {
    coordinatorId,
    runningJobs: runningJobIds,
    limit,
    stop: (graceMs = config.SHUTDOWN_GRACE_SEC * 1000) =>
      (stopped ??= (async () => {
        log.info('stopping: no new claims', { running: running.size, graceSec: graceMs / 1000 })
        stopping.abort()
        docker?.stop()
        await Promise.all([claimLoop, settingsLoop])
        if (running.size) {
          const finished = Promise.all(running.values()).then(() => true)
          const graceOver = new AbortController()
          const inTime = await Promise.race([finished, sleep(graceMs, graceOver.signal).then(() => false)])
          graceOver.abort()
          if (!inTime) {
            log.warn('grace period over: stopping running agents; their jobs are handed back', { jobs: runningJobIds() })
            shutdown.abort()
            await finished
          }
        }
        await pathChecks.stop()
        await reporting.stop()
        await warmPool?.close()
        await (await reach)?.forwarder?.close()
        await containers?.close?.()
        await executors.host.close?.()
        log.info('coordinator stopped')
      })()),
    abortJobs: () => shutdown.abort(),
  }
}
