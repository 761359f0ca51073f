/**
 * The coordinator's HTTP client of the app (DESIGN.md §5 worker API), on the built-in fetch.
 * Every failure is a `ClientError`: `status` 0 when the app did not answer (unreachable, timeout),
 * else the HTTP status with the app's error `code` (e.g. 409 `lease_lost`).
 */
import type { CoordinatorReport } from '../services/coordinators.ts'
import type { PathCheckRequest } from '../services/path-checks.ts'
import type { ContainerLimits } from '../container-limits.ts'
import type { JobKind, ExecutionMode } from '../types.ts'
import type { JobReason } from '../services/job-reason.ts'

/** The claim answer (runbook fields; more may be present). */
export interface ClaimedJob {
  job_id: number
  ticket_id: number | null
  project_id: number
  kind: JobKind
  repo_url: string | null
  default_branch?: string | null
  execution_mode: ExecutionMode
  project_path: string | null
  attempt: number
  /** Which claim of the job this is: every bound call about this run names it (the app refuses one that does not). */
  claim_seq: number
  max_attempts?: number
  lease_sec?: number
  agent_token: string
  pr_number?: number | null
  comment_body?: string | null
  github_comment_id?: number | string | null
}

export interface OutputEvent {
  step: string
  summary: string
  raw_output?: string
}

/** `GET /api/worker/settings`: the app settings MAX_CONCURRENT_AGENTS (null when unset) and the container limits it has. */
export interface WorkerSettings {
  maxConcurrent: number | null
  limits: Partial<ContainerLimits>
}

export class ClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'ClientError'
  }
}

export const isClientError = (error: unknown, status?: number): error is ClientError =>
  error instanceof ClientError && (status === undefined || error.status === status)

export interface WorkerClientOptions {
  apiUrl: string
  /** The worker key or a coordinator token: the worker API is never anonymous. */
  workerKey?: string
  coordinatorId: string
  /** Per-request timeout for everything but the long-poll claim. Default 15 s. */
  timeoutMs?: number
}

export interface ClaimRequest {
  projectIds: number[] | null
  waitMs: number
  executor: string
  signal?: AbortSignal
}

export interface WorkerClient {
  claim(request: ClaimRequest): Promise<ClaimedJob | null>
  /** `claimSeq`, here and in the bodies: the claim the call is about (a call about an ended claim is 409). */
  heartbeat(jobId: number, claimSeq: number): Promise<{ cancel_requested: boolean }>
  complete(jobId: number, body: { claim_seq: number; exit_code: number; output_tail: string }): Promise<unknown>
  fail(jobId: number, body: { claim_seq: number; exit_code?: number; error: string; output_tail: string; reason?: JobReason }): Promise<unknown>
  /** Appends events to the job's ticket log with the job's own token. */
  postEvents(job: ClaimedJob, events: OutputEvent[]): Promise<void>
  /** Hands a running job back to the queue at once (graceful shutdown). */
  release(jobId: number, claimSeq: number): Promise<void>
  /** Queues a job whose run lost its place (node down, pod evicted) again; fails it after its last attempt. */
  requeue?(jobId: number, body: { claim_seq: number; reason: string; output_tail: string }): Promise<void>
  /** Records the executor a job really runs on (`local` after a host fallback) and why. */
  recordExecutor(jobId: number, body: { claim_seq: number; executor: string; fallback_reason?: string }): Promise<void>
  /** What the app's settings say to coordinators (no secret is among them); throws when refused. */
  readSettings(): Promise<WorkerSettings>
  /** Hands the coordinator's GITHUB_TOKEN to the app (stored encrypted there; agents never get it). */
  handForgeToken(token: string, projectIds: number[] | null): Promise<void>
  /** Reports this coordinator to the app's registry (report.ts). */
  report(body: CoordinatorReport): Promise<void>
  /** Local path checks asked at save, for the projects this credential and `projectIds` (PROJECT_IDS; null: all) serve (path-checks.ts). */
  pathChecks?(projectIds?: number[] | null): Promise<PathCheckRequest[]>
  /** Answers one: `problem` in words, or null when the agent can work at the path; `project_ids`: the coordinator's PROJECT_IDS. */
  answerPathCheck?(id: number, body: { host: string; problem: string | null; project_ids?: number[] }): Promise<void>
}

