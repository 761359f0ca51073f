/**
 * Warm containers, the Docker side of the coordinator's warm pool (core/coordinator/warm-pool.ts):
 * `prepareWarm` creates and starts a container for a project with no job in it (the agent waits
 * for its job file; dind's daemon comes up meanwhile), `runOrHandOver` gives it a job.
 *
 * - Nothing of a job is in the container's spec: no job id label, no token or ticket in Env or Cmd.
 *   The job (its kind and environment) is uploaded after start as a small tar (job-archive.ts),
 *   readable by the agent user only; the agent deletes it once read.
 * - A warm container serves one job: handing it over forgets it, and the run removes it at its end
 *   exactly as a cold run does (superviseContainer: the same stop, timeout and removal).
 * - A warm container that has exited, or refuses the upload, is removed and the job starts cold.
 */
import type { JobSpec, OutputSink, RunResult, WarmContainer, WarmSpec } from '../../../core/executor.ts'
import { jobArchive, JOB_PARENT } from './job-archive.ts'
import { rewriteEnvForContainer } from './rewrite-env.ts'
import {
  COORDINATOR_ID_LABEL, createAndStart, hostConfigFor, runContainer, superviseContainer, withLimits,
  type ContainerVariant, type RunContainerSettings, type StartedContainer,
} from './run-container.ts'
import type { ContainerCreateBody } from './types.ts'

export { POOL_LABEL } from '../../../core/executor.ts'

interface Waiting {
  started: StartedContainer
  settings: RunContainerSettings
  exited: boolean
}

/** Warm containers made here and not yet handed a job. */
const waiting = new WeakMap<WarmContainer, Waiting>()

/**
 * The create body of a warm container. Env holds only what the executor adds (dood's DOCKER_HOST,
 * not secret); `host.docker.internal` is always mapped, since the job's API URL is not known yet.
 */
export function warmBody(spec: WarmSpec, settings: RunContainerSettings, variant: ContainerVariant): ContainerCreateBody {
  const env = settings.rewriteLoopbackUrls ? rewriteEnvForContainer({ ...settings.extraEnv }) : { ...settings.extraEnv }
  return {
    Image: settings.image,
    Cmd: settings.command,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: { [COORDINATOR_ID_LABEL]: settings.coordinatorId, ...spec.labels },
    Volumes: Object.fromEntries((settings.anonymousVolumes ?? []).map((path) => [path, {}])),
    HostConfig: hostConfigFor(spec, settings, variant, true),
  }
}

/** Starts a warm container (Executor#prepare); `settings.command` is the waiting agent's. */
export async function prepareWarm(spec: WarmSpec, settings: RunContainerSettings): Promise<WarmContainer> {
  settings = await withLimits(settings, spec.limits)
  const started = await createAndStart('terarchitect-warm', (variant) => warmBody(spec, settings, variant), settings, { projectId: spec.projectId, warm: true })
  const entry: Waiting = { started, settings, exited: false }
  started.waiter.result.then(() => (entry.exited = true), () => {})
  const warm: WarmContainer = {
    id: started.id,
    async discard() {
      waiting.delete(warm)
      started.waiter.cancel()
      await settings.engine.containerRemove(started.id, { force: true, volumes: true })
        .catch((error: unknown) => settings.log.warn('could not remove a warm container', { container: started.id.slice(0, 12), error }))
    },
  }
  waiting.set(warm, entry)
  return warm
}

/**
 * Executor#run for both Docker executors: hands the job to `spec.warm` when it is one of ours and
 * still waiting, else (or when the hand-over fails) runs a cold container with `cold`'s settings.
 */
export async function runOrHandOver(spec: JobSpec, output: OutputSink, signal: AbortSignal, cold: RunContainerSettings): Promise<RunResult> {
  const { warm, ...coldSpec } = spec
  const entry = warm && waiting.get(warm)
  if (!warm || !entry) return runContainer(coldSpec, output, signal, cold)
  waiting.delete(warm) // one job per container, whatever happens next
  const { started, settings } = entry
  const logFields = { jobId: spec.jobId, container: started.id.slice(0, 12) }
  if (signal.aborted) {
    await warm.discard()
    return { exitCode: -1, stoppedBy: 'abort' }
  }
  try {
    if (entry.exited) throw new Error('it exited while waiting')
    const env = { ...spec.env, ...settings.extraEnv }
    await settings.engine.containerPutArchive(started.id, JOB_PARENT, jobArchive({
      kind: spec.kind, env: settings.rewriteLoopbackUrls ? rewriteEnvForContainer(env) : env,
    }))
  } catch (error) {
    settings.log.warn('the warm container could not take the job; starting a cold one', { ...logFields, error: (error as Error).message })
    await warm.discard()
    return runContainer(coldSpec, output, signal, cold)
  }
  settings.log.info('job handed to a warm container', logFields)
  output({ stream: 'system', text: `job handed to a warm container (${started.id.slice(0, 12)})\n` })
  return superviseContainer(started, spec, output, signal, settings)
}
