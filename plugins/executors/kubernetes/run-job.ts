/**
 * Runs one agent job as one Kubernetes Job: create the Job suspended → create the Secret owned by
 * it → watch its Pod → unsuspend → follow the log once the container runs → exit code from the
 * container's terminated state → delete the Job (the garbage collector takes the Pod and the
 * Secret). Cancel and timeout delete the Job at once (Foreground: the Pod is stopped with its grace
 * period first) and the run resolves with `stoppedBy`. A Pod failed with reason Evicted or NodeLost
 * (its phase Failed: the kubelet or the node controller ended it), or one that did not succeed
 * after it was marked a `DisruptionTarget` (evicted through the API by a drain, deleted for its
 * unreachable node, preempted), resolves with `lost`: the coordinator has the job queued again. A
 * disrupted Pod that stays Terminating (its node gone, no kubelet to confirm) ends the run once its
 * grace period and a margin have passed.
 */
import { randomBytes } from 'node:crypto'
import type { JobSpec, OutputSink, RunResult } from '../../../core/executor.ts'
import type { Logger } from '../../../core/log.ts'
import type { KubernetesClient } from './client.ts'
import { isKubernetesError } from './errors.ts'
import { followLogs } from './logs.ts'
import { CONTAINER_NAME, jobManifest, jobName, RUN_LABEL, secretManifest, type JobSettings } from './manifests.ts'
import type { Job, Pod } from './types.ts'
import { watchPods, type WatchEventType } from './watch.ts'

/** Pod failure reasons that say its place went, not the agent: the job is queued again (RunResult.lost). */
const PLACE_LOST = new Set(['Evicted', 'NodeLost'])

/** The reasons of a Pod's `DisruptionTarget` condition (Kubernetes 1.26+), in words. */
const DISRUPTIONS: Record<string, string> = {
  EvictionByEvictionAPI: 'was evicted through the Eviction API (a node drain, say)',
  DeletionByTaintManager: 'was deleted for a NoExecute taint of its node (unreachable or not ready, say)',
  DeletionByPodGC: 'was collected because its node no longer exists',
  TerminationByKubelet: 'was terminated by its node\'s kubelet (node pressure or shutdown)',
  PreemptionByScheduler: 'was preempted by the scheduler for a Pod of higher priority',
}

/**
 * What ended or is ending a Pod whose place went, in words; undefined otherwise: failed as
 * Evicted or NodeLost, or (in any phase) marked a `DisruptionTarget`. The caller decides whether
 * the Pod has ended (a disrupted Pod may still succeed within its grace period).
 */
export function podLost(pod: Pod): string | undefined {
  const reason = pod.status?.reason ?? ''
  if (pod.status?.phase === 'Failed' && PLACE_LOST.has(reason)) {
    const message = pod.status.message ? ` (${pod.status.message})` : ''
    return `its pod ${pod.metadata.name} ${reason === 'Evicted' ? 'was evicted' : 'lost its node'}${message}`
  }
  const disruption = pod.status?.conditions?.find((condition) => condition.type === 'DisruptionTarget' && condition.status === 'True')
  if (!disruption) return undefined
  const message = disruption.message ? ` (${disruption.message})` : ''
  return `its pod ${pod.metadata.name} ${DISRUPTIONS[disruption.reason ?? ''] ?? `was disrupted (${disruption.reason ?? 'no reason given'})`}${message}`
}

/** Container waiting reasons that will not resolve on their own: the job could not be started. */
const UNSTARTABLE = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'ErrImageNeverPull'])

export interface RunJobContext {
  client: KubernetesClient
  namespace: string
  settings: JobSettings
  log: Logger
  /** How long the container may take to start (scheduling, image pull) before the start fails. */
  startTimeoutMs: number
}

/** Why a Pod has not started yet, from its last state: the scheduler's message, a waiting reason. */
function notStartedReason(pod: Pod | undefined): string {
  if (!pod) return 'no Pod was created for the Job (a quota, a LimitRange or an admission webhook may refuse it: see the Job\'s events)'
  const unscheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled' && condition.status === 'False')
  if (unscheduled) return `${unscheduled.reason ?? 'Unschedulable'}: ${unscheduled.message ?? ''}`.trim()
  const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting
  return waiting ? `${waiting.reason ?? 'waiting'}: ${waiting.message ?? ''}`.trim() : `Pod ${pod.metadata.name} is ${pod.status?.phase ?? 'Pending'}`
}

type Outcome = { kind: 'ended'; exitCode: number; lost?: string } | { kind: 'deleted'; exitCode?: number } | { kind: 'unstartable'; reason: string }

