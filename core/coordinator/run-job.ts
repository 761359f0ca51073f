/**
 * Runs one claimed job to its end and reports it. Never throws: every failure is written to the job
 * (fail with the error and the output tail), or logged when the job is no longer ours.
 *
 * Choice of executor: execution mode `local` → the host executor at the project's path; `docker` →
 * the container executor with the project's image (project_images.json) or AGENT_IMAGE
 * (choose-image.ts; a container that exits 0 gets its image recorded for the project). When the
 * container cannot be started (image missing, daemon down, start error) the job fails with that
 * error, unless AGENT_FALLBACK_TO_HOST is on: then the agent runs on the host instead (none of the
 * container's confinement), in a fresh directory under COORDINATOR_REPO_ROOT, with
 * `TERARCHITECT_DOCKER_RUN_ERROR`.
 * An agent that starts and exits non-zero is a failed job, never a host fallback. Neither is a
 * configuration error (fallback-policy.ts: the daemon refusing the container's parameters): the job
 * fails with the reason. A job that falls back is recorded at the app as running on `local`, with the
 * container error as its `fallback_reason`; so is a local-mode job claimed by a docker coordinator.
 *
 * Ending: exit 0 → complete; a run that lost its place (`RunResult.lost`: node down, pod evicted) →
 * requeue (the app queues it again at attempt+1, or fails it after its last attempt); otherwise fail
 * with the exit code. A cancel stops the run and reports
 * fail (the app records it as `cancelled`). A lost lease stops the run and reports nothing; once the
 * app has refused a heartbeat of the claim, a report being retried stops too (the job runs its next
 * claim, maybe here). Every call about the run names its claim (`claim_seq`): the app refuses one about an
 * ended claim (409), so a late report never lands on the next run. A
 * coordinator shutdown stops the run and releases the job: pending again at the same attempt, for
 * whichever coordinator claims it next (if the release cannot reach the app, the lease expiry does it).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { ContainerLimits } from '../container-limits.ts'
import type { Executor, JobSpec, RunResult } from '../executor.ts'
import type { Logger } from '../log.ts'
import { projectFix, type JobReason } from '../services/job-reason.ts'
import { backoffMs, sleep } from './backoff.ts'
import { chooseImage, recordImage, type ImageChoice } from './choose-image.ts'
import { configurationProblem, configurationRefusal } from './fallback-policy.ts'
import { isClientError, type ClaimedJob, type WorkerClient } from './client.ts'
import { startHeartbeat, type StopReason } from './heartbeat.ts'
import type { ProjectImages } from './images.ts'
import { withMirror, type GitCache } from './git-cache.ts'
import { jobEnv } from './job-env.ts'
import { createJobOutput, type JobOutput } from './output.ts'
import type { WarmPool } from './warm-pool.ts'
import type { CoordinatorExecutors } from './types.ts'

export interface RunJobContext {
  client: WorkerClient
  executors: CoordinatorExecutors
  log: Logger
  apiUrl: string
  defaultImage: string
  /** project_images.json; without it every project runs `defaultImage` and nothing is recorded. */
  images?: ProjectImages
  timeoutMs: number
  repoRoot: string
  fallbackToHost: boolean
  heartbeatMaxMs: number
  /** Limits of the job's container, as in force when it was claimed; omitted: the executor's own. */
  containerLimits?: ContainerLimits
  /** The git object cache (git-cache.ts); absent: every container clones cold. */
  gitCache?: GitCache | null
  /** The warm pool (warm-pool.ts); absent: every container starts cold. */
  warmPool?: WarmPool | null
  /** Aborts when the coordinator's shutdown grace period is over. */
  shutdown: AbortSignal
  flushMs?: number
}

type Ending = StopReason | 'shutdown'

