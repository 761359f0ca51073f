/** Routes: tickets and notes for people; the ticket endpoints agents call with their job token. */
import { Type } from '@sinclair/typebox'
import { Reply, route, sendCached, type Caller, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { conflict, isAppError, notFound } from '../errors.ts'
import { Cursor, INT4_MAX, Id, JobEventInput, NoteCreate, NotePatch, TicketBlockers, TicketCreate, TicketPatch, Usage } from '../types.ts'
import { setBlockers } from '../services/ticket-dependencies.ts'
import { cancelTicket, completeTicket, createTicket, deleteTicket, getTicket, listTickets, runTicket, updateTicket } from '../services/tickets.ts'
import { createNote, deleteNote, listNotes, updateNote } from '../services/notes.ts'
import { appendJobEvents, listTicketEvents } from '../services/job-events.ts'
import { workerContext } from '../services/worker-context.ts'
import { getJob } from '../services/jobs.ts'
import { getProject } from '../services/projects.ts'
import { completedJobPull } from '../services/job-pull.ts'
import { NoteParams, ProjectItemParams, ProjectParams } from './params.ts'
import { actorOf } from '../services/audit.ts'

const TICKET = '/api/projects/:pid/tickets/:tid'

const LogsQuery = Type.Object({
  after: Type.Integer({ ...Cursor, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
  job_id: Type.Optional(Id),
})
const LogsPost = Type.Union([
  JobEventInput,
  Type.Object({ job_id: Type.Optional(Id), events: Type.Array(JobEventInput, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false }),
])
const TicketComplete = Type.Object(
  {
    pr_url: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    pr_number: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: INT4_MAX }), Type.Null()])),
    summary: Type.Optional(Type.Union([Type.String({ maxLength: 20000 }), Type.Null()])),
    usage: Type.Optional(Type.Union([Usage, Type.Null()])),
    job_id: Type.Optional(Id),
  },
  { additionalProperties: false },
)

