/**
 * `docker-swarm`: one coordinator drives a whole Docker Swarm through a manager's Engine API. Each
 * agent job is a one-shot service (service-spec.ts) labelled with the job and the coordinator; its
 * environment travels as Swarm secrets mounted as files (AGENT_ENV_DIR); reservations, limits and
 * placement constraints come from settings. The swarm does the scheduling and node failure
 * detection; retries stay the queue's (docs/scaling.md).
 */
import { hostname } from 'node:os'
import { DEFAULT_CONTAINER_LIMITS, type ContainerLimits } from '../../../core/container-limits.ts'
import type { Executor, JobSpec, ProbeResult } from '../../../core/executor.ts'
import { createLogger, type Logger } from '../../../core/log.ts'
import { COORDINATOR_ID_LABEL, JOB_ID_LABEL } from '../docker/run-container.ts'
import { createSwarmApi, type SwarmApi } from './api.ts'
import { removeRun, runSwarmService } from './run-service.ts'
import { RUN_LABEL } from './service-spec.ts'

export const NAME = 'docker-swarm'

export interface DockerSwarmOptions {
  /** A ready client (shared between images); default one for `dockerHost`. */
  api?: SwarmApi
  /** A swarm manager's `DOCKER_HOST`; default /var/run/docker.sock. */
  dockerHost?: string
  /** Agent image (`AGENT_IMAGE`), pullable by every node (a registry's name). Default `terarchitect-agent`. */
  image?: string
  /** The container's args; the image's entrypoint runs them. Default `[spec.kind]`. */
  command?: string[] | ((spec: JobSpec) => string[])
  /** Value of the `terarchitect.coordinator_id` label; default the host name. */
  coordinatorId?: string
  /** Limits until a job carries its own; default the app's defaults. */
  limits?: ContainerLimits
  /** CPUs reserved per task (SWARM_CPU_RESERVATION), capped at the CPU limit. Default 0.5. */
  cpuReservation?: number
  /** Bytes reserved per task (SWARM_MEMORY_RESERVATION), capped at the memory limit. Default 1 GiB. */
  memoryReservation?: number
  /** Placement constraints (SWARM_CONSTRAINTS), e.g. `node.labels.agents==true`. */
  constraints?: string[]
  /** Seconds between SIGTERM and SIGKILL when a task is stopped. Default 3. */
  stopTimeoutSec?: number
  /** Seconds a task may take to start (scheduling, image pull) (SWARM_START_TIMEOUT_SEC). Default 600. */
  startTimeoutSec?: number
  /** How often a run reads its task and the nodes, in ms. Default 500. */
  pollMs?: number
  log?: Logger
}

/** Ok when the daemon is an active swarm's manager (it can create services). */
export async function probeSwarm(api: SwarmApi): Promise<ProbeResult> {
  try {
    const swarm = await api.swarmState()
    if (swarm.state !== 'active') return { ok: false, reason: `the Docker daemon is not in a swarm (state ${swarm.state}): run \`docker swarm init\` or point DOCKER_HOST at a manager` }
    if (!swarm.controlAvailable) return { ok: false, reason: 'the Docker daemon is a swarm worker, not a manager: point DOCKER_HOST at a manager' }
    return { ok: true, detail: `swarm manager, ${swarm.nodes ?? '?'} nodes` }
  } catch (error) {
    return { ok: false, reason: `swarm manager unreachable: ${(error as Error).message}` }
  }
}

/**
 * Removes this coordinator's services (and their secrets) for jobs not in `keep`, and secrets
 * whose service is gone (a coordinator that died between creating them and the service).
 */
export async function reconcileServices(api: SwarmApi, coordinatorId: string, keep: ReadonlySet<number>, log: Logger): Promise<string[]> {
  const mine = [`${COORDINATOR_ID_LABEL}=${coordinatorId}`, JOB_ID_LABEL, RUN_LABEL]
  const services = await api.serviceList(mine)
  const secrets = await api.secretList(mine)
  const removed: string[] = []
  const liveRuns = new Set<string>()
  for (const service of services) {
    const labels = service.Spec.Labels
    const jobId = Number(labels[JOB_ID_LABEL])
    if (keep.has(jobId)) {
      liveRuns.add(labels[RUN_LABEL]!)
      continue
    }
    await removeRun(api, service.ID, [], log, { jobId, service: service.Spec.Name })
    removed.push(service.ID)
    log.info('removed orphan service', { jobId, service: service.Spec.Name })
  }
  const orphanSecrets = secrets.filter((secret) => !liveRuns.has(secret.Spec.Labels?.[RUN_LABEL] ?? ''))
  await removeRun(api, undefined, orphanSecrets.map((secret) => secret.ID), log, { coordinatorId })
  removed.push(...orphanSecrets.map((secret) => secret.ID))
  return removed
}

export function dockerSwarm(options: DockerSwarmOptions = {}): Executor {
  const api = options.api ?? createSwarmApi({ dockerHost: options.dockerHost })
  const log = options.log ?? createLogger('info', { executor: NAME })
  const coordinatorId = options.coordinatorId ?? hostname()
  return {
    name: NAME,
    probe: () => probeSwarm(api),
    run: (spec, output, signal) => runSwarmService(spec, output, signal, {
      api,
      log,
      startTimeoutMs: (options.startTimeoutSec ?? 600) * 1000,
      pollMs: options.pollMs ?? 500,
      settings: {
        image: options.image ?? 'terarchitect-agent',
        args: typeof options.command === 'function' ? options.command(spec) : options.command ?? [spec.kind],
        coordinatorId,
        limits: spec.limits ?? options.limits ?? DEFAULT_CONTAINER_LIMITS,
        cpuReservation: options.cpuReservation ?? 0.5,
        memoryReservation: options.memoryReservation ?? 1024 ** 3,
        constraints: options.constraints ?? [],
        stopGraceSec: options.stopTimeoutSec ?? 3,
      },
    }),
    reconcile: (id, keep) => reconcileServices(api, id, keep, log),
    close: async () => {
      if (!options.api) api.close()
    },
  }
}