export async function runJob(job: ClaimedJob, ctx: RunJobContext): Promise<void> {
  const log = ctx.log.child({ jobId: job.job_id, projectId: job.project_id, ticketId: job.ticket_id })
  // The job token is masked in this job's output only: registering every job's token with the
  // global redactor would grow it (and the cost of every log line) with each job ever run.
  const output = createJobOutput({
    post: (events) => ctx.client.postEvents(job, events), log, secrets: [job.agent_token],
    ...(ctx.flushMs ? { flushMs: ctx.flushMs } : {}),
  })
  const controller = new AbortController()
  let ending: Ending | undefined
  const stop = (reason: Ending, detail: string) => {
    if (ending) return
    ending = reason
    log.info('stopping the agent', { reason, detail })
    if (reason !== 'lease_lost') output.note(reason === 'cancel' ? 'cancel requested: stopping the agent' : 'coordinator shutting down: stopping the agent; the job is handed back to the queue')
    controller.abort()
  }
  const leaseMs = (job.lease_sec ?? 60) * 1000
  // Aborted once the app refused a heartbeat of this claim (it runs another claim, or none), whatever
  // ended the run: no report after it. An app that is only unreachable still gets the report, retried:
  // it names its claim, so it cannot land on another.
  const leaseGone = new AbortController()
  const heartbeat = startHeartbeat({
    client: ctx.client, jobId: job.job_id, claimSeq: job.claim_seq, log, leaseMs,
    intervalMs: Math.min(leaseMs / 3, ctx.heartbeatMaxMs),
    onStop: (reason, detail, refused) => {
      if (reason === 'lease_lost' && refused) leaseGone.abort()
      stop(reason, detail)
    },
  })
  const onShutdown = () => stop('shutdown', 'shutdown grace period over')
  if (ctx.shutdown.aborted) onShutdown()
  ctx.shutdown.addEventListener('abort', onShutdown, { once: true })

  let workDir: string | undefined
  let choice: ImageChoice | undefined
  let outcome: Outcome
  try {
    const env = jobEnv(job, { apiUrl: ctx.apiUrl })
    const spec: JobSpec = {
      jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, kind: job.kind, executionMode: job.execution_mode,
      projectPath: job.project_path, env, labels: { 'terarchitect.project_id': String(job.project_id) }, timeoutMs: ctx.timeoutMs,
      ...(ctx.containerLimits ? { limits: ctx.containerLimits } : {}),
    }
    if (job.execution_mode === 'local') {
      outcome = job.project_path
        ? await attempt(ctx.executors.host, spec, output, controller.signal, `agent started on the host (local mode) in ${job.project_path}`)
        : { error: 'local execution mode without a project_path' }
      if ('error' in outcome) outcome.reason = localStartReason(job.project_path, outcome.error.replace(`${ctx.executors.host.name}: `, ''))
      // The claim recorded this coordinator's container executor; a local-mode job ran on the host.
      else if (ctx.executors.containers) await recordExecutor(ctx, job, log, { executor: ctx.executors.host.name })
    } else {
      const containers = ctx.executors.containers
      if (!containers) outcome = { error: 'Docker is not configured on this coordinator', reason: { kind: 'config', text: 'This coordinator cannot run containers (Docker is not configured on it): run the project on a coordinator with Docker, or in local mode', fix: { kind: 'project', field: 'execution_mode' } } }
      else {
        try {
          choice = await chooseImage(job.project_id, ctx.images, ctx.defaultImage, containers, output.note, log)
          const cached = await withMirror(ctx.gitCache, job, ctx.apiUrl, spec, output.note, controller.signal)
          try {
            const { limits, readOnlyMounts } = cached.spec
            const warm = ctx.warmPool?.take({
              projectId: job.project_id, image: choice.run, ref: choice.ref, ...(limits ? { limits } : {}), ...(readOnlyMounts ? { readOnlyMounts } : {}),
            })
            outcome = await attempt(containers.forImage(choice.run), warm ? { ...cached.spec, warm } : cached.spec, output, controller.signal,
              `agent starting in a ${warm ? 'warm ' : ''}container (${containers.name}, image ${choice.label})`)
          } finally {
            cached.release()
          }
        } catch (error) {
          outcome = { error: `${containers.name}: ${(error as Error).message}`, configuration: configurationProblem(error) }
        }
        if (choice && !ending && 'result' in outcome && outcome.result.exitCode === 0 && !outcome.result.stoppedBy) {
          await recordImage(job.project_id, choice, ctx.images, containers, log)
        }
      }
      if ('error' in outcome && outcome.configuration) {
        outcome = {
          error: configurationRefusal(outcome.error, outcome.configuration),
          reason: { kind: 'config', text: `The coordinator's container settings were refused (${outcome.configuration}): fix AGENT_IMAGE, AGENT_CACHE_VOLUME, AGENT_RUNTIME or the limits on the coordinator` },
        }
      } else if ('error' in outcome && !controller.signal.aborted && ctx.fallbackToHost) {
        const dockerRunError = outcome.error
        mkdirSync(ctx.repoRoot, { recursive: true })
        workDir = mkdtempSync(join(ctx.repoRoot, `job-${job.job_id}-`))
        output.note(`the agent container could not be started: ${dockerRunError}; running the agent on the host instead`)
        log.warn('container could not be started; running the agent on the host', { image: choice?.run ?? ctx.defaultImage, error: dockerRunError })
        await recordExecutor(ctx, job, log, { executor: ctx.executors.host.name, fallback_reason: dockerRunError.slice(0, 2000) })
        outcome = await attempt(ctx.executors.host, {
          ...spec, projectPath: workDir,
          env: jobEnv(job, { apiUrl: ctx.apiUrl, dockerRunError, workspace: workDir }),
        }, output, controller.signal, `agent started on the host in ${workDir}`)
      } else if ('error' in outcome && !controller.signal.aborted) {
        outcome = { error: `${outcome.error} (the host fallback is off: AGENT_FALLBACK_TO_HOST=true on the coordinator runs such jobs on its host, unconfined)` }
      }
    }
  } catch (error) {
    outcome = { error: `coordinator error: ${(error as Error).message}` }
    log.error('job run failed unexpectedly', { error })
  }
  ctx.shutdown.removeEventListener('abort', onShutdown)
  if (workDir) rmSync(workDir, { recursive: true, force: true })

  try {
    const report = describe(outcome, ending, ctx.timeoutMs)
    if (report) output.note(report.summary)
    await output.close()
    if (ending === 'shutdown') {
      // Handed back at once; if the app cannot be told, the lease expiry hands it back instead.
      await ctx.client.release(job.job_id, job.claim_seq).then(
        () => log.info('job handed back to the queue'),
        (error) => log.warn('could not hand the job back; its lease will expire', { error: (error as Error).message }),
      )
    } else if (ending === 'lease_lost') {
      log.info('job is no longer ours; not reporting', { ending })
    } else if (report) {
      await reportWithRetry(ctx, job, report, output.tail(), leaseMs, leaseGone.signal, log)
    }
  } catch (error) {
    log.error('reporting the job failed unexpectedly', { error })
  } finally {
    heartbeat.stop()
  }
}

