/**
 * The job queue's transitions: claim (atomic, SKIP LOCKED, fair across projects, optional
 * long-poll), heartbeat (extends the lease, answers cancel_requested), complete/fail (idempotent
 * for the same outcome, 409 for a conflicting one), cancel and retry.
 *
 * A claim binds the job to the claiming credential (worker key or coordinator token) and the
 * coordinator instance (coordinator_id). Heartbeat, complete, fail and release by another
 * credential are 403 (it is not that coordinator's job); by another instance under the same
 * credential 409 as before (`lease_lost` for heartbeats: the job was handed to someone else).
 * Each claim numbers the job's claims (`claim_seq`, in the claim answer and the job token); every bound
 * call names the claim it is about, and one about a claim that has ended is 409 `lease_lost`, even
 * from the holder of the job's next claim (a lost run's late report never lands on the next run).
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import { AppError, conflict, forbidden, notFound } from '../errors.ts'
import type { Job, Usage } from '../types.ts'
import type { TransactionSql, Sql } from '../db/index.ts'
import { redactNullable } from '../log.ts'
import type { MachineCredential } from './coordinator-tokens.ts'
import { registerStoredSecrets } from './coordinator-forge-token.ts'
import { JOB_COLUMNS, assertRunnable, enqueueJob, getJob, jobSummary } from './jobs.ts'
import { getProject } from './projects.ts'
import { APP_ACTOR, recordAudit, type Actor } from './audit.ts'
import { settleJobReason } from './job-reason-store.ts'
import { queueReviewDoneNotification } from './notifications-hooks.ts'
import type { JobReason } from './job-reason.ts'
import { commentJobFailure } from './job-failure-comment.ts'

export interface ClaimFilter {
  projectIds: number[] | null
  coordinatorId: string
  /** The claiming credential's id (`worker-key`, `coordinator-token:<id>`). */
  credential: string
  executor: string | null
}

/** A coordinator instance and the credential it calls with. */
export interface CoordinatorInstance {
  coordinatorId: string
  credential: MachineCredential
}

/** Who holds a job: the coordinator instance and its credential, and the claim a call is about. */
export interface Holder extends CoordinatorInstance {
  /**
   * The claim the call is about (the claim answer's `claim_seq`): a call about a claim that has
   * ended (the job was handed back and claimed again, by the same holder too) is 409 `lease_lost`.
   */
  claimSeq: number
}

/** A claimed job with what the claim answer needs from its project and ticket (one round trip). */
export type ClaimedJob = Job & {
  claim_seq: number
  repo_url: string | null
  default_branch: string | null
  execution_mode: 'docker' | 'local'
  project_path: string | null
  worker_mode: string | null
  ticket_title: string | null
}

const claimedColumns = JOB_COLUMNS.split(',').map((column) => `claimed.${column.trim()}`).join(', ')

/** SQL: the project `column` names has no cap of its own (MAX_CONCURRENT_AGENTS) or runs fewer jobs than it. */
const UNDER_CAP = (column: string) => `not exists (
  select 1 from project_settings c where c.project_id = ${column} and c.key = 'MAX_CONCURRENT_AGENTS'
    and (select count(*) from agent_jobs r where r.project_id = ${column} and r.status = 'running') >= c.value::int)`

/**
 * Runs the claim statement in a transaction and, when the claimed job's project has a cap, takes
 * that project's advisory lock and counts its running jobs again before committing. Two claims
 * racing for the last slot each pass the statement's filter (neither sees the other's row); the
 * lock orders them and the second, counting after the first committed, sees both and rolls back
 * ('over-cap'). So concurrent claims never exceed a project's cap.
 */
async function claimUnderCap(ctx: AppContext, claim: (sql: TransactionSql) => Promise<Record<string, unknown>[]>): Promise<Record<string, unknown>[] | 'over-cap'> {
  const overCap = new Error('over-cap')
  try {
    return await ctx.sql.begin(async (tx) => {
      const rows = await claim(tx)
      const projectId = rows[0]?.project_id as number | undefined
      if (projectId === undefined) return rows
      const [cap] = await tx`select value::int as cap from project_settings where project_id = ${projectId} and key = 'MAX_CONCURRENT_AGENTS'`
      if (!cap) return rows
      await tx`select pg_advisory_xact_lock(hashtext('terarchitect.project-cap'), ${projectId})`
      const [running] = await tx`select count(*)::int as n from agent_jobs where project_id = ${projectId} and status = 'running'`
      if ((running!.n as number) > (cap.cap as number)) throw overCap
      return rows
    })
  } catch (error) {
    if (error === overCap) return 'over-cap'
    throw error
  }
}

