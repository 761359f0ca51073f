/**
 * Runs one agent job in one container: the part docker-dind and docker-dood share. Create → wait
 * (registered before start) → start → logs streamed live → exit code → always removed.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { StringDecoder } from 'node:string_decoder'
import type { JobSpec, OutputSink, RunResult } from '../../../core/executor.ts'
import type { Logger } from '../../../core/log.ts'
import type { ContainerWaiter, DockerEngine } from './engine.ts'
import { isDockerError } from './errors.ts'
import { rewriteEnvForContainer, usesHostGateway, HOST_GATEWAY_NAME } from './rewrite-env.ts'
import type { ContainerCreateBody, HostConfig } from './types.ts'

export const JOB_ID_LABEL = 'terarchitect.job_id'
export const COORDINATOR_ID_LABEL = 'terarchitect.coordinator_id'

/** Options every Docker executor takes (DESIGN.md §6). */
export interface DockerExecutorOptions {
  /** The Engine client; default one created from `dockerHost`. */
  engine?: DockerEngine
  /** `DOCKER_HOST` value for the default engine (the caller's resolved config); default /var/run/docker.sock. */
  dockerHost?: string
  /** Agent image (`AGENT_IMAGE`). Default `terarchitect-agent`. */
  image?: string
  /** The container command; default `['node', '/app/agent.js', spec.kind]`. */
  command?: string[] | ((spec: JobSpec) => string[])
  /**
   * The command of a warm container (`prepare`): the agent waiting for its job file
   * (core/agent/wait-job.ts). Default `['node', '/app/agent.js', 'pooled']`.
   */
  warmCommand?: string[]
  /** Value of the `terarchitect.coordinator_id` label; default the host name. */
  coordinatorId?: string
  /**
   * Prefix of the volume mounted at /cache (`AGENT_CACHE_VOLUME`): each project gets its own,
   * `<prefix>-p<project id>`, so one project's job cannot read or poison another's caches.
   * Default `terarchitect-agent-cache`; '' disables.
   */
  cacheVolume?: string
  /** Memory limit in bytes; 0 = unlimited (default). */
  memoryBytes?: number
  /** CPU limit in CPUs (1.5 = one and a half), capped at the daemon's CPU count; 0 = unlimited (default). */
  cpus?: number
  /** Max processes (threads) in the container; 0 = unlimited (default). */
  pidsLimit?: number
  /** Container runtime (`AGENT_RUNTIME`, HostConfig.Runtime), e.g. `sysbox-runc`; default the daemon's. */
  runtime?: string
  /** Seconds between SIGTERM and SIGKILL when a run is aborted or times out. Default 3. */
  stopTimeoutSec?: number
  /** Rewrite loopback URLs in the env to host.docker.internal. Default true. */
  rewriteLoopbackUrls?: boolean
  log?: Logger
}

/** One way to run the container; dind tries privileged first, then its recipe. */
export interface ContainerVariant {
  name: string
  hostConfig: HostConfig
}

export interface RunContainerSettings {
  engine: DockerEngine
  image: string
  command: string[]
  coordinatorId: string
  cacheVolume: string
  memoryBytes: number
  cpus: number
  pidsLimit: number
  runtime?: string
  stopTimeoutSec: number
  rewriteLoopbackUrls: boolean
  log: Logger
  /** Tried in order: when create/start fails with one (other than "no such image"), the next is tried. */
  variants: ContainerVariant[]
  /** Extra env the executor adds (e.g. DOCKER_HOST for dood with a sidecar); never logged. */
  extraEnv?: Record<string, string>
  extraBinds?: string[]
  /** Anonymous volumes (removed with the container), e.g. dind's /var/lib/docker. */
  anonymousVolumes?: string[]
  /** Called with the variant that started, so the executor can remember what works on this host. */
  onVariantStarted?: (variant: ContainerVariant) => void
}

/** Resolves the shared options to settings, applying the documented defaults. */
export function resolveSettings(
  options: DockerExecutorOptions,
  engine: DockerEngine,
  log: Logger,
): Omit<RunContainerSettings, 'variants' | 'command'> & { command: DockerExecutorOptions['command']; warmCommand: string[] } {
  return {
    engine,
    image: options.image ?? 'terarchitect-agent',
    command: options.command,
    warmCommand: options.warmCommand ?? ['node', '/app/agent.js', 'pooled'],
    coordinatorId: options.coordinatorId ?? hostname(),
    cacheVolume: options.cacheVolume ?? 'terarchitect-agent-cache',
    memoryBytes: options.memoryBytes ?? 0,
    cpus: options.cpus ?? 0,
    pidsLimit: options.pidsLimit ?? 0,
    ...(options.runtime ? { runtime: options.runtime } : {}),
    stopTimeoutSec: options.stopTimeoutSec ?? 3,
    rewriteLoopbackUrls: options.rewriteLoopbackUrls ?? true,
    log,
  }
}