/** Tells the app where the job really runs; a failure is logged (the job's log says it too), never fatal. */
async function recordExecutor(ctx: RunJobContext, job: ClaimedJob, log: Logger, body: { executor: string; fallback_reason?: string }): Promise<void> {
  await ctx.client.recordExecutor(job.job_id, { claim_seq: job.claim_seq, ...body }).catch((error: unknown) =>
    log.warn('could not record the executor the job runs on', { executor: body.executor, error: (error as Error).message }))
}

/** Runs `executor`; a rejection (the run could not start) becomes `{ error }`, with the configuration problem it reveals. */
async function attempt(executor: Executor, spec: JobSpec, output: JobOutput, signal: AbortSignal, startNote: string): Promise<Outcome> {
  output.note(startNote)
  try {
    return { result: await executor.run(spec, output.write, signal) }
  } catch (error) {
    return { error: `${executor.name}: ${(error as Error).message ?? String(error)}`, configuration: configurationProblem(error) }
  }
}

/** A run's result, or why it could not start (with the reason people read, when known better than the error). */
type Outcome = { result: RunResult } | { error: string; reason?: JobReason; configuration?: string | null }

interface Report {
  outcome: 'complete' | 'fail' | 'requeue'
  exitCode?: number
  error?: string
  /** What the coordinator knows of the cause; the app prefers the agent's own classified failure event. */
  reason?: JobReason
  summary: string
}

