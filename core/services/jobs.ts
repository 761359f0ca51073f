/**
 * Reading jobs and the rules for starting one: a project must be able to run (422 naming what is
 * missing) and a ticket has at most one active job (409, backed by a unique index).
 */
import type { AppContext, WriteScope } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { conflict, forbidden, notFound, unprocessable, type ErrorDetail } from '../errors.ts'
import type { Job, JobKind, Project } from '../types.ts'
import { addRunBlockers } from './setup-checks/run.ts'
import { APP_ACTOR, type Actor } from './audit.ts'
import type { JobReasonFields } from './job-reason.ts'

export const JOB_COLUMNS = `id, project_id, ticket_id, kind, status, attempt, max_attempts, claimed_by, lease_expires_at, fallback_reason,
  cancel_requested, created_at, started_at, finished_at, exit_code, error, output_tail, executor, usage,
  pr_number, comment_body, github_comment_id, started_by, started_by_user_id,
  reason_kind, reason, reason_event_id, reason_fix`

/** What people's job lists add to a job: its ticket's title, per-project number and the project's key (`KEY-N`). */
const TICKET_OF_JOB = `left join lateral (select t.title as ticket_title, t.number as ticket_number, p.key as project_key
  from tickets t join projects p on p.id = t.project_id where t.id = agent_jobs.ticket_id) ticket on true`

export async function getJob(sql: Sql | TransactionSql, id: number): Promise<Job> {
  const [row] = await sql.unsafe(`select ${JOB_COLUMNS}, ticket.* from agent_jobs ${TICKET_OF_JOB} where id = $1`, [id])
  if (!row) throw notFound(`job ${id}`)
  return row as unknown as Job
}

export async function listJobs(
  ctx: AppContext,
  filter: { projectId?: number; ticketId?: number; status?: string; limit: number },
): Promise<Job[]> {
  const rows = await ctx.sql.unsafe(
    `select ${JOB_COLUMNS}, ticket.* from agent_jobs ${TICKET_OF_JOB}
     where ($1::int is null or project_id = $1) and ($2::int is null or ticket_id = $2) and ($3::text is null or status = $3)
     order by id desc limit $4`,
    [filter.projectId ?? null, filter.ticketId ?? null, filter.status ?? null, filter.limit],
  )
  return rows as unknown as Job[]
}

/** Refuses with 422 and the missing fields when agents cannot run for this project. */
export async function assertRunnable(ctx: AppContext, tx: TransactionSql, project: Project): Promise<void> {
  const details: ErrorDetail[] = []
  if (project.execution_mode === 'docker' && !project.repo_url) {
    details.push({ path: '/project/repo_url', message: 'docker execution needs the project\'s repo_url' })
  }
  if (project.execution_mode === 'local' && !project.project_path) {
    details.push({ path: '/project/project_path', message: 'local execution needs the project\'s project_path' })
  }
  // The project's settings (its own before the app's: project-settings.ts) and its setup.
  await addRunBlockers(ctx, tx, project, details)
  if (details.length) {
    throw unprocessable(`project ${project.id} cannot run agents: ${details.map((d) => d.message).join('; ')}`, details)
  }
}

/**
 * A local project's agents run on the app's host as the app's user: only an admin may start one
 * (move, run, retry). Jobs the app starts itself (review replies) carry no role and pass.
 */
export async function assertMayStart(tx: TransactionSql, projectId: number, startedBy: Actor | undefined): Promise<void> {
  if (!startedBy?.role || startedBy.role === 'admin') return
  const [project] = await tx`select execution_mode from projects where id = ${projectId}`
  if (project?.execution_mode === 'local') {
    throw forbidden(`project ${projectId} runs agents on the app's host (execution_mode local): only an admin may start its jobs`,
      [{ path: '/project/execution_mode', message: 'local execution is admin-run' }])
  }
}

/** Inserts a pending job in the caller's transaction; claimers are woken after commit. */
export async function enqueueJob(
  ctx: AppContext,
  scope: WriteScope,
  input: { projectId: number; ticketId: number; kind: JobKind; prNumber?: number; commentBody?: string; githubCommentId?: number; startedBy?: Actor },
): Promise<Job> {
  const { tx } = scope
  await assertMayStart(tx, input.projectId, input.startedBy)
  const [active] = await tx`
    select id, status from agent_jobs
    where ticket_id = ${input.ticketId} and kind = 'ticket' and status in ('pending', 'running')`
  if (active && input.kind === 'ticket') {
    throw conflict(`ticket ${input.ticketId} already has an active job (${active.id}, ${active.status})`)
  }
  // A ticket waiting for its blockers counts as active (services/ticket-dependencies.ts clears the wait before it enqueues).
  const [waiting] = input.kind === 'ticket' ? await tx`select id from tickets where id = ${input.ticketId} and waiting_since is not null` : []
  if (waiting) throw conflict(`ticket ${input.ticketId} is waiting for its blockers; it starts by itself when they are done`)
  const [row] = await tx.unsafe(
    `insert into agent_jobs (project_id, ticket_id, kind, max_attempts, pr_number, comment_body, github_comment_id, started_by, started_by_user_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ${JOB_COLUMNS}`,
    [input.projectId, input.ticketId, input.kind, ctx.config.JOB_MAX_ATTEMPTS, input.prNumber ?? null, input.commentBody ?? null,
      input.githubCommentId ?? null, (input.startedBy ?? APP_ACTOR).label, input.startedBy?.userId ?? null],
  )
  const job = row as unknown as Job
  await scope.emit({ project_id: input.projectId, type: 'job.updated', payload: jobSummary(job) })
  scope.wakeClaimers(input.projectId)
  return job
}

/** The part of a job live views need. */
export function jobSummary(job: Pick<Job, 'id' | 'ticket_id' | 'status' | 'attempt' | 'error' | 'cancel_requested'> & Partial<JobReasonFields>) {
  return {
    job_id: job.id,
    ticket_id: job.ticket_id,
    status: job.status,
    attempt: job.attempt,
    error: job.error,
    cancel_requested: job.cancel_requested,
    reason_kind: job.reason_kind ?? null,
    reason: job.reason ?? null,
    reason_event_id: job.reason_event_id ?? null,
    reason_fix: job.reason_fix ?? null,
  }
}
