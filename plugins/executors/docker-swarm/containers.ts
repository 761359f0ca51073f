/**
 * The coordinator's container side on a Docker Swarm (AGENT_DOCKER_MODE=swarm): one executor per
 * image sharing one client of the manager, the probe as its ping, and reconcile by label. The image
 * is pulled by each node (no image ids), no host paths (the git object cache stays off), no warm pool.
 */
import type { ContainerExecutors } from '../../../core/coordinator/types.ts'
import type { Executor } from '../../../core/executor.ts'
import type { Logger } from '../../../core/log.ts'
import { createSwarmApi } from './api.ts'
import { dockerSwarm, NAME, probeSwarm, reconcileServices, type DockerSwarmOptions } from './index.ts'

export function swarmContainers(options: DockerSwarmOptions & { log: Logger }): ContainerExecutors {
  const api = options.api ?? createSwarmApi({ dockerHost: options.dockerHost })
  const byImage = new Map<string, Executor>()
  return {
    name: NAME,
    forImage(image) {
      let executor = byImage.get(image)
      if (!executor) byImage.set(image, (executor = dockerSwarm({ ...options, api, image })))
      return executor
    },
    ping: () => probeSwarm(api),
    reconcile: (coordinatorId, keep) => reconcileServices(api, coordinatorId, keep, options.log),
    close: async () => api.close(),
    bindsHostPaths: false,
  }
}