/**
 * One statement: pick the project with the fewest running jobs that has pending work (ties: the
 * oldest pending job), lock its oldest pending job with SKIP LOCKED, mark it running with a lease
 * (clearing why its last attempt ended: this one settles its own), and record the feed event.
 * Running jobs are counted up to 32 only: beyond that the order between two busy projects does
 * not matter, and an uncapped count would make every claim O(running).
 * When every pending job of the picked project is locked by a racing claimer, a plain FIFO claim
 * over all allowed projects follows, so work is never left idle. A project whose own
 * MAX_CONCURRENT_AGENTS (project_settings) is reached is passed over.
 */
export async function claimJob(ctx: AppContext, filter: ClaimFilter): Promise<ClaimedJob | null> {
  const all = filter.projectIds === null
  const ids = filter.projectIds ?? []
  const lease = ctx.config.JOB_LEASE_SEC
  const passes = [true, false]
  for (let pass = 0, retries = 0; pass < passes.length; pass++) {
    const fair = passes[pass]
    const pick = fair
      ? `and project_id = (
           select p.id from projects p
           where ($1 or p.id = any($2::int[]))
             and exists (select 1 from agent_jobs q where q.project_id = p.id and q.status = 'pending')
             and ${UNDER_CAP('p.id')}
           order by (select count(*) from (select 1 from agent_jobs r where r.project_id = p.id and r.status = 'running' limit 32) busy),
                    (select min(q.id) from agent_jobs q where q.project_id = p.id and q.status = 'pending')
           limit 1)`
      : `and ($1 or project_id = any($2::int[])) and ${UNDER_CAP('agent_jobs.project_id')}`
    const rows = await claimUnderCap(ctx, (sql) => sql.unsafe(
      `with next as (
         select id from agent_jobs where status = 'pending' ${pick}
         order by id limit 1 for update skip locked
       ), claimed as (
         update agent_jobs j set status = 'running', claimed_by = $3, executor = coalesce($4, j.executor), fallback_reason = null,
           started_at = now(), lease_expires_at = now() + make_interval(secs => $5),
           claimed_credential = $6, claim_seq = j.claim_seq + 1,
           reason_kind = null, reason = null, reason_event_id = null, reason_fix = null
         from next where j.id = next.id
         returning j.*
       ), feed as (
         insert into app_events (project_id, type, payload)
         select project_id, 'job.updated', jsonb_build_object('job_id', id, 'ticket_id', ticket_id, 'status', status,
           'attempt', attempt, 'error', error, 'cancel_requested', cancel_requested)
         from claimed returning id
       )
       select ${claimedColumns}, claimed.claim_seq, p.repo_url, p.default_branch, p.execution_mode, p.project_path,
         coalesce((select s.value from project_settings s where s.project_id = p.id and s.key = 'WORKER_MODE'), p.worker_mode) as worker_mode,
         t.title as ticket_title, (select max(id) from feed) as feed_id
       from claimed join projects p on p.id = claimed.project_id left join tickets t on t.id = claimed.ticket_id`,
      [all, ids, filter.coordinatorId, filter.executor, lease, filter.credential],
      { prepare: true },
    ))
    // A claim undone by its project's cap is tried again: the filter now passes that project over.
    if (rows === 'over-cap') {
      if (retries++ < 3) pass--
      continue
    }
    const row = rows[0]
    if (row) {
      ctx.cache.invalidate(row.project_id as number)
      ctx.bus.publish('feed', row.feed_id as number)
      delete row.feed_id
      return row as unknown as ClaimedJob
    }
  }
  return null
}

/**
 * Claims, waiting up to `waitMs` for a job: woken at once by an enqueue on the bus (in-process or
 * NOTIFY), and re-checking every CLAIM_RECHECK_SEC (1 s) as the guarantee against a lost wake-up.
 */
