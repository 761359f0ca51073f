/**
 * What one agent job becomes on a swarm: a one-shot service (one task, restart condition `none`:
 * retries stay the queue's) and one Swarm secret per variable of the job's environment, mounted as
 * files in /run/secrets, which the agent image's entrypoint exports (AGENT_ENV_DIR). No value of the
 * environment is in the service spec, its labels or the container's environment.
 *
 * The service is replicated, of one replica, not a `replicated-job`: removing a `replicated-job`
 * service on Docker 20.10 leaves its running task running to its end (moby/moby#44312, measured
 * here), so a cancel or timeout would not stop the agent. With restart condition `none` a
 * replicated service's finished task is not replaced, so it runs the job once all the same.
 */
import type { ContainerLimits } from '../../../core/container-limits.ts'
import type { JobSpec } from '../../../core/executor.ts'
import { COORDINATOR_ID_LABEL, JOB_ID_LABEL } from '../docker/run-container.ts'
import type { SecretSpec, ServiceSpec } from './types.ts'

/** Label on the service and on its secrets: the run's name, so its secrets are found with it. */
export const RUN_LABEL = 'terarchitect.swarm_run'
/** Where Swarm mounts secrets whose target is a relative name. */
export const SECRETS_DIR = '/run/secrets'
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface ServiceSettings {
  image: string
  /** The container's args; the image's entrypoint runs them. */
  args: string[]
  coordinatorId: string
  limits: ContainerLimits
  /** CPUs the scheduler reserves on a node for the task (capped at the CPU limit); 0 = none. */
  cpuReservation: number
  /** Bytes the scheduler reserves (capped at the memory limit); 0 = none. */
  memoryReservation: number
  /** Placement constraints, e.g. `node.labels.agents==true`. */
  constraints: string[]
  stopGraceSec: number
}

/** The run's name (`terarchitect-job-<job id>-<random>`): the service's name and the secrets' prefix. */
export const runName = (jobId: number, suffix: string) => `terarchitect-job-${jobId}-${suffix}`

export function labelsFor(spec: JobSpec, run: string, coordinatorId: string): Record<string, string> {
  return { [COORDINATOR_ID_LABEL]: coordinatorId, ...spec.labels, [JOB_ID_LABEL]: String(spec.jobId), [RUN_LABEL]: run }
}

/**
 * The job's secrets: one per non-empty variable (Swarm refuses empty secrets; an empty value holds
 * nothing secret and goes in the plain environment instead). Names that are no shell variable
 * names cannot be exported by the entrypoint and are left out (`skipped`).
 */
export function secretsFor(spec: JobSpec, run: string, coordinatorId: string): { secrets: { variable: string; spec: SecretSpec }[]; empty: string[]; skipped: string[] } {
  const labels = labelsFor(spec, run, coordinatorId)
  const secrets: { variable: string; spec: SecretSpec }[] = []
  const empty: string[] = []
  const skipped: string[] = []
  for (const [variable, value] of Object.entries(spec.env)) {
    if (!VARIABLE_NAME.test(variable)) skipped.push(variable)
    else if (value === '') empty.push(variable)
    else secrets.push({ variable, spec: { Name: `${run}-${secrets.length}`, Labels: labels, Data: Buffer.from(value, 'utf8').toString('base64') } })
  }
  return { secrets, empty, skipped }
}

export function serviceSpec(
  spec: JobSpec, run: string, settings: ServiceSettings, secrets: { variable: string; id: string; name: string }[], empty: string[],
): ServiceSpec {
  const { limits } = settings
  const cpuReservation = limits.cpus > 0 ? Math.min(settings.cpuReservation, limits.cpus) : settings.cpuReservation
  const memoryReservation = limits.memoryBytes > 0 ? Math.min(settings.memoryReservation, limits.memoryBytes) : settings.memoryReservation
  const labels = labelsFor(spec, run, settings.coordinatorId)
  return {
    Name: run,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: settings.image,
        Args: settings.args,
        Labels: labels,
        // No Docker inside: a swarm task cannot get the privileges a nested dockerd needs.
        Env: [`AGENT_ENV_DIR=${SECRETS_DIR}`, 'AGENT_DIND=off', ...empty.map((variable) => `${variable}=`)],
        Init: true,
        StopGracePeriod: settings.stopGraceSec * 1e9,
        Secrets: secrets.map(({ variable, id, name }) => ({ SecretID: id, SecretName: name, File: { Name: variable, UID: '0', GID: '0', Mode: 0o400 } })),
      },
      Resources: {
        Limits: {
          ...(limits.cpus > 0 ? { NanoCPUs: Math.round(limits.cpus * 1e9) } : {}),
          ...(limits.memoryBytes > 0 ? { MemoryBytes: limits.memoryBytes } : {}),
          ...(limits.pidsLimit > 0 ? { Pids: limits.pidsLimit } : {}),
        },
        Reservations: {
          ...(cpuReservation > 0 ? { NanoCPUs: Math.round(cpuReservation * 1e9) } : {}),
          ...(memoryReservation > 0 ? { MemoryBytes: memoryReservation } : {}),
        },
      },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      ...(settings.constraints.length > 0 ? { Placement: { Constraints: settings.constraints } } : {}),
    },
    Mode: { Replicated: { Replicas: 1 } },
  }
}
