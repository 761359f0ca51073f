/**
 * The coordinator's container side on Kubernetes (AGENT_DOCKER_MODE=kubernetes): one executor per
 * image sharing one API client, the probe as its ping, and reconcile by label. No image ids, no
 * host paths (the git object cache stays off), no warm pool.
 */
import type { ContainerExecutors } from '../../../core/coordinator/types.ts'
import type { Executor } from '../../../core/executor.ts'
import { createKubernetesClient } from './client.ts'
import { resolveConnection } from './connection.ts'
import { kubernetes, NAME, type KubernetesOptions } from './index.ts'
import { probeKubernetes, reconcileJobs } from './reconcile.ts'

/** Throws (a KubernetesError `k8s_config`) when the connection settings cannot be read: a start-up error. */
export function kubernetesContainers(options: KubernetesOptions & { log: NonNullable<KubernetesOptions['log']> }): ContainerExecutors {
  const client = options.client ?? createKubernetesClient(resolveConnection(options))
  const namespace = client.connection.namespace
  const byImage = new Map<string, Executor>()
  return {
    name: NAME,
    forImage(image) {
      let executor = byImage.get(image)
      if (!executor) byImage.set(image, (executor = kubernetes({ ...options, client, image })))
      return executor
    },
    ping: () => probeKubernetes(client, namespace, options.image ?? 'terarchitect-agent'),
    reconcile: (coordinatorId, keep) => reconcileJobs(client, namespace, coordinatorId, keep, options.log),
    close: async () => client.close(),
    bindsHostPaths: false,
  }
}
