/**
 * Runs one agent job as one Swarm service: secrets → service → its task watched (polled) with the
 * nodes → logs followed → exit code from the task's container status → service and secrets removed.
 * Cancel and timeout remove the service at once (the task gets its stop grace period) and the run
 * resolves with `stoppedBy`. A task that fails to start or is rejected rejects the run (it never
 * started); a task whose node goes down, or that the swarm shuts down on its own, ends the run with
 * exit code -1 and the reason in the output, after the service is removed and its task seen down;
 * a lost node is also `lost` in the result (the coordinator has the job queued again), and that
 * next attempt is then the only task of the job.
 */
import { randomBytes } from 'node:crypto'
import { StringDecoder } from 'node:string_decoder'
import type { JobSpec, OutputSink, RunResult } from '../../../core/executor.ts'
import type { Logger } from '../../../core/log.ts'
import { isDockerError } from '../docker/errors.ts'
import type { SwarmApi } from './api.ts'
import { runName, secretsFor, serviceSpec, type ServiceSettings } from './service-spec.ts'
import type { Task, TaskState } from './types.ts'

const FINAL: ReadonlySet<TaskState> = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned'])
const ENDING: ReadonlySet<TaskState> = new Set(['shutdown', 'remove', 'orphaned'])
const STARTED: ReadonlySet<TaskState> = new Set(['running', 'complete', 'failed'])

export interface RunServiceContext {
  api: SwarmApi
  settings: ServiceSettings
  log: Logger
  /** How long the task may take to start (scheduling, image pull) before the run fails. */
  startTimeoutMs: number
  /** How often the task and the nodes are read. */
  pollMs: number
}

type Outcome =
  | { kind: 'ended'; exitCode: number }
  | { kind: 'lost'; reason: string; node?: true }
  | { kind: 'unstartable'; reason: string }
  | { kind: 'stopped' }

const serviceExists = (api: SwarmApi, id: string) => api.serviceInspect(id).then(() => true, (error: unknown) => !isDockerError(error, 'docker_not_found'))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const taskReason = (task: Task) => [task.Status.Err, task.Status.Message].filter(Boolean).join(': ') || task.Status.State

/** Removes the run's service and then its secrets (a secret in use by a service cannot be removed). */
export async function removeRun(api: SwarmApi, serviceId: string | undefined, secretIds: string[], log: Logger, fields: Record<string, unknown>): Promise<void> {
  if (serviceId) await api.serviceRemove(serviceId).catch((error: unknown) => log.warn('could not remove the service', { ...fields, error: (error as Error).message }))
  for (const id of secretIds) {
    for (let attempt = 0; ; attempt++) {
      try {
        await api.secretRemove(id)
        break
      } catch (error) {
        if (attempt >= 20) {
          log.warn('could not remove a secret', { ...fields, secret: id, error: (error as Error).message })
          break
        }
        await sleep(250)
      }
    }
  }
}