export function commandFor(command: DockerExecutorOptions['command'], spec: JobSpec): string[] {
  if (typeof command === 'function') return command(spec)
  return command ?? ['node', '/app/agent.js', spec.kind]
}

/** The project's cache volume: `<prefix>-p<project id>`. */
export const cacheVolumeName = (prefix: string, projectId: number) => `${prefix}-p${projectId}`

/** The daemon's CPU count, asked once per engine: NanoCpus above it makes the daemon refuse the create. */
const daemonCpus = new WeakMap<DockerEngine, Promise<number | undefined>>()

/** `cpus` capped at the daemon's CPU count (logged once when capped). */
async function cpuLimit(settings: RunContainerSettings): Promise<number> {
  if (settings.cpus <= 0) return 0
  let known = daemonCpus.get(settings.engine)
  if (!known) {
    known = settings.engine.info().then((info) => (typeof info.NCPU === 'number' ? info.NCPU : undefined), () => undefined)
    daemonCpus.set(settings.engine, known)
    void known.then((count) => {
      if (count !== undefined && settings.cpus > count) settings.log.warn(`CPU limit ${settings.cpus} is more than the daemon's ${count} CPUs: using ${count}`)
    })
  }
  const count = await known
  return count !== undefined ? Math.min(settings.cpus, count) : settings.cpus
}

/** The create body for one variant. Exported for tests; the env in it is secret. */
export function containerBody(spec: JobSpec, settings: RunContainerSettings, variant: ContainerVariant): ContainerCreateBody {
  const baseEnv = { ...spec.env, ...settings.extraEnv }
  const env = settings.rewriteLoopbackUrls ? rewriteEnvForContainer(baseEnv) : baseEnv
  return {
    Image: settings.image,
    Cmd: settings.command,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: {
      [COORDINATOR_ID_LABEL]: settings.coordinatorId,
      ...spec.labels,
      [JOB_ID_LABEL]: String(spec.jobId),
    },
    Volumes: Object.fromEntries((settings.anonymousVolumes ?? []).map((path) => [path, {}])),
    HostConfig: hostConfigFor(spec, settings, variant, usesHostGateway(env)),
  }
}

/** Mounts (the project's cache volume, read-only binds), limits and the variant's privileges. */
export function hostConfigFor(
  spec: Pick<JobSpec, 'projectId' | 'readOnlyMounts'>, settings: RunContainerSettings, variant: ContainerVariant, hostGateway: boolean,
): HostConfig {
  const binds = [...(settings.extraBinds ?? [])]
  if (settings.cacheVolume !== '') binds.push(`${cacheVolumeName(settings.cacheVolume, spec.projectId)}:/cache`)
  for (const mount of spec.readOnlyMounts ?? []) binds.push(`${mount.source}:${mount.target}:ro`)
  return {
    Binds: binds,
    Init: true, // tini as PID 1: SIGTERM from stop/abort reaches the agent instead of being ignored
    AutoRemove: false, // we read the exit code and the logs first, then remove ourselves
    ...(hostGateway ? { ExtraHosts: [`${HOST_GATEWAY_NAME}:host-gateway`] } : {}),
    ...(settings.memoryBytes > 0 ? { Memory: settings.memoryBytes } : {}),
    ...(settings.cpus > 0 ? { NanoCpus: Math.round(settings.cpus * 1e9) } : {}),
    ...(settings.pidsLimit > 0 ? { PidsLimit: settings.pidsLimit } : {}),
    ...(settings.runtime ? { Runtime: settings.runtime } : {}),
    ...variant.hostConfig,
  }
}

/** The settings with a job's (or warm container's) limits applied, CPUs capped at the daemon's. */
export async function withLimits(settings: RunContainerSettings, limits: JobSpec['limits']): Promise<RunContainerSettings> {
  if (limits) settings = { ...settings, ...limits }
  return { ...settings, cpus: await cpuLimit(settings) }
}

/** A started container with its exit wait registered (before the start). */
export interface StartedContainer {
  id: string
  waiter: ContainerWaiter
}

/**
 * Runs the job's container to its end (Executor#run semantics). Rejects only when no variant could
 * be created and started; afterwards every path ends with the container removed.
 */
export async function runContainer(
  spec: JobSpec,
  output: OutputSink,
  signal: AbortSignal,
  settings: RunContainerSettings,
): Promise<RunResult> {
  if (signal.aborted) return { exitCode: -1, stoppedBy: 'abort' }
  settings = await withLimits(settings, spec.limits)
  const started = await createAndStart(`terarchitect-job-${spec.jobId}`, (variant) => containerBody(spec, settings, variant), settings, { jobId: spec.jobId })
  return superviseContainer(started, spec, output, signal, settings)
}