export function createWorkerClient(options: WorkerClientOptions): WorkerClient {
  const { apiUrl, coordinatorId } = options
  const timeoutMs = options.timeoutMs ?? 15000
  const workerAuth: Record<string, string> = options.workerKey ? { authorization: `Bearer ${options.workerKey}` } : {}

  async function request<T>(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ status: number; body: T }> {
    const timeout = AbortSignal.timeout(init.timeoutMs ?? timeoutMs)
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout
    let response: Response
    try {
      response = await fetch(apiUrl + path, {
        method,
        headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal,
      })
    } catch (error) {
      const reason = timeout.aborted ? 'timed out' : init.signal?.aborted ? 'aborted' : ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message
      throw new ClientError(0, init.signal?.aborted ? 'aborted' : 'unreachable', `${method} ${path}: ${reason}`, error)
    }
    const text = await response.text().catch(() => '')
    let body: unknown = null
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      body = text
    }
    if (response.status >= 400) {
      const error = (body as { error?: { code?: string; message?: string } } | null)?.error
      throw new ClientError(response.status, error?.code ?? `http_${response.status}`, `${method} ${path}: ${response.status} ${error?.message ?? String(text).slice(0, 200)}`)
    }
    return { status: response.status, body: body as T }
  }

  return {
    async claim({ projectIds, waitMs, executor, signal }) {
      const body: Record<string, unknown> = { coordinator_id: coordinatorId, executor, wait_ms: Math.round(waitMs) }
      if (projectIds) body.project_ids = projectIds
      const answer = await request<ClaimedJob>('POST', '/api/worker/jobs/start', {
        body, headers: workerAuth, timeoutMs: waitMs + timeoutMs, ...(signal ? { signal } : {}),
      })
      return answer.status === 200 ? answer.body : null
    },
    async heartbeat(jobId, claimSeq) {
      return (await request<{ cancel_requested: boolean }>('POST', `/api/worker/jobs/${jobId}/heartbeat`, { body: { coordinator_id: coordinatorId, claim_seq: claimSeq }, headers: workerAuth })).body
    },
    async complete(jobId, body) {
      return (await request('POST', `/api/worker/jobs/${jobId}/complete`, { body: { coordinator_id: coordinatorId, ...body }, headers: workerAuth })).body
    },
    async fail(jobId, body) {
      return (await request('POST', `/api/worker/jobs/${jobId}/fail`, { body: { coordinator_id: coordinatorId, ...body }, headers: workerAuth })).body
    },
    async recordExecutor(jobId, body) {
      await request('POST', `/api/worker/jobs/${jobId}/executor`, { body: { coordinator_id: coordinatorId, ...body }, headers: workerAuth })
    },
    async postEvents(job, events) {
      if (job.ticket_id === null || events.length === 0) return
      await request('POST', `/api/projects/${job.project_id}/tickets/${job.ticket_id}/logs`, {
        body: { job_id: job.job_id, events },
        headers: { authorization: `Bearer ${job.agent_token}` },
      })
    },
    async release(jobId, claimSeq) {
      await request('POST', `/api/worker/jobs/${jobId}/release`, { body: { coordinator_id: coordinatorId, claim_seq: claimSeq }, headers: workerAuth })
    },
    async requeue(jobId, body) {
      await request('POST', `/api/worker/jobs/${jobId}/requeue`, { body: { coordinator_id: coordinatorId, ...body }, headers: workerAuth })
    },
    async readSettings() {
      const { body } = await request<{ max_concurrent_agents: number | null; container_limits?: Record<string, number | null> }>('GET', '/api/worker/settings', { headers: workerAuth })
      const limits: Partial<ContainerLimits> = {}
      // An app from before container limits were settings sends none: the coordinator's own apply.
      for (const [field, name] of [['memoryBytes', 'memory_bytes'], ['cpus', 'cpus'], ['pidsLimit', 'pids_limit']] as const) {
        const value = body.container_limits?.[name]
        if (typeof value === 'number' && value >= 0) limits[field] = value
      }
      return { maxConcurrent: body.max_concurrent_agents, limits }
    },
    async handForgeToken(token, projectIds) {
      await request('POST', '/api/worker/forge-token', { body: { coordinator_id: coordinatorId, token, project_ids: projectIds }, headers: workerAuth })
    },
    async report(body) {
      await request('POST', '/api/worker/coordinators/report', { body: { coordinator_id: coordinatorId, ...body }, headers: workerAuth })
    },
    async pathChecks(projectIds) {
      const query = projectIds ? `?project_ids=${projectIds.join(',')}` : ''
      return (await request<{ checks: PathCheckRequest[] }>('GET', `/api/worker/path-checks${query}`, { headers: workerAuth })).body.checks
    },
    async answerPathCheck(id, body) {
      await request('POST', `/api/worker/path-checks/${id}`, { body: { coordinator_id: coordinatorId, ...body }, headers: workerAuth })
    },
  }
}