export const jobsPath = (namespace: string) => `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`
const secretsPath = (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`

/** Deletes a Job and, through the garbage collector, its Pod and Secret; 404 (already gone) is fine. */
export async function deleteJob(client: KubernetesClient, namespace: string, name: string, propagationPolicy: 'Foreground' | 'Background'): Promise<boolean> {
  try {
    // Without a propagationPolicy, deleting a batch/v1 Job through the API orphans its Pods.
    await client.request('DELETE', `${jobsPath(namespace)}/${encodeURIComponent(name)}`, {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy }, expect: [200, 202],
    })
    return true
  } catch (error) {
    if (isKubernetesError(error, 'k8s_not_found')) return false
    throw error
  }
}

export async function runKubernetesJob(spec: JobSpec, output: OutputSink, signal: AbortSignal, context: RunJobContext): Promise<RunResult> {
  if (signal.aborted) return { exitCode: -1, stoppedBy: 'abort' }
  const { client, namespace, settings, log } = context
  const name = jobName(spec.jobId, randomBytes(3).toString('hex'))
  const logFields = { jobId: spec.jobId, job: name, namespace }
  const job = await client.request<Job>('POST', jobsPath(namespace), { body: jobManifest(spec, name, settings), expect: [201] })
  const watching = new AbortController()
  let stoppedBy: RunResult['stoppedBy']
  let settle: (outcome: Outcome) => void = () => {}
  const outcome = new Promise<Outcome>((resolve) => { settle = resolve })
  let logsDone: Promise<void> | undefined
  let lastPod: Pod | undefined
  let lostTimer: NodeJS.Timeout | undefined

  const onPod = (type: WatchEventType, pod: Pod) => {
    lastPod = pod
    const state = pod.status?.containerStatuses?.find((status) => status.name === CONTAINER_NAME)?.state
    if (!logsDone && (state?.running || state?.terminated)) {
      log.info('agent pod started', { ...logFields, pod: pod.metadata.name })
      logsDone = followLogs(client, namespace, pod.metadata.name, CONTAINER_NAME, output, log, watching.signal)
    }
    const phase = pod.status?.phase
    const exitCode = state?.terminated?.exitCode
    const lost = phase === 'Succeeded' || exitCode === 0 ? undefined : podLost(pod)
    if (type === 'DELETED') settle(lost ? { kind: 'ended', exitCode: exitCode ?? -1, lost } : { kind: 'deleted', ...(exitCode !== undefined ? { exitCode } : {}) })
    else if (phase === 'Succeeded' || phase === 'Failed') settle({ kind: 'ended', exitCode: exitCode ?? (phase === 'Succeeded' ? 0 : -1), ...(lost && phase === 'Failed' ? { lost } : {}) })
    else if (state?.waiting?.reason && UNSTARTABLE.has(state.waiting.reason)) settle({ kind: 'unstartable', reason: `${state.waiting.reason}: ${state.waiting.message ?? ''}`.trim() })
    else if (lost && pod.metadata.deletionTimestamp && !lostTimer) {
      // No kubelet may ever confirm the deletion (its node is gone): past the grace period and a margin, the run is lost.
      const graceSec = pod.metadata.deletionGracePeriodSeconds ?? settings.graceSec
      lostTimer = setTimeout(() => settle({ kind: 'ended', exitCode: -1, lost }), (graceSec + 10) * 1000)
      lostTimer.unref()
    }
  }

  let deleted = false
  const stop = (reason: 'abort' | 'timeout') => {
    if (stoppedBy) return
    stoppedBy = reason
    log.info('deleting the agent job', { ...logFields, reason })
    deleted = true
    deleteJob(client, namespace, name, 'Foreground').catch((error: unknown) => {
      log.warn('could not delete the agent job', { ...logFields, error: (error as Error).message })
      settle({ kind: 'deleted' })
    })
    // The Pod gets its grace period; past it (and a margin) the run ends anyway.
    setTimeout(() => settle({ kind: 'deleted' }), (settings.graceSec + 10) * 1000).unref()
  }
  const onAbort = () => stop('abort')
  let timer: NodeJS.Timeout | undefined
  let startTimer: NodeJS.Timeout | undefined

  try {
    await client.request('POST', secretsPath(namespace), { body: secretManifest(spec, name, job.metadata, settings.coordinatorId), expect: [201] })
    void watchPods(client, { namespace, labelSelector: `${RUN_LABEL}=${name}`, onPod, signal: watching.signal, log })
    await client.request('PATCH', `${jobsPath(namespace)}/${encodeURIComponent(name)}`, {
      body: { spec: { suspend: false } }, contentType: 'application/merge-patch+json', expect: [200],
    })
    log.info('agent job created', { ...logFields, image: settings.image })
  } catch (error) {
    watching.abort()
    await deleteJob(client, namespace, name, 'Background').catch(() => {})
    throw error
  }

  try {
    signal.addEventListener('abort', onAbort, { once: true })
    if (signal.aborted) stop('abort')
    if (spec.timeoutMs > 0) timer = setTimeout(() => stop('timeout'), spec.timeoutMs)
    startTimer = setTimeout(() => {
      if (!logsDone) settle({ kind: 'unstartable', reason: `not started within ${Math.round(context.startTimeoutMs / 1000)} s: ${notStartedReason(lastPod)}` })
    }, context.startTimeoutMs)
    const result = await outcome
    if (result.kind === 'unstartable') {
      log.warn('agent pod cannot start', { ...logFields, reason: result.reason })
      throw new Error(`the agent's pod cannot start: ${result.reason}`)
    }
    // The log ends right after the container; a bounded wait keeps a stuck stream from hanging us.
    if (logsDone) await Promise.race([logsDone, new Promise((resolve) => setTimeout(resolve, 5000).unref())])
    let exitCode = result.exitCode ?? -1
    if (result.kind === 'deleted' && result.exitCode === undefined) {
      if (!stoppedBy) output({ stream: 'system', text: 'the agent\'s pod was deleted before its container ended; exit code unknown\n' })
      exitCode = -1
    }
    log.info('agent pod ended', { ...logFields, exitCode, stoppedBy })
    if (stoppedBy) return { exitCode, stoppedBy }
    if (result.kind === 'ended' && result.lost) {
      output({ stream: 'system', text: `the agent's run was lost: ${result.lost}\n` })
      return { exitCode, lost: result.lost }
    }
    return { exitCode }
  } finally {
    clearTimeout(timer)
    clearTimeout(startTimer)
    clearTimeout(lostTimer)
    signal.removeEventListener('abort', onAbort)
    watching.abort()
    if (!deleted) {
      await deleteJob(client, namespace, name, 'Background')
        .catch((error: unknown) => log.warn('could not delete the agent job', { ...logFields, error: (error as Error).message }))
    }
  }
}
