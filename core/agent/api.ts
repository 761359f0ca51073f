/**
 * The agent's client of the app: the ticket endpoints and forge actions an agent may call with its
 * job token (DESIGN.md §5), and the URL of its repository on the app's git relay. Transient
 * failures (network, 429, 5xx) are retried with backoff; a 4xx answer is final and raised as an
 * `app` AgentError carrying the app's error message.
 */
import type { Graph, GraphEdge, GraphNode, JobEventInput, Note, Project, Ticket, Usage } from '../types.ts'
import { agentError } from './errors.ts'

/** What GET …/worker-context answers (core/services/worker-context.ts). */
export interface WorkerContext {
  project: Project
  repo_url: string | null
  graph: Graph
  ticket: Ticket & {
    column: { id: string; title: string; role: string } | null
    related_nodes: GraphNode[]
    related_edges: (GraphEdge & { source_label: string; target_label: string })[]
  }
  notes: Note[]
  neighbouring_tickets: { id: number; number?: number; title: string; column_id: string; priority: string }[]
  settings: Record<string, string>
  /** Review jobs: the PR as the forge has it now, and the comment to address; null for ticket jobs. */
  review: {
    pr: { number: number; url: string; title: string; state: string; head_branch: string; head_sha: string; base_branch: string; same_repo: boolean }
    comment: { body: string; github_comment_id: number | null }
  } | null
  /** CI-fix jobs: the request, and the round's failing checks (bounded and redacted by the app); null otherwise. */
  ci_fix?: {
    pr: { number: number; url: string; title: string; state: string; head_branch: string; head_sha: string; base_branch: string; same_repo: boolean }
    round: number
    max_rounds: number | null
    sha: string
    failing: { name: string; state: string; summary: string | null; details_url: string | null; excerpt: string | null }[]
  } | null
  /** Project memories recalled for this ticket by the agent (not part of the app's answer). */
  memories?: RecalledMemory[]
}

/** A memory document the project's memory returned for the ticket (POST …/memory/retrieve). */
export interface RecalledMemory {
  id: number
  kind: string
  title: string
  content: string
  score: number
}

export interface TicketCompletion {
  pr_url?: string | null
  pr_number?: number | null
  summary?: string | null
  usage?: Usage | null
}

/** The pull request of the job's branch, as the app opened or found it (POST …/forge/pull). */
export interface OpenedPull {
  number: number
  url: string
  /** False: the branch's open PR already existed (a continued branch). */
  created: boolean
}

/** What GET …/cancel-requested answers. The lease fields are absent from older apps. */
export interface JobState {
  cancel_requested: boolean
  job_id?: number
  status?: string
  attempt?: number
  /** When the lease runs out unless the coordinator heartbeats (ISO time), and the app's clock now. */
  lease_expires_at?: string | null
  now?: string
  lease_sec?: number
}

export interface AppClient {
  workerContext(signal?: AbortSignal): Promise<WorkerContext>
  /** Appends job events in order; one call may carry up to 500. */
  postEvents(events: JobEventInput[]): Promise<void>
  complete(body: TicketCompletion): Promise<void>
  /** The job as the app sees it now (its cancel, status, attempt and lease); a refused token throws with `status` 401/403. */
  cancelRequested(signal?: AbortSignal): Promise<JobState>
  /** The project's memories closest to `query`, best first. */
  recall(query: string, k: number, signal?: AbortSignal): Promise<{ mode: string; results: RecalledMemory[] }>
  /** Ticket jobs: the app opens (or finds) the PR of `ticket-<id>` into `base`; the agent holds no forge token. */
  openPullRequest(fields: { title: string; body: string; base: string; draft?: boolean }): Promise<OpenedPull>
  /** Review jobs: the app replies on the job's PR (with the reply marker). */
  replyOnPull(body: string): Promise<{ id: number; url: string }>
  /** Review jobs: marks the comment addressed; false when the app does not track it (404). */
  markAddressed(githubCommentId: number): Promise<boolean>
}

export interface AppClientOptions {
  apiUrl: string
  /** The job token or the worker key, sent as `Authorization: Bearer`. */
  token: string
  projectId: number
  ticketId: number
  jobId?: number
  /** Attempts for a transient failure; default 4 (waits 0.5, 1, 2 s between them). */
  attempts?: number
  timeoutMs?: number
}

export function createAppClient(options: AppClientOptions): AppClient {
  const base = `${options.apiUrl.replace(/\/+$/, '')}/api/projects/${options.projectId}/tickets/${options.ticketId}`
  const attempts = options.attempts ?? 4
  const timeoutMs = options.timeoutMs ?? 30000
  const withJob = <T extends object>(body: T) => (options.jobId ? { ...body, job_id: options.jobId } : body)

  async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, tries = attempts): Promise<T> {
    let lastError: unknown
    for (let attempt = 1; attempt <= tries; attempt++) {
      try {
        const res = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${options.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        })
        const text = await res.text()
        if (res.ok) return (text ? JSON.parse(text) : null) as T
        const message = appMessage(text) ?? `HTTP ${res.status}`
        lastError = Object.assign(agentError('app', `${method} ${path || 'ticket'}: ${res.status} ${message}`), { status: res.status })
        if (res.status < 500 && res.status !== 429) throw lastError
      } catch (error) {
        if (signal?.aborted) throw error
        if (error === lastError) throw error
        lastError = agentError('app', `${method} ${path}: ${(error as Error).message}`, error)
      }
      if (attempt < tries) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)))
    }
    throw lastError
  }

  return {
    workerContext: (signal) => call<WorkerContext>('GET', '/worker-context', undefined, signal),
    postEvents: async (events) => void (await call('POST', '/logs', withJob({ events }))),
    complete: async (body) => void (await call('POST', '/complete', withJob(body))),
    recall: (query, k, signal) => call('POST', '/memory/retrieve', { query, k }, signal),
    async markAddressed(githubCommentId) {
      try {
        await call('POST', '/review/addressed', { github_comment_id: githubCommentId })
        return true
      } catch (error) {
        if ((error as { status?: number }).status === 404) return false
        throw error
      }
    },
    // Opening is safe to retry (the app finds the branch's open PR first); a reply is not.
    openPullRequest: (fields) => call<OpenedPull>('POST', '/forge/pull', fields),
    replyOnPull: (body) => call<{ id: number; url: string }>('POST', '/forge/reply', { body }, undefined, 1),
    cancelRequested: (signal) => call<JobState>('GET', '/cancel-requested', undefined, signal),
  }
}

function appMessage(text: string): string | undefined {
  try {
    return JSON.parse(text)?.error?.message
  } catch {
    return text.slice(0, 200) || undefined
  }
}

/**
 * The job's repository on the app's git relay (core/api/relay-git.ts), from TERARCHITECT_API_URL
 * (so the executors' URL rewriting for containers applies to it too).
 */
export function gitRelayUrl(apiUrl: string, projectId: number, ticketId: number): string {
  return `${apiUrl.replace(/\/+$/, '')}/api/relay/git/${projectId}/${ticketId}/repo.git`
}