export function ticketRoutes(ctx: AppContext): Route[] {
  /** The job an agent call is about: its token's job, or the one named, or the ticket's latest. */
  // On the agents' hot path (every log batch): one job read when the job is known, the ticket read
  // (with its latest job) only when it is not.
  async function jobIdOf(caller: Caller, projectId: number, ticketId: number, named?: number): Promise<number> {
    const jobId = caller.job?.jobId ?? named ?? (await getTicket(ctx.sql, projectId, ticketId)).job?.job_id
    if (!jobId) throw notFound(`job of ticket ${ticketId}`)
    return jobId
  }
  /**
   * The job an agent call is about as `read` reads it (none: undefined); 404 unless it is the
   * ticket's, in the project.
   */
  async function jobOf<T extends { ticket_id: number | null; project_id: number }>(
    read: (jobId: number) => Promise<T | undefined>, caller: Caller, projectId: number, ticketId: number, named?: number,
  ): Promise<T> {
    const jobId = await jobIdOf(caller, projectId, ticketId, named)
    const job = await read(jobId)
    if (!job || job.ticket_id !== ticketId || job.project_id !== projectId) throw notFound(`job ${jobId} of ticket ${ticketId} in project ${projectId}`)
    return job
  }
  /** The whole job (jobs.ts `getJob`). */
  const wholeJob = (jobId: number) => getJob(ctx.sql, jobId).catch((error) => {
    if (isAppError(error) && error.status === 404) return undefined
    throw error
  })
  /**
   * What `…/cancel-requested` answers from: status, the attempt it runs, the cancel flag and how
   * long the lease has left by the database's clock (the one lease_expires_at is set by), all read
   * in one statement: a status read apart from the lease could pair one attempt's status with the
   * next one's lease, and a clock read later than the lease would shorten it under load.
   */
  const leaseOf = async (jobId: number) => {
    const [job] = await ctx.sql<{
      id: number; ticket_id: number | null; project_id: number; status: string; attempt: number
      cancel_requested: boolean; lease_expires_at: Date | null; now: Date
    }[]>`
      select id, ticket_id, project_id, status, attempt, cancel_requested, lease_expires_at, now() as now
      from agent_jobs where id = ${jobId}`
    return job
  }

  return [
    route({ method: 'GET', path: '/api/projects/:id/tickets', access: 'viewer', params: ProjectParams, handle: async ({ params, req, res }) => {
      // The board's hot read: served from the per-project cache that every write invalidates.
      const entry = await ctx.cache.get(params.id, 'tickets', async () => {
        await getProject(ctx.sql, params.id)
        return listTickets(ctx.sql, params.id)
      })
      sendCached(req, res, entry)
    } }),
    route({
      method: 'POST', path: '/api/projects/:id/tickets', access: 'member', params: ProjectParams, body: TicketCreate,
      handle: async ({ params, body, caller }) => new Reply(201, await createTicket(ctx, params.id, body, actorOf(caller))),
    }),
    route({ method: 'GET', path: TICKET, access: 'viewer', params: ProjectItemParams, handle: ({ params }) => getTicket(ctx.sql, params.pid, params.tid) }),
    route({
      method: 'PATCH', path: TICKET, access: 'member', params: ProjectItemParams, body: TicketPatch,
      handle: ({ params, body, caller }) => updateTicket(ctx, params.pid, params.tid, body, actorOf(caller)),
    }),
    route({ method: 'DELETE', path: TICKET, access: 'member', params: ProjectItemParams, handle: async ({ params }) => {
      await deleteTicket(ctx, params.pid, params.tid)
      return new Reply(204)
    } }),
    route({
      // Replaces the tickets this one waits for (services/ticket-dependencies.ts); 400 for a cycle.
      method: 'PUT', path: `${TICKET}/blockers`, access: 'member', params: ProjectItemParams, body: TicketBlockers,
      handle: ({ params, body, caller }) => setBlockers(ctx, params.pid, params.tid, body.blocked_by, actorOf(caller)),
    }),
    route({ method: 'POST', path: `${TICKET}/run`, access: 'member', params: ProjectItemParams, handle: async ({ params, caller }) =>
      new Reply(201, await runTicket(ctx, params.pid, params.tid, actorOf(caller))) }),
    route({ method: 'POST', path: `${TICKET}/cancel`, access: 'member', params: ProjectItemParams, handle: ({ params, caller }) =>
      cancelTicket(ctx, params.pid, params.tid, actorOf(caller)) }),
    route({
      method: 'GET', path: `${TICKET}/logs`, access: 'viewer', params: ProjectItemParams, query: LogsQuery,
      handle: async ({ params, query }) => {
        await getTicket(ctx.sql, params.pid, params.tid)
        return listTicketEvents(ctx.sql, params.tid, query.after, query.limit, query.job_id)
      },
    }),

    // Agent endpoints (job token or worker key).
    route({ method: 'GET', path: `${TICKET}/worker-context`, access: 'agent', params: ProjectItemParams, handle: async ({ params, caller }) =>
      workerContext(ctx, params.pid, params.tid, caller.job ? await getJob(ctx.sql, caller.job.jobId) : undefined) }),
    route({
      // afterCancel: the agent of a cancelled job still says that it stopped.
      method: 'POST', path: `${TICKET}/logs`, access: 'agent', afterCancel: true, params: ProjectItemParams, body: LogsPost,
      handle: async ({ params, body, caller }) => {
        const batch = 'events' in body ? body : { job_id: undefined, events: [body] }
        const job = await jobOf(wholeJob, caller, params.pid, params.tid, batch.job_id)
        const events = await appendJobEvents(ctx, job, batch.events)
        return new Reply(201, { seqs: events.map((event) => event.seq) })
      },
    }),
    route({
      method: 'POST', path: `${TICKET}/complete`, access: 'agent', params: ProjectItemParams, body: TicketComplete,
      handle: async ({ params, body, caller }) => {
        const job = await jobOf(wholeJob, caller, params.pid, params.tid, body.job_id)
        // A cancelled job's agent must not move the ticket on (its token outlives the job).
        if (job.cancel_requested || job.status === 'cancelled') throw conflict(`job ${job.id} was cancelled; the ticket stays where it is`)
        // The PR is the job's own (services/job-pull.ts), whatever number or link the agent sends.
        const pull = await completedJobPull(ctx, job, body)
        return completeTicket(ctx, params.pid, params.tid, { ...body, ...pull, job_id: job.id })
      },
    }),
    route({
      method: 'GET', path: `${TICKET}/cancel-requested`, access: 'agent', afterCancel: true, params: ProjectItemParams,
      handle: async ({ params, caller }) => {
        // The agent's confirmation that the job is still its own (leaseOf: one statement).
        const job = await jobOf(leaseOf, caller, params.pid, params.tid)
        return {
          cancel_requested: job.cancel_requested || job.status === 'cancelled', job_id: job.id, status: job.status, attempt: job.attempt,
          lease_expires_at: job.lease_expires_at ?? null, now: job.now, lease_sec: ctx.config.JOB_LEASE_SEC,
        }
      },
    }),

    // Notes.
    route({ method: 'GET', path: '/api/projects/:id/notes', access: 'viewer', params: ProjectParams, handle: async ({ params }) => {
      await getProject(ctx.sql, params.id)
      return listNotes(ctx.sql, params.id)
    } }),
    route({
      method: 'POST', path: '/api/projects/:id/notes', access: 'member', params: ProjectParams, body: NoteCreate,
      handle: async ({ params, body }) => new Reply(201, await createNote(ctx, params.id, body)),
    }),
    route({
      method: 'PATCH', path: '/api/projects/:pid/notes/:nid', access: 'member', params: NoteParams, body: NotePatch,
      handle: ({ params, body }) => updateNote(ctx, params.pid, params.nid, body),
    }),
    route({ method: 'DELETE', path: '/api/projects/:pid/notes/:nid', access: 'member', params: NoteParams, handle: async ({ params }) => {
      await deleteNote(ctx, params.pid, params.nid)
      return new Reply(204)
    } }),
  ]
}