export async function claimJobWaiting(ctx: AppContext, filter: ClaimFilter, waitMs: number, signal: AbortSignal): Promise<ClaimedJob | null> {
  const deadline = Date.now() + waitMs
  let wake: (() => void) | null = null
  const unsubscribe = ctx.bus.subscribe('jobs', (projectId) => {
    if (filter.projectIds === null || filter.projectIds.includes(projectId)) wake?.()
  })
  const onAbort = () => wake?.()
  signal.addEventListener('abort', onAbort)
  try {
    for (;;) {
      const job = await claimJob(ctx, filter)
      if (job || signal.aborted) {
        if (job && signal.aborted) await releaseJob(ctx, job.id, null).catch(() => {})
        return signal.aborted ? null : job
      }
      const left = deadline - Date.now()
      if (left <= 0) return null
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, ctx.config.CLAIM_RECHECK_SEC * 1000))
        function done() {
          clearTimeout(timer)
          wake = null
          resolve()
        }
        wake = done
      })
    }
  } finally {
    unsubscribe()
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Hands a running job back to the queue untouched (same attempt): its claimer is shutting down, or
 * went away before receiving the claim. A job whose cancel was requested ends `cancelled` instead.
 * `holder` null = the app itself (a claim whose caller went away).
 */
export async function releaseJob(ctx: AppContext, jobId: number, holder: Holder | null): Promise<Job> {
  return write(ctx, async ({ tx, emit, wakeClaimers }) => {
    const [row] = await tx.unsafe(
      `update agent_jobs set status = case when cancel_requested then 'cancelled' else 'pending' end,
         finished_at = case when cancel_requested then now() else null end,
         started_at = case when cancel_requested then started_at else null end,
         claimed_by = null, claimed_credential = null, lease_expires_at = null
       where id = $1 and status = 'running' and ($2::text is null or (claimed_by = $2 and claimed_credential = $3 and claim_seq = $4))
       returning ${JOB_COLUMNS}`,
      [jobId, holder?.coordinatorId ?? null, holder?.credential.id ?? null, holder?.claimSeq ?? null],
    )
    if (!row) {
      const job = await heldJob(tx, jobId, holder)
      throw conflict(`job ${jobId} is ${job.status}${job.claimed_by ? ` (held by ${job.claimed_by})` : ''}; nothing to release`)
    }
    const job = Object.assign(row as unknown as Job, await settleJobReason(tx, row as unknown as Job))
    await emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
    if (job.status === 'pending') wakeClaimers(job.project_id)
    return job
  })
}

/** Extends the lease. A job that is no longer this claimer's answers 409 `lease_lost`: stop it. */
export async function heartbeatJob(ctx: AppContext, jobId: number, holder: Holder) {
  const [row] = await ctx.sql`
    update agent_jobs set lease_expires_at = now() + make_interval(secs => ${ctx.config.JOB_LEASE_SEC})
    where id = ${jobId} and status = 'running' and claimed_by = ${holder.coordinatorId} and claimed_credential = ${holder.credential.id}
      and claim_seq = ${holder.claimSeq}
    returning cancel_requested, status, lease_expires_at`
  if (row) return { cancel_requested: row.cancel_requested as boolean, status: 'running', lease_expires_at: row.lease_expires_at }
  return leaseLost(ctx.sql, jobId, holder)
}

/**
 * Refuses a bound call that found `jobId` no longer running under `holder`: 404, 403 and 409 for
 * another claim as `heldJob` says, else 409 `lease_lost` naming its status (the coordinator stops
 * working on it).
 */
export async function leaseLost(sql: Sql | TransactionSql, jobId: number, holder: Holder): Promise<never> {
  const job = await heldJob(sql, jobId, holder)
  throw new AppError('lease_lost', 409, `job ${jobId} is ${job.status}${job.claimed_by ? ` (held by ${job.claimed_by})` : ''}; stop working on it`, [
    { path: '/job/status', message: job.status },
  ])
}

export interface Outcome {
  outcome: 'succeeded' | 'failed'
  holder: Holder
  exitCode: number | null
  error: string | null
  outputTail: string | null
  usage: Usage | null
  /** The coordinator's account of a failure (core/services/job-reason-store.ts weighs it). */
  reason?: JobReason | null
}

/**
 * Finishes a running job. A requested cancel wins: the job ends `cancelled` whatever the report.
 * `error` and `output_tail` are agent-produced text: stored masked (log.ts redactText). A failed
 * ticket job then says why on its ticket's PR (job-failure-comment.ts).
 */
export async function reportJob(ctx: AppContext, jobId: number, report: Outcome): Promise<Job> {
  const job = await writeReport(ctx, jobId, report)
  // After the commit, and not awaited: the forge is never in the way of the transition.
  if (job.status === 'failed') void commentJobFailure(ctx, job)
  return job
}

async function writeReport(ctx: AppContext, jobId: number, report: Outcome): Promise<Job> {
  return write(ctx, async ({ tx, emit }) => {
    await registerStoredSecrets(ctx, tx)
    const [row] = await tx.unsafe(
      `update agent_jobs set status = case when cancel_requested then 'cancelled' else $2 end,
         finished_at = now(), exit_code = $3, error = $4, output_tail = $5, usage = coalesce($6::jsonb, usage),
         lease_expires_at = null
       where id = $1 and status = 'running' and claimed_by = $7 and claimed_credential = $8 and claim_seq = $9
       returning ${JOB_COLUMNS}`,
      [jobId, report.outcome, report.exitCode, redactNullable(report.error), redactNullable(report.outputTail),
        report.usage ? tx.json(report.usage) : null, report.holder.coordinatorId, report.holder.credential.id, report.holder.claimSeq],
    )
    if (row) {
      const job = Object.assign(row as unknown as Job, await settleJobReason(tx, row as unknown as Job, report.reason))
      if (job.kind === 'review' && job.status === 'succeeded') await queueReviewDoneNotification(tx, job)
      await emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
      return job
    }
    const job = await heldJob(tx, jobId, report.holder)
    if (job.status === report.outcome || job.status === 'cancelled') return job
    throw conflict(`job ${jobId} is ${job.status}; cannot mark it ${report.outcome}`, [{ path: '/job/status', message: job.status }])
  })
}

/** Cancels a pending job at once; asks a running one to stop (the coordinator sees it on heartbeat). */
export async function cancelJob(ctx: AppContext, jobId: number, actor: Actor = APP_ACTOR): Promise<Job> {
  return write(ctx, async ({ tx, emit }) => {
    const [row] = await tx.unsafe(
      `update agent_jobs set cancel_requested = true,
         status = case when status = 'pending' then 'cancelled' else status end,
         finished_at = case when status = 'pending' then now() else finished_at end
       where id = $1 and status in ('pending', 'running') returning ${JOB_COLUMNS}`,
      [jobId],
    )
    if (row) {
      const job = row as unknown as Job
      await recordAudit(tx, actor, { action: 'job.cancel', target: { type: 'job', id: job.id }, projectId: job.project_id, details: { ticket_id: job.ticket_id } })
      Object.assign(job, await settleJobReason(tx, job))
      await emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
      return job
    }
    const job = await getJob(tx, jobId)
    if (job.status === 'cancelled') return job
    throw conflict(`job ${jobId} already ${job.status}`, [{ path: '/job/status', message: job.status }])
  })
}

/** Starts a fresh job for a finished (failed or cancelled) job's ticket; 422 when the project cannot run. */
export async function retryJob(ctx: AppContext, jobId: number, actor: Actor = APP_ACTOR): Promise<Job> {
  return write(ctx, async (scope) => {
    const job = await getJob(scope.tx, jobId)
    if (job.status !== 'failed' && job.status !== 'cancelled') {
      throw conflict(`job ${jobId} is ${job.status}; only failed or cancelled jobs can be retried`)
    }
    if (job.ticket_id === null) throw conflict(`job ${jobId} has no ticket any more`)
    // Like a move to In Progress: a project that cannot run is a 422, not a job nobody can start.
    await assertRunnable(ctx, scope.tx, await getProject(scope.tx, job.project_id))
    const retry = await enqueueJob(ctx, scope, {
      projectId: job.project_id,
      ticketId: job.ticket_id,
      kind: job.kind,
      startedBy: actor,
      ...(job.pr_number !== null ? { prNumber: job.pr_number } : {}),
      ...(job.comment_body !== null ? { commentBody: job.comment_body } : {}),
      ...(job.github_comment_id !== null ? { githubCommentId: job.github_comment_id } : {}),
    })
    await recordAudit(scope.tx, actor, { action: 'job.retry', target: { type: 'job', id: retry.id }, projectId: job.project_id, details: { retried_job_id: jobId, ticket_id: job.ticket_id } })
    return retry
  })
}

/**
 * The job a bound call (heartbeat, complete, fail, release, executor, requeue) could not update, read
 * to say why. 404 when there is none; 403 when the job is outside the credential's projects or was
 * claimed by another credential; 409 `lease_lost` naming the claims and the status when the call is
 * about a claim that is not the job's last (a late report of an earlier run, or a claim never made);
 * otherwise the caller answers from its status (409).
 */
async function heldJob(sql: Sql | TransactionSql, jobId: number, holder: Holder | null): Promise<Job> {
  const [row] = await sql.unsafe(`select ${JOB_COLUMNS}, claimed_credential, claim_seq from agent_jobs where id = $1`, [jobId])
  if (!row) throw notFound(`job ${jobId}`)
  if (holder) {
    const { projectIds, id } = holder.credential
    if (projectIds && !projectIds.includes(row.project_id as number)) throw forbidden(`job ${jobId} is not in a project this coordinator token may claim`)
    if (row.claimed_credential !== null && row.claimed_credential !== id) throw forbidden(`job ${jobId} is held by another coordinator`)
    const claim = holder.claimSeq
    const last = row.claim_seq as number
    if (last !== claim) {
      const now = row.status === 'running' ? `runs claim ${last} (attempt ${row.attempt}) now` : last === 0 ? `is ${row.status} and was never claimed` : `is ${row.status} after claim ${last}`
      // A claim after the last was never made (a caller's mistake, or a database older than the claim).
      const said = claim < last ? `claim ${claim} has ended` : `claim ${claim} was never made`
      throw new AppError('lease_lost', 409, `job ${jobId} ${now}; ${said}: stop working on it`, [
        { path: '/claim_seq', message: last === 0 ? 'the job was never claimed' : `claim ${last} is the job's last` },
        { path: '/job/status', message: row.status },
      ])
    }
  }
  delete row.claimed_credential
  delete row.claim_seq
  return row as unknown as Job
}
