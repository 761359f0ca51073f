/**
 * Routes: jobs for people, and the coordinator's worker API (runbook paths). Worker routes take
 * the worker key or a coordinator token (never anonymous); a claim binds the job to that credential
 * and to `coordinator_id`, which the bound calls (heartbeat, complete, fail, release, requeue, executor)
 * must repeat, with the claim they are about (`claim_seq` from the claim answer): a call about a claim
 * that has ended is 409 `lease_lost`.
 */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Caller, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { INT4_MAX, Id, JobStatus, Usage } from '../types.ts'
import { getJob, listJobs } from '../services/jobs.ts'
import { withRelayUsage } from '../services/llm-relay-usage.ts'
import { cancelJob, claimJobWaiting, heartbeatJob, releaseJob, reportJob, retryJob, type ClaimedJob, type CoordinatorInstance, type Holder } from '../services/queue.ts'
import { issueJobToken } from '../services/job-tokens.ts'
import { storeCoordinatorForgeToken } from '../services/coordinator-forge-token.ts'
import { recordJobExecutor } from '../services/job-executor.ts'
import { assertWithinProjects } from '../services/coordinator-tokens.ts'
import { resolveSettings } from '../services/settings.ts'
import { getProject } from '../services/projects.ts'
import { CoordinatorId, JobParams, ProjectParams } from './params.ts'
import { actorOf } from '../services/audit.ts'
import { parseContainerLimits } from '../container-limits.ts'
import { JobReason } from '../services/job-reason.ts'
import { requeueLostJob } from '../services/job-requeue.ts'

const StatusFilter = Type.Union([JobStatus, Type.Literal('completed')], { description: '`completed` = succeeded' })
const JobsQuery = Type.Object({
  status: Type.Optional(StatusFilter),
  ticket_id: Type.Optional(Id),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
})
const Claim = Type.Object(
  {
    project_id: Type.Optional(Id),
    project_ids: Type.Optional(Type.Array(Id, { maxItems: 1000 })),
    wait_ms: Type.Integer({ minimum: 0, maximum: 60000, default: 0 }),
    coordinator_id: Type.Optional(CoordinatorId),
    executor: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
  },
  { additionalProperties: false },
)
/** The claim a bound call is about: the claim answer's `claim_seq` (required: a report of an ended run never lands on the next). */
const ClaimSeq = Type.Integer({ minimum: 1, maximum: INT4_MAX })
const Bound = Type.Object({ coordinator_id: CoordinatorId, claim_seq: ClaimSeq }, { additionalProperties: false })
const Tail = Type.String({ maxLength: 65536 })
const ExitCode = Type.Integer({ minimum: -INT4_MAX - 1, maximum: INT4_MAX })
const Complete = Type.Object(
  { coordinator_id: CoordinatorId, claim_seq: ClaimSeq, exit_code: Type.Optional(ExitCode), output_tail: Type.Optional(Tail), usage: Type.Optional(Usage) },
  { additionalProperties: false },
)
const Fail = Type.Object(
  {
    coordinator_id: CoordinatorId,
    claim_seq: ClaimSeq,
    exit_code: Type.Optional(ExitCode),
    error: Type.String({ minLength: 1, maxLength: 10000 }),
    output_tail: Type.Optional(Tail),
    usage: Type.Optional(Usage),
    /** The coordinator's account of the failure; the agent's own classified event wins over it. */
    reason: Type.Optional(JobReason),
  },
  { additionalProperties: false },
)
const Requeue = Type.Object(
  {
    coordinator_id: CoordinatorId,
    claim_seq: ClaimSeq,
    /** What the executor saw of the run's place, e.g. "its node swarm-worker-1 is down". */
    reason: Type.String({ minLength: 1, maxLength: 500 }),
    output_tail: Type.Optional(Tail),
  },
  { additionalProperties: false },
)
const ExecutorReport = Type.Object(
  {
    coordinator_id: CoordinatorId,
    claim_seq: ClaimSeq,
    executor: Type.String({ minLength: 1, maxLength: 50, pattern: '^[a-z0-9-]+$' }),
    /** Why the claimed executor could not run it (the container error); omitted when none failed. */
    fallback_reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  },
  { additionalProperties: false },
)

