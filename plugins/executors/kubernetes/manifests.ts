/**
 * The objects the executor sends: one batch/v1 Job per agent job (one Pod, no retries of its own:
 * retries stay the queue's) and one Secret holding the job's environment, owned by the Job so the
 * garbage collector removes it with the Job. The Pod spec names the Secret only: no value of the
 * environment is in its env, args or labels.
 */
import { createHash } from 'node:crypto'
import type { ContainerLimits } from '../../../core/container-limits.ts'
import type { JobSpec } from '../../../core/executor.ts'

export const JOB_ID_LABEL = 'terarchitect.job_id'
export const COORDINATOR_ID_LABEL = 'terarchitect.coordinator_id'
/** The Job's own name, on the Job and its Pod: how the run finds its Pod. */
export const RUN_LABEL = 'terarchitect.run'
export const CONTAINER_NAME = 'agent'
/** Where the Secret is mounted; the agent image's entrypoint exports each file as a variable (AGENT_ENV_DIR). */
export const ENV_MOUNT_PATH = '/var/run/terarchitect/env'

export interface JobSettings {
  image: string
  /** The container's args (the image's entrypoint runs them), e.g. `['ticket']`. */
  args: string[]
  coordinatorId: string
  limits: ContainerLimits
  /** Requests: what the scheduler reserves; each is capped at its limit. Kubernetes quantities. */
  cpuRequest: string
  memoryRequest: string
  /** Pod terminationGracePeriodSeconds: SIGTERM → SIGKILL on cancel and timeout. */
  graceSec: number
  /** A service account for the agent's Pod; default none is mounted at all. */
  serviceAccountName?: string
  /** Seconds a finished Job is kept if the coordinator could not delete it (TTL controller). */
  ttlSecondsAfterFinished: number
}

/**
 * A label value: letters, digits, `-_.`, at most 63, alphanumeric at both ends. A coordinator id
 * that is not one (it may hold `:` or `@`, or be longer) is labelled with a hash of it.
 */
export function labelValue(value: string): string {
  if (/^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)$/.test(value)) return value
  return `h-${createHash('sha256').update(value).digest('hex').slice(0, 40)}`
}

/** Object names must be DNS-1123 labels (Pod names add a suffix, so stay well under 63). */
export const jobName = (jobId: number, suffix: string) => `terarchitect-job-${jobId}-${suffix}`

export function labelsFor(spec: JobSpec, name: string, coordinatorId: string): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const [key, value] of Object.entries(spec.labels)) labels[key] = labelValue(value)
  return { ...labels, [JOB_ID_LABEL]: String(spec.jobId), [COORDINATOR_ID_LABEL]: labelValue(coordinatorId), [RUN_LABEL]: name }
}

/** The Job, created suspended: its Pod starts only once the Secret it mounts exists (run-job.ts). */
export function jobManifest(spec: JobSpec, name: string, settings: JobSettings) {
  const labels = labelsFor(spec, name, settings.coordinatorId)
  const timeoutSec = Math.ceil(spec.timeoutMs / 1000)
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels, annotations: { 'terarchitect.coordinator': settings.coordinatorId } },
    spec: {
      suspend: true,
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
      // A backstop when the coordinator is gone: the run's own timer deletes the Job first.
      ...(timeoutSec > 0 ? { activeDeadlineSeconds: timeoutSec + 60 } : {}),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: settings.graceSec,
          ...(settings.serviceAccountName
            ? { serviceAccountName: settings.serviceAccountName }
            : { automountServiceAccountToken: false }),
          containers: [{
            name: CONTAINER_NAME,
            image: settings.image,
            args: settings.args,
            // AGENT_DIND off: agent pods are not privileged, so no Docker daemon is tried in them.
            env: [{ name: 'AGENT_ENV_DIR', value: ENV_MOUNT_PATH }, { name: 'AGENT_DIND', value: 'off' }],
            resources: resources(settings),
            volumeMounts: [{ name: 'job-env', mountPath: ENV_MOUNT_PATH, readOnly: true }],
          }],
          // 0400: the entrypoint reads the files as root, then drops to the agent user.
          volumes: [{ name: 'job-env', secret: { secretName: name, defaultMode: 0o400 } }],
        },
      },
    },
  }
}

/** The Secret with the job's environment, one key per variable, owned by the Job. */
export function secretManifest(spec: JobSpec, name: string, owner: { uid: string }, coordinatorId: string) {
  const data: Record<string, string> = {}
  for (const [key, value] of Object.entries(spec.env)) data[key] = Buffer.from(value, 'utf8').toString('base64')
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      labels: labelsFor(spec, name, coordinatorId),
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: owner.uid, controller: true, blockOwnerDeletion: true }],
    },
    data,
  }
}

/** Limits from the job's limits; requests as configured, capped at the limits. No PID limit per container exists. */
function resources(settings: JobSettings) {
  const limits: Record<string, string> = {}
  const requests: Record<string, string> = { cpu: settings.cpuRequest, memory: settings.memoryRequest }
  if (settings.limits.cpus > 0) {
    const millis = Math.max(1, Math.round(settings.limits.cpus * 1000))
    limits.cpu = `${millis}m`
    if (parseCpu(settings.cpuRequest) > millis) requests.cpu = limits.cpu
  }
  if (settings.limits.memoryBytes > 0) {
    limits.memory = String(settings.limits.memoryBytes)
    if (parseMemory(settings.memoryRequest) > settings.limits.memoryBytes) requests.memory = limits.memory
  }
  return { requests, ...(Object.keys(limits).length ? { limits } : {}) }
}

/** CPU quantity → millicores (`250m`, `0.5`, `2`). */
export function parseCpu(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000
}

const MEMORY_SUFFIX: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 }

/** Memory quantity → bytes (`512Mi`, `1G`, `1048576`); NaN when not one. */
export function parseMemory(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity)
  return match ? Number(match[1]) * MEMORY_SUFFIX[match[2] ?? '']! : NaN
}
