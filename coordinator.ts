/**
 * The coordinator: claims agent jobs from the app over HTTP and runs each through an executor
 * (`node dist/coordinator.js`). Configuration is the environment (docs/coordinator.md); this file
 * only wires config, state, executors and the loop together, and handles signals.
 * `node dist/coordinator.js reset-image <project id>…|--all` runs that command instead (reset-image.ts).
 */
import { resolveCoordinatorConfig, resolveResetImageConfig } from './core/coordinator-config.ts'
import { createWorkerClient } from './core/coordinator/client.ts'
import { startCoordinator } from './core/coordinator/loop.ts'
import { startHealthServer } from './core/coordinator/health-server.ts'
import { coordinatorMetrics } from './core/metrics/coordinator.ts'
import { resetImage } from './core/coordinator/reset-image.ts'
import { openState } from './core/coordinator/state.ts'
import type { CoordinatorExecutors } from './core/coordinator/types.ts'
import { createLogger, redact } from './core/log.ts'
import { createDockerEngine } from './plugins/executors/docker/engine.ts'
import { dropProjectImageTag } from './plugins/executors/docker/project-image.ts'
import { containerExecutors } from './plugins/executors/containers.ts'
import { local } from './plugins/executors/local.ts'

async function main() {
  if (process.argv[2] === 'reset-image') {
    const config = resolveResetImageConfig(process.env)
    const engine = createDockerEngine({ dockerHost: config.DOCKER_HOST })
    process.exitCode = await resetImage(process.argv.slice(3), {
      stateDir: config.COORDINATOR_STATE_DIR, agentImage: config.AGENT_IMAGE,
      untag: (tag) => dropProjectImageTag(engine, tag), out: (line) => process.stdout.write(line + '\n'),
    })
    engine.close()
    return
  }
  const config = resolveCoordinatorConfig(process.env)
  for (const secret of [config.workerCredential, config.GITHUB_TOKEN, config.METRICS_TOKEN]) redact(secret)
  const log = createLogger(config.LOG_LEVEL, { service: 'coordinator' })
  process.on('unhandledRejection', (error) => log.error('unhandled rejection (ignored)', { error }))

  const state = openState(config.COORDINATOR_STATE_DIR, log, config.COORDINATOR_ID)
  const { coordinatorId } = state
  const hostCommand = config.hostCommand
  const metrics = coordinatorMetrics(coordinatorId)
  const executors: CoordinatorExecutors = metrics.executors({
    containers: containerExecutors(config, coordinatorId, log),
    host: local({ log, user: config.agentLocalUser, ...(hostCommand ? { command: (spec) => [...hostCommand, spec.kind] } : {}) }),
  })

  // Listening before the first claim: a port in use stops the start before any job is taken.
  let stopping = false
  // Healthy while the app answered within three settings reads (the settings loop asks whatever the claims do) and a margin.
  const health = config.COORDINATOR_HEALTH_PORT === undefined ? null : await startHealthServer({
    port: config.COORDINATOR_HEALTH_PORT, host: config.COORDINATOR_HEALTH_HOST, registry: metrics.registry, log,
    ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN } : {}),
    appReachedAt: metrics.appReachedAt, stopping: () => stopping,
    staleMs: (3 * config.SETTINGS_REFRESH_SEC + 5) * 1000,
  })

  const coordinator = startCoordinator({
    config, coordinatorId, log, executors,
    client: metrics.client(createWorkerClient({ apiUrl: config.TERARCHITECT_API_URL, workerKey: config.workerCredential, coordinatorId })),
    images: state.images,
  })
  process.stdout.write(`Terarchitect coordinator ${coordinatorId} claiming from ${config.TERARCHITECT_API_URL}\n`)
  metrics.observe(coordinator)

  let signals = 0
  const stop = async (signal: NodeJS.Signals) => {
    signals++
    if (signals > 1) {
      log.warn('second signal: stopping running agents now', { signal })
      coordinator.abortJobs()
      return
    }
    log.info('signal received: finishing running jobs, then exiting', { signal, graceSec: config.SHUTDOWN_GRACE_SEC })
    stopping = true
    await coordinator.stop()
    await health?.close()
    state.release()
    process.exit(0)
  }
  process.on('SIGTERM', (signal) => void stop(signal))
  process.on('SIGINT', (signal) => void stop(signal))
}

main().catch((error) => {
  process.stderr.write(`terarchitect coordinator: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