const ForgeToken = Type.Object(
  {
    coordinator_id: CoordinatorId,
    token: Type.String({ minLength: 1, maxLength: 1000, pattern: '^\\S+$' }),
    project_ids: Type.Optional(Type.Union([Type.Array(Id, { minItems: 1, maxItems: 1000 }), Type.Null()])),
  },
  { additionalProperties: false },
)

/** The credential and instance making a call. */
const instanceOf = (caller: Caller, coordinatorId: string): CoordinatorInstance => ({ coordinatorId, credential: caller.credential! })
/** The credential and instance making a bound call, and the claim it is about. */
const holderOf = (caller: Caller, body: { coordinator_id: string; claim_seq: number }): Holder => ({ ...instanceOf(caller, body.coordinator_id), claimSeq: body.claim_seq })

/** The projects a claim may take jobs from: what was asked, within what the credential allows. */
function claimScope(caller: Caller, asked: number[] | null): number[] | null {
  assertWithinProjects(caller.credential!, asked)
  return asked ?? caller.credential!.projectIds
}

export function jobRoutes(ctx: AppContext): Route[] {
  const status = (value: string | undefined) => (value === 'completed' ? 'succeeded' : value)
  return [
    route({ method: 'GET', path: '/api/jobs', access: 'viewer', query: JobsQuery, handle: async ({ query }) =>
      withRelayUsage(ctx.sql, await listJobs(ctx, { ticketId: query.ticket_id, status: status(query.status), limit: query.limit })) }),
    route({
      method: 'GET', path: '/api/projects/:id/jobs', access: 'viewer', params: ProjectParams, query: JobsQuery,
      handle: async ({ params, query }) => {
        await getProject(ctx.sql, params.id)
        return withRelayUsage(ctx.sql, await listJobs(ctx, { projectId: params.id, ticketId: query.ticket_id, status: status(query.status), limit: query.limit }))
      },
    }),
    route({ method: 'GET', path: '/api/jobs/:id', access: 'viewer', params: JobParams, handle: async ({ params }) =>
      (await withRelayUsage(ctx.sql, [await getJob(ctx.sql, params.id)]))[0] }),
    route({ method: 'POST', path: '/api/jobs/:id/cancel', access: 'member', params: JobParams, handle: ({ params, caller }) => cancelJob(ctx, params.id, actorOf(caller)) }),
    route({ method: 'POST', path: '/api/jobs/:id/retry', access: 'member', params: JobParams, handle: async ({ params, caller }) =>
      new Reply(201, await retryJob(ctx, params.id, actorOf(caller))) }),

    route({
      method: 'POST', path: '/api/worker/jobs/start', access: 'worker', body: Claim,
      handle: async ({ body, res, caller }) => {
        const ids = claimScope(caller, body.project_ids ?? (body.project_id !== undefined ? [body.project_id] : null))
        const gone = new AbortController()
        res.once('close', () => gone.abort())
        const job = await claimJobWaiting(
          ctx,
          { projectIds: ids, coordinatorId: body.coordinator_id ?? 'anonymous', credential: caller.credential!.id, executor: body.executor ?? null },
          body.wait_ms,
          gone.signal,
        )
        if (!job) return new Reply(204)
        return claimPayload(ctx, job)
      },
    }),
    route({ method: 'POST', path: '/api/worker/jobs/:id/release', access: 'worker', params: JobParams, body: Bound,
      handle: ({ params, body, caller }) => releaseJob(ctx, params.id, holderOf(caller, body)) }),
    // What a coordinator reads from the app's settings while running (people's settings API may be
    // closed to it). Never a secret value: coordinators hold no secrets.
    route({ method: 'GET', path: '/api/worker/settings', access: 'worker', handle: async () => {
      const settings = await resolveSettings(ctx)
      const value = Number(settings.MAX_CONCURRENT_AGENTS)
      // A value the app's environment gives badly is left out: the coordinator keeps its own.
      const { limits } = parseContainerLimits(settings)
      return {
        max_concurrent_agents: Number.isInteger(value) && value >= 1 ? value : null,
        container_limits: { memory_bytes: limits.memoryBytes ?? null, cpus: limits.cpus ?? null, pids_limit: limits.pidsLimit ?? null },
      }
    } }),
    route({ method: 'POST', path: '/api/worker/jobs/:id/heartbeat', access: 'worker', params: JobParams, body: Bound,
      handle: ({ params, body, caller }) => heartbeatJob(ctx, params.id, holderOf(caller, body)) }),
    route({
      method: 'POST', path: '/api/worker/jobs/:id/complete', access: 'worker', params: JobParams, body: Complete,
      handle: ({ params, body, caller }) => reportJob(ctx, params.id, {
        outcome: 'succeeded', holder: holderOf(caller, body), exitCode: body.exit_code ?? 0,
        error: null, outputTail: body.output_tail ?? null, usage: body.usage ?? null,
      }),
    }),
    route({
      method: 'POST', path: '/api/worker/jobs/:id/fail', access: 'worker', params: JobParams, body: Fail,
      handle: ({ params, body, caller }) => reportJob(ctx, params.id, {
        outcome: 'failed', holder: holderOf(caller, body), exitCode: body.exit_code ?? null,
        error: body.error, outputTail: body.output_tail ?? null, usage: body.usage ?? null, reason: body.reason ?? null,
      }),
    }),
    // The run's place is gone (node down, pod evicted): queued again, or failed after its last attempt.
    route({ method: 'POST', path: '/api/worker/jobs/:id/requeue', access: 'worker', params: JobParams, body: Requeue,
      handle: ({ params, body, caller }) => requeueLostJob(ctx, params.id, {
        holder: holderOf(caller, body), lost: body.reason, outputTail: body.output_tail ?? null,
      }) }),
    // Where the agent really runs, when not where the claim said (the host fallback, local mode).
    route({ method: 'POST', path: '/api/worker/jobs/:id/executor', access: 'worker', params: JobParams, body: ExecutorReport,
      handle: ({ params, body, caller }) => recordJobExecutor(ctx, params.id, holderOf(caller, body), body.executor, body.fallback_reason ?? null) }),
    // A coordinator started with GITHUB_TOKEN hands it over once instead of giving it to agents.
    route({ method: 'POST', path: '/api/worker/forge-token', access: 'worker', body: ForgeToken, handle: async ({ body, caller }) => {
      await storeCoordinatorForgeToken(ctx, instanceOf(caller, body.coordinator_id), body.token, body.project_ids ?? null)
      return new Reply(204)
    } }),
  ]
}

/** The claim answer (runbook fields) with the job-scoped token the agent will use. */
function claimPayload(ctx: AppContext, job: ClaimedJob) {
  const agentToken = issueJobToken(ctx, job)
  return {
    job_id: job.id,
    ticket_id: job.ticket_id,
    project_id: job.project_id,
    kind: job.kind,
    repo_url: job.repo_url,
    default_branch: job.default_branch,
    execution_mode: job.execution_mode,
    project_path: job.project_path,
    worker_mode: job.worker_mode,
    attempt: job.attempt,
    /** Which claim of the job this is: the bound calls about this run name it. */
    claim_seq: job.claim_seq,
    max_attempts: job.max_attempts,
    lease_sec: ctx.config.JOB_LEASE_SEC,
    ticket_title: job.ticket_title,
    agent_token: agentToken,
    pr_number: job.pr_number,
    comment_body: job.comment_body,
    github_comment_id: job.github_comment_id,
  }
}
