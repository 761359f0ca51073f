/**
 * One agent run from resolved configuration to exit code: wires the app client, the job-event
 * reporter and the cancel watch, runs the ticket or review flow, and turns its ending into the last
 * job event and an exit code (0 done, 1 failed, 2 configuration, 3 budget, 130 cancelled).
 * Never throws.
 */
import type { AgentConfig } from '../agent-config.ts'
import { createLogger, redact, type Logger } from '../log.ts'
import { VERSION } from '../version.ts'
import type { Worker } from '../worker.ts'
import { createAppClient, type AppClient } from './api.ts'
import { watchCancel, type CancelWatch } from './cancel.ts'
import { AgentError, cancelled, isAgentError, reasonOf } from './errors.ts'
import type { JobReason } from '../services/job-reason.ts'
import { REPLY_MARKER, runReviewFlow } from './review-flow.ts'
import type { AgentRun } from './job.ts'
import type { PreparedWorkspace } from './prepared-workspace.ts'
import { createReporter } from './reporter.ts'
import { runTicketFlow } from './ticket-flow.ts'
import { runCiFixFlow } from './ci-fix-flow.ts'

export interface AgentDeps {
  workerFor(mode: string): Worker
  /** Aborted by the entrypoint on SIGTERM/SIGINT: handled like a cancel. */
  signal?: AbortSignal
  /** One line per step (stdout in the entrypoint); default none. */
  print?: (line: string) => void
  log?: Logger
  /** For tests: a client other than the HTTP one. */
  api?: AppClient
  /** The workspace a warm container cloned from the git cache while it waited. */
  prepared?: PreparedWorkspace | null
}

export async function runAgent(config: AgentConfig, deps: AgentDeps): Promise<number> {
  for (const secret of [config.TERARCHITECT_AGENT_TOKEN, config.TERARCHITECT_WORKER_API_KEY]) redact(secret)
  const log = deps.log ?? createLogger(config.LOG_LEVEL, { agent: config.kind, jobId: config.JOB_ID, ticketId: config.TICKET_ID })
  const api = deps.api ?? createAppClient({
    apiUrl: config.TERARCHITECT_API_URL,
    token: (config.TERARCHITECT_AGENT_TOKEN ?? config.TERARCHITECT_WORKER_API_KEY)!,
    projectId: config.PROJECT_ID,
    ticketId: config.TICKET_ID,
    jobId: config.JOB_ID,
  })
  const reporter = createReporter({ post: (events) => api.postEvents(events), log, print: deps.print })
  const cancel = watchCancel(api, {
    intervalMs: config.CANCEL_POLL_SEC * 1000, log, external: deps.signal,
    // A job token is the mark of a coordinator's claim, with a lease to confirm.
    ...(config.TERARCHITECT_AGENT_TOKEN ? { lease: { attempt: config.JOB_ATTEMPT, marginMs: config.LEASE_MARGIN_SEC * 1000, givenSec: config.JOB_LEASE_SEC } } : {}),
  })
  const run: AgentRun = { config, api, reporter, log, cancel, workerFor: deps.workerFor, ...(deps.prepared ? { prepared: deps.prepared } : {}) }

  const started = Date.now()
  let code: number
  try {
    // The coordinator's reason for running us on the host comes first on the ticket's log.
    if (config.TERARCHITECT_DOCKER_RUN_ERROR) {
      reporter.step('docker_run_error', `the agent container could not start; running on the coordinator's host instead: ${config.TERARCHITECT_DOCKER_RUN_ERROR}`)
    }
    reporter.step('start', `agent ${VERSION}: ${config.kind} job ${config.JOB_ID ?? '?'}${config.JOB_ATTEMPT ? ` attempt ${config.JOB_ATTEMPT}` : ''} for ticket id ${config.TICKET_ID}${config.kind !== 'ticket' ? ` (PR #${config.PR_NUMBER})` : ''}`)
    const flow = config.kind === 'ticket' ? runTicketFlow(run) : config.kind === 'ci_fix' ? runCiFixFlow(run) : runReviewFlow(run)
    await Promise.race([flow, leaseRunsOut(cancel, 0.5).then(() => Promise.reject(cancelled(cancel.reason())))])
    code = 0
  } catch (thrown) {
    // Whatever a cancel interrupted (a git command, a Director call), the job ends as cancelled.
    const error = cancel.signal.aborted && !isAgentError(thrown, 'cancelled') ? cancelled(cancel.reason()) : thrown
    // The event carries the reason people read; the app stores it on the job when the job ends.
    if (error instanceof AgentError) {
      const reason = reasonOf(error)
      reporter.step(error.step, error.message, causeText(error), { kind: error.code === 'cancelled' ? 'cancelled' : 'failure', code: error.code, ...reasonEvent(reason) })
      if (config.kind === 'review' && error.code !== 'cancelled') await replyFailure(api, reason, log)
      code = error.exitCode
    } else {
      log.error('unexpected agent failure', { error })
      const detail = (error as Error)?.message ?? String(error)
      reporter.step('error', `unexpected failure: ${detail}`, (error as Error)?.stack, { kind: 'failure', code: 'internal', ...reasonEvent({ kind: 'internal', text: `The agent failed unexpectedly: ${detail}`.slice(0, 2000) }) })
      code = 1
    }
  }
  reporter.step('exit', `agent exits ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  // The lease is still watched while the last events go out: lost meanwhile, it bounds the wait.
  await Promise.race([reporter.flush(), leaseRunsOut(cancel, 1)])
  cancel.stop()
  return code
}

/**
 * Resolves `share` of the way from a lost lease to its end (at once when it was lost already): the
 * flow (half) or the last events (all of it) stuck on an app it cannot reach (a cut network) are
 * left behind, so that the agent is gone before the job is handed out again. Never otherwise.
 */
function leaseRunsOut(cancel: CancelWatch, share: number): Promise<void> {
  return new Promise((resolve) => {
    const arm = () => {
      const leaveBy = cancel.leaveBy()
      if (leaveBy !== undefined) setTimeout(resolve, Math.max(0, leaveBy - Date.now()) * share)
    }
    if (cancel.signal.aborted) arm()
    else cancel.signal.addEventListener('abort', arm, { once: true })
  })
}

function causeText(error: Error): string | undefined {
  const cause = error.cause
  if (!cause) return undefined
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)
}

/** A reason as the failure event's fields (read back by core/services/job-reason-store.ts). */
function reasonEvent(reason: JobReason) {
  return { reason_kind: reason.kind, reason: reason.text, fix: reason.fix ?? null }
}

/** Review jobs: the PR says why its comment was not addressed. Best effort: the job fails either way. */
async function replyFailure(api: AppClient, reason: JobReason, log: Logger): Promise<void> {
  await api.replyOnPull(`${REPLY_MARKER}\nThis comment could not be addressed: ${reason.text}.`)
    .catch((error: Error) => log.warn('could not reply on the PR with the failure', { error: error.message }))
}