function describe(outcome: Outcome, ending: Ending | undefined, timeoutMs: number): Report | null {
  if (ending === 'lease_lost') return null
  if ('error' in outcome) {
    if (ending === 'shutdown') return null
    const reason = outcome.reason ?? { kind: 'internal', text: `The agent could not be started: ${outcome.error}`.slice(0, 2000) }
    return { outcome: 'fail', error: outcome.error, reason, summary: `the agent could not be started: ${outcome.error}` }
  }
  const { exitCode, stoppedBy, lost } = outcome.result
  if (ending === 'shutdown') return { outcome: 'fail', exitCode, summary: `agent stopped for the coordinator's shutdown (exit code ${exitCode})` }
  if (ending === 'cancel') {
    return { outcome: 'fail', exitCode, error: 'cancelled on request', reason: { kind: 'cancelled', text: 'Stopped on request' }, summary: `agent stopped after a cancel (exit code ${exitCode})` }
  }
  if (lost && !stoppedBy) return { outcome: 'requeue', exitCode, error: lost, summary: `the agent's run was lost: ${lost}; asking the app to queue the job again` }
  if (stoppedBy === 'timeout') {
    const error = `timed out after ${Math.round(timeoutMs / 1000)} s (JOB_TIMEOUT_SEC)`
    const reason: JobReason = { kind: 'budget', text: `The job ran out of time: the coordinator stops agents after ${Math.round(timeoutMs / 1000)} s (its JOB_TIMEOUT_SEC)` }
    return { outcome: 'fail', exitCode, error, reason, summary: `agent ${error}` }
  }
  if (exitCode === 0) return { outcome: 'complete', exitCode, summary: 'agent exited with code 0' }
  const reason: JobReason = { kind: 'internal', text: `The agent exited with code ${exitCode}` }
  return { outcome: 'fail', exitCode, error: `agent exited with code ${exitCode}`, reason, summary: `agent exited with code ${exitCode}` }
}

/** Why a local-mode agent could not start there (the local executor checks the path first: its words). */
function localStartReason(path: string | null, error: string): JobReason {
  if (!path) return { kind: 'setup', text: 'The project has no local path: local mode runs the agent in the project\'s checkout', fix: projectFix('project_path') }
  if (!existsSync(path)) return { kind: 'setup', text: `The project path ${path} does not exist on ${hostname()}`, fix: projectFix('project_path') }
  return { kind: 'setup', text: (error.charAt(0).toUpperCase() + error.slice(1)).slice(0, 2000), fix: projectFix('project_path') }
}

/**
 * Reports complete/fail/requeue, naming the claim; retried with backoff while the app is unreachable,
 * for up to two leases, and never once `leaseGone` (the app refused a heartbeat of the claim) has aborted.
 */
async function reportWithRetry(ctx: RunJobContext, job: ClaimedJob, report: Report, tail: string, leaseMs: number, leaseGone: AbortSignal, log: Logger): Promise<void> {
  const deadline = Date.now() + 2 * leaseMs
  const claim = { claim_seq: job.claim_seq }
  for (let tries = 1; ; tries++) {
    if (leaseGone.aborted) {
      log.warn('the lease was lost; not reporting the job', { outcome: report.outcome, tries: tries - 1 })
      return
    }
    try {
      if (report.outcome === 'complete') await ctx.client.complete(job.job_id, { ...claim, exit_code: report.exitCode ?? 0, output_tail: tail })
      else if (report.outcome === 'requeue' && ctx.client.requeue) await ctx.client.requeue(job.job_id, { ...claim, reason: (report.error ?? 'its run was lost').slice(0, 500), output_tail: tail })
      else await ctx.client.fail(job.job_id, { ...claim, ...(report.exitCode !== undefined ? { exit_code: report.exitCode } : {}), error: report.error ?? 'failed', output_tail: tail, ...(report.reason ? { reason: report.reason } : {}) })
      log.info('job reported', { outcome: report.outcome, exitCode: report.exitCode })
      return
    } catch (error) {
      if (isClientError(error) && error.status >= 400 && error.status < 500) {
        log.warn('the app refused the report', { outcome: report.outcome, error: error.message })
        return
      }
      if (Date.now() > deadline) {
        log.error('giving up reporting the job; its lease will expire and it will be retried', { error: (error as Error).message })
        return
      }
      const delay = backoffMs(tries)
      log.warn(`reporting the job failed; retrying in ${(delay / 1000).toFixed(1)} s`, { error: (error as Error).message })
      await sleep(delay, leaseGone)
    }
  }
}
