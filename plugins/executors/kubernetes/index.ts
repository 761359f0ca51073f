/**
 * `kubernetes`: each agent job runs as one Kubernetes Job (one Pod, `backoffLimit: 0`) in a
 * configured namespace, through the small client in this folder (in-cluster service account or a
 * kubeconfig; bearer token or client certificate, and the cluster's CA). The job's environment
 * travels in a Secret owned by the Job and mounted as files; the agent image's entrypoint exports
 * them (AGENT_ENV_DIR). Tested against a fake API server only (docs/scaling.md).
 */
import { hostname } from 'node:os'
import { DEFAULT_CONTAINER_LIMITS } from '../../../core/container-limits.ts'
import type { ContainerLimits } from '../../../core/container-limits.ts'
import type { Executor, JobSpec } from '../../../core/executor.ts'
import { createLogger, type Logger } from '../../../core/log.ts'
import { createKubernetesClient, type KubernetesClient } from './client.ts'
import { resolveConnection, type ConnectionSettings } from './connection.ts'
import type { JobSettings } from './manifests.ts'
import { probeKubernetes, reconcileJobs } from './reconcile.ts'
import { runKubernetesJob } from './run-job.ts'

export const NAME = 'kubernetes'

export interface KubernetesOptions extends ConnectionSettings {
  /** A ready client (tests); default one built from the connection settings. */
  client?: KubernetesClient
  /** Agent image (`AGENT_IMAGE`). Default `terarchitect-agent`. */
  image?: string
  /** The container's args; the image's entrypoint runs them. Default `[spec.kind]`. */
  command?: string[] | ((spec: JobSpec) => string[])
  /** Value of the `terarchitect.coordinator_id` label; default the host name. */
  coordinatorId?: string
  /** Limits until a job carries its own; default the app's defaults. The PID limit has no per-Pod equivalent and is not applied. */
  limits?: ContainerLimits
  /** CPU request (KUBERNETES_CPU_REQUEST), capped at the CPU limit. Default `500m`. */
  cpuRequest?: string
  /** Memory request (KUBERNETES_MEMORY_REQUEST), capped at the memory limit. Default `1Gi`. */
  memoryRequest?: string
  /** Seconds between SIGTERM and SIGKILL when a run is stopped (terminationGracePeriodSeconds). Default 2. */
  stopTimeoutSec?: number
  /** Service account of the agent's Pod (KUBERNETES_SERVICE_ACCOUNT); default none mounted. */
  serviceAccountName?: string
  /** Seconds the container may take to start (scheduling, image pull) before the job fails (KUBERNETES_START_TIMEOUT_SEC). Default 600. */
  startTimeoutSec?: number
  log?: Logger
}

export function kubernetes(options: KubernetesOptions = {}): Executor {
  const log = options.log ?? createLogger('info', { executor: NAME })
  let client = options.client
  let connectionProblem: string | undefined
  if (!client) {
    try {
      client = createKubernetesClient(resolveConnection(options))
    } catch (error) {
      connectionProblem = (error as Error).message
    }
  }
  const image = options.image ?? 'terarchitect-agent'
  const coordinatorId = options.coordinatorId ?? hostname()
  const settingsFor = (spec: JobSpec): JobSettings => ({
    image,
    args: typeof options.command === 'function' ? options.command(spec) : options.command ?? [spec.kind],
    coordinatorId,
    limits: spec.limits ?? options.limits ?? DEFAULT_CONTAINER_LIMITS,
    cpuRequest: options.cpuRequest ?? '500m',
    memoryRequest: options.memoryRequest ?? '1Gi',
    graceSec: options.stopTimeoutSec ?? 2,
    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
    ttlSecondsAfterFinished: 600,
  })
  const connected = (): KubernetesClient => {
    if (!client) throw new Error(`kubernetes: ${connectionProblem}`)
    return client
  }

  return {
    name: NAME,
    probe: async () => (client ? probeKubernetes(client, client.connection.namespace, image) : { ok: false, reason: connectionProblem! }),
    run: (spec, output, signal) => {
      const ready = connected()
      return runKubernetesJob(spec, output, signal, {
        client: ready, namespace: ready.connection.namespace, settings: settingsFor(spec), log, startTimeoutMs: (options.startTimeoutSec ?? 600) * 1000,
      })
    },
    reconcile: (id, keep) => reconcileJobs(connected(), connected().connection.namespace, id, keep, log),
    close: async () => client?.close(),
  }
}