/**
 * The rest of a run once its container is started (cold, or warm and handed its job): stop on
 * abort or timeout, logs streamed, exit code read, the container always removed.
 */
export async function superviseContainer(
  started: StartedContainer,
  spec: JobSpec,
  output: OutputSink,
  signal: AbortSignal,
  settings: RunContainerSettings,
): Promise<RunResult> {
  const { engine, log } = settings
  const { id, waiter } = started
  const logFields = { jobId: spec.jobId, container: id.slice(0, 12) }

  let stoppedBy: RunResult['stoppedBy']
  const stop = (reason: 'abort' | 'timeout') => {
    if (stoppedBy) return
    stoppedBy = reason
    log.info('stopping container', { ...logFields, reason })
    engine.containerStop(id, { timeoutSec: settings.stopTimeoutSec })
      .catch((error: unknown) => log.warn('stop failed', { ...logFields, error }))
  }
  const onAbort = () => stop('abort')
  signal.addEventListener('abort', onAbort, { once: true })
  if (signal.aborted) stop('abort') // aborted while we were creating/starting
  const timer = spec.timeoutMs > 0 ? setTimeout(() => stop('timeout'), spec.timeoutMs) : undefined

  // Logs are read from the start of the container's log (since=0), so nothing written before this
  // request arrived is lost; with follow the stream ends when the container stops.
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') }
  const logsDone = engine.containerLogs(id, { follow: true, stdout: true, stderr: true }, (frame) => {
    const text = decoders[frame.stream].write(frame.data)
    if (text !== '') output({ stream: frame.stream, text })
  }).catch((error: unknown) => log.warn('log stream failed', { ...logFields, error }))

  try {
    let exitCode: number
    try {
      const result = await waiter.result
      exitCode = result.statusCode
    } catch (error) {
      // The wait connection broke (daemon restart?): stop the container and read its exit code.
      log.warn('wait failed; reading exit code from inspect', { ...logFields, error })
      await engine.containerStop(id, { timeoutSec: settings.stopTimeoutSec }).catch(() => {})
      // The run did start, so this must resolve (Executor#run rejects only for a failed start): when
      // the daemon is gone too, the exit code is unknown (-1) and the output says why.
      exitCode = await engine.containerInspect(id).then((info) => info.State.ExitCode, (inspectError: unknown) => {
        log.warn('exit code unknown: the container cannot be inspected', { ...logFields, error: inspectError })
        output({ stream: 'system', text: `the Docker daemon stopped answering during the run (${(error as Error).message}); exit code unknown\n` })
        return -1
      })
    }
    // The log stream ends right after the exit; a bounded wait keeps a stuck stream from hanging us.
    await Promise.race([logsDone, new Promise((resolve) => setTimeout(resolve, 5000).unref())])
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = decoders[stream].end()
      if (rest !== '') output({ stream, text: rest })
    }
    log.info('container exited', { ...logFields, exitCode, stoppedBy })
    return stoppedBy ? { exitCode, stoppedBy } : { exitCode }
  } finally {
    if (timer) clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
    await engine.containerRemove(id, { force: true, volumes: true })
      .catch((error: unknown) => log.warn('remove failed', { ...logFields, error }))
  }
}

/** Creates and starts a container, trying each variant in turn; the wait is registered before start. */
export async function createAndStart(
  namePrefix: string, body: (variant: ContainerVariant) => ContainerCreateBody, settings: RunContainerSettings, logFields: Record<string, unknown>,
): Promise<StartedContainer> {
  const { engine, log } = settings
  let lastError: unknown
  for (const [index, variant] of settings.variants.entries()) {
    const name = `${namePrefix}-${randomBytes(3).toString('hex')}`
    let id: string | undefined
    try {
      id = (await engine.containerCreate(body(variant), { name })).Id
      const waiter = await engine.containerWait(id, { condition: 'next-exit' })
      try {
        await engine.containerStart(id)
      } catch (error) {
        waiter.cancel()
        throw error
      }
      settings.onVariantStarted?.(variant)
      log.info('container started', { ...logFields, container: id.slice(0, 12), image: settings.image, variant: variant.name })
      return { id, waiter }
    } catch (error) {
      lastError = error
      if (id) await engine.containerRemove(id, { force: true, volumes: true }).catch(() => {})
      const next = settings.variants[index + 1]
      if (!next || isDockerError(error, 'docker_not_found')) break
      log.warn('container variant failed; trying the next', {
        ...logFields, failed: variant.name, next: next.name, error: (error as Error).message,
      })
    }
  }
  throw lastError
}