export async function runSwarmService(spec: JobSpec, output: OutputSink, signal: AbortSignal, context: RunServiceContext): Promise<RunResult> {
  if (signal.aborted) return { exitCode: -1, stoppedBy: 'abort' }
  const { api, settings, log } = context
  const run = runName(spec.jobId, randomBytes(3).toString('hex'))
  const fields = { jobId: spec.jobId, service: run }
  const { secrets, empty, skipped } = secretsFor(spec, run, settings.coordinatorId)
  if (skipped.length > 0) log.warn('variables with names the agent cannot export were left out', { ...fields, names: skipped })
  const secretIds: string[] = []
  let serviceId: string | undefined
  try {
    const created: { variable: string; id: string; name: string }[] = []
    for (const secret of secrets) {
      const { ID } = await api.secretCreate(secret.spec)
      secretIds.push(ID)
      created.push({ variable: secret.variable, id: ID, name: secret.spec.Name })
    }
    serviceId = (await api.serviceCreate(serviceSpec(spec, run, settings, created, empty))).ID
    log.info('agent service created', { ...fields, image: settings.image, secrets: created.length })
  } catch (error) {
    await removeRun(api, serviceId, secretIds, log, fields)
    throw error
  }

  const logs = new AbortController()
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') }
  let lastFrameAt = 0
  const logsDone = api.serviceLogs(serviceId, (frame) => {
    lastFrameAt = Date.now()
    const text = decoders[frame.stream].write(frame.data)
    if (text !== '') output({ stream: frame.stream, text })
  }, logs.signal).catch((error: unknown) => log.warn('log stream failed', { ...fields, error: (error as Error).message }))

  let stoppedBy: RunResult['stoppedBy']
  let wake: () => void = () => {}
  const stop = (reason: 'abort' | 'timeout') => {
    if (stoppedBy) return
    stoppedBy = reason
    log.info('removing the agent service', { ...fields, reason })
    wake()
  }
  const onAbort = () => stop('abort')
  signal.addEventListener('abort', onAbort, { once: true })
  const timer = spec.timeoutMs > 0 ? setTimeout(() => stop('timeout'), spec.timeoutMs) : undefined
  const startDeadline = Date.now() + context.startTimeoutMs
  let removed = false
  let lastTask: Task | undefined

  try {
    let started = false
    let outcome: Outcome | undefined
    while (!outcome) {
      if (stoppedBy) {
        outcome = { kind: 'stopped' }
        break
      }
      // The `service` filter answers 404 once the service is gone (removed by someone else).
      const tasks = await api.taskList({ service: [serviceId] }).catch((error: unknown) => (isDockerError(error, 'docker_not_found') ? [] : undefined))
      if (tasks?.length === 0 && !(await serviceExists(api, serviceId))) {
        outcome = { kind: 'lost', reason: 'its service was removed (by another coordinator\'s reconcile or by hand)' }
        break
      }
      const task = tasks?.at(-1) ?? lastTask
      lastTask = task
      const state = task?.Status.State
      if (state && STARTED.has(state)) started = true
      // Read before the task's own state: once its node is down the orchestrator shuts the task
      // down (desired state `shutdown`), and the node is the reason to name.
      const node = task?.NodeID && state !== 'complete' ? (await api.nodeList().catch(() => [])).find((candidate) => candidate.ID === task.NodeID) : undefined
      const nodeLost = node && (node.Status.State === 'down' || node.Status.State === 'disconnected')
        ? `its node ${node.Description?.Hostname ?? node.ID} is ${node.Status.State}${node.Status.Message ? ` (${node.Status.Message})` : ''}`
        : undefined
      if (state === 'complete') outcome = { kind: 'ended', exitCode: task!.Status.ContainerStatus?.ExitCode ?? 0 }
      else if (state === 'failed' && task!.Status.ContainerStatus?.ExitCode) outcome = { kind: 'ended', exitCode: task!.Status.ContainerStatus.ExitCode }
      else if (nodeLost) outcome = { kind: 'lost', reason: nodeLost, node: true }
      else if (state === 'rejected' || (state === 'failed' && !started)) outcome = { kind: 'unstartable', reason: taskReason(task!) }
      else if (state === 'failed') outcome = { kind: 'lost', reason: `its task failed: ${taskReason(task!)}` }
      else if (state && FINAL.has(state)) outcome = { kind: 'lost', reason: `the swarm ended its task (${taskReason(task!)})` }
      // The swarm is taking the task down (its service was removed): it will not run to its end.
      else if (task && ENDING.has(task.DesiredState)) outcome = { kind: 'lost', reason: `the swarm is ending its task (desired state ${task.DesiredState}: its service was removed?)` }
      if (!outcome && !started && Date.now() > startDeadline) {
        outcome = { kind: 'unstartable', reason: `not started within ${Math.round(context.startTimeoutMs / 1000)} s: ${task ? taskReason(task) : 'no task was created'}` }
      }
      if (!outcome) await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, context.pollMs) })
    }

    if (outcome.kind === 'stopped' || outcome.kind === 'lost') {
      removed = true
      await api.serviceRemove(serviceId).catch((error: unknown) => log.warn('could not remove the service', { ...fields, error: (error as Error).message }))
      // Wait (bounded) until the task is down, so a retry never runs beside it on a live node.
      const until = Date.now() + (settings.stopGraceSec + 10) * 1000
      while (Date.now() < until) {
        // By id: the service (and so the `service` filter) is gone, its task not until it is down.
        const tasks = lastTask ? await api.taskInspect(lastTask.ID).then((task) => [task], () => [] as Task[]) : []
        const down = new Set((await api.nodeList().catch(() => [])).filter((node) => node.Status.State !== 'ready').map((node) => node.ID))
        if (tasks.every((task) => FINAL.has(task.Status.State) || task.Status.State === 'new' || down.has(task.NodeID ?? ''))) break
        await sleep(context.pollMs)
      }
    }
    if (outcome.kind === 'unstartable') {
      log.warn('agent task cannot start', { ...fields, reason: outcome.reason })
      throw new Error(`the agent's swarm task cannot start: ${outcome.reason}`)
    }
    // Swarm log delivery trails the task: wait until the stream has been quiet a moment (bounded).
    const logsUntil = Date.now() + 5000
    while (Date.now() < logsUntil && Date.now() - lastFrameAt < 800) await sleep(100)
    if (lastFrameAt === 0) await Promise.race([logsDone, sleep(1000)])
    logs.abort()
    await logsDone
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = decoders[stream].end()
      if (rest !== '') output({ stream, text: rest })
    }
    if (outcome.kind === 'lost') {
      log.warn('agent task lost', { ...fields, reason: outcome.reason })
      output({ stream: 'system', text: `the agent's swarm task ended before its container exited: ${outcome.reason}; exit code unknown\n` })
    }
    const exitCode = outcome.kind === 'ended' ? outcome.exitCode : -1
    log.info('agent service ended', { ...fields, exitCode, stoppedBy })
    if (stoppedBy) return { exitCode, stoppedBy }
    // Its node went: the service is removed and its task seen down (above), so the queue may run it again.
    return outcome.kind === 'lost' && outcome.node ? { exitCode, lost: outcome.reason } : { exitCode }
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
    logs.abort()
    await removeRun(api, removed ? undefined : serviceId, secretIds, log, fields)
  }
}
