/**
 * The container side of a coordinator for AGENT_DOCKER_MODE: Docker (dind or dood, one executor per
 * image sharing one Engine client), a Swarm manager, or Kubernetes. Composed by coordinator.ts.
 */
import type { CoordinatorConfig } from '../../core/coordinator-config.ts'
import { firstHost } from '../../core/coordinator/reachability.ts'
import type { ContainerExecutors } from '../../core/coordinator/types.ts'
import type { Executor } from '../../core/executor.ts'
import type { Logger } from '../../core/log.ts'
import { dockerDind, NAME as DIND } from './docker/dind.ts'
import { dockerDood, NAME as DOOD } from './docker/dood.ts'
import { createDockerEngine } from './docker/engine.ts'
import { imageIdOf, keepProjectImage } from './docker/project-image.ts'
import { reconcileContainers } from './docker/reconcile-containers.ts'
import { swarmContainers } from './docker-swarm/containers.ts'
import { kubernetesContainers } from './kubernetes/containers.ts'

export function containerExecutors(config: CoordinatorConfig, coordinatorId: string, log: Logger): ContainerExecutors {
  return config.AGENT_DOCKER_MODE === 'kubernetes'
    ? kubernetesContainers({
      kubeconfig: config.KUBERNETES_KUBECONFIG, context: config.KUBERNETES_CONTEXT, namespace: config.KUBERNETES_NAMESPACE,
      serviceHost: config.KUBERNETES_SERVICE_HOST, servicePort: config.KUBERNETES_SERVICE_PORT, serviceAccountName: config.KUBERNETES_SERVICE_ACCOUNT,
      cpuRequest: config.KUBERNETES_CPU_REQUEST, memoryRequest: config.KUBERNETES_MEMORY_REQUEST, startTimeoutSec: config.KUBERNETES_START_TIMEOUT_SEC,
      image: config.AGENT_IMAGE, coordinatorId, log, limits: config.containerLimits, stopTimeoutSec: config.AGENT_STOP_TIMEOUT_SEC,
    })
    : config.AGENT_DOCKER_MODE === 'swarm'
      ? swarmContainers({
        dockerHost: config.DOCKER_HOST, image: config.AGENT_IMAGE, coordinatorId, log, limits: config.containerLimits,
        constraints: config.swarmConstraints, cpuReservation: config.SWARM_CPU_RESERVATION, memoryReservation: config.swarmMemoryReservation,
        startTimeoutSec: config.SWARM_START_TIMEOUT_SEC, stopTimeoutSec: config.AGENT_STOP_TIMEOUT_SEC,
      })
      : dockerContainers(config, coordinatorId, log)
}

/** dind or dood: one executor per image, sharing one Engine client. */
function dockerContainers(config: CoordinatorConfig, coordinatorId: string, log: Logger): ContainerExecutors {
  const engine = createDockerEngine({ dockerHost: config.DOCKER_HOST })
  const dood = config.AGENT_DOCKER_MODE === 'dood'
  const byImage = new Map<string, Executor>()
  const dindLearned = {}
  const common = {
    engine, coordinatorId, log,
    cacheVolume: config.AGENT_CACHE_VOLUME,
    // Until the app's settings are read; each job then carries the limits in force (loop.ts).
    ...config.containerLimits,
    ...(config.AGENT_RUNTIME ? { runtime: config.AGENT_RUNTIME } : {}),
    stopTimeoutSec: config.AGENT_STOP_TIMEOUT_SEC,
  }
  return {
    name: dood ? DOOD : DIND,
    forImage(image) {
      let executor = byImage.get(image)
      if (!executor) {
        executor = dood
          ? dockerDood({ ...common, image, mountSocket: config.AGENT_MOUNT_DOCKER_SOCKET, ...(config.DOCKER_HOST ? { dockerHost: config.DOCKER_HOST } : {}) })
          : dockerDind({ ...common, image, learned: dindLearned })
        byImage.set(image, executor)
      }
      return executor
    },
    async ping() {
      try {
        const version = await engine.checkVersion(AbortSignal.timeout(3000))
        return { ok: true, detail: `docker ${version.Version} (API ${version.ApiVersion})` }
      } catch (error) {
        return { ok: false, reason: (error as Error).message }
      }
    },
    reconcile: (id, keep, pool) => reconcileContainers(engine, id, keep, log, pool),
    imageId: (image) => imageIdOf(engine, image),
    keepImage: (imageId, projectId) => keepProjectImage(engine, imageId, projectId),
    async hostGateway() {
      const config = (await engine.networkInspect('bridge')).IPAM.Config?.[0]
      return config?.Gateway || (config?.Subnet ? firstHost(config.Subnet) : undefined)
    },
    close: async () => engine.close(),
    bindsHostPaths: !/^(tcp|http):/.test(config.DOCKER_HOST ?? ''),
  }
}
