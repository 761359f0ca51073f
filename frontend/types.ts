/** The wire shapes the UI reads, taken from core (type-only imports: nothing of core is bundled). */
import type { Job, JobStatus, Ticket } from '../core/types.ts'
import type { SettingView, SettingsProblem } from '../core/services/settings.ts'
import type { JobReasonFields } from '../core/services/job-reason.ts'

export type {
  Board, Column, ColumnRole, ExecutionMode, Graph, GraphEdge, GraphNode, Job, JobEvent, JobStatus, Note, Priority, Project,
} from '../core/types.ts'
export type { SettingView, SettingsProblem }

/** The latest job of a ticket as the board and `job.updated` events carry it. */
export interface JobSummary {
  job_id: number
  ticket_id: number | null
  kind?: string
  status: JobStatus
  attempt: number
  error: string | null
  cancel_requested: boolean
  /** Why it ended failed or cancelled (absent from summaries of older apps). */
  reason_kind?: JobReasonFields['reason_kind']
  reason?: string | null
  reason_event_id?: number | null
  reason_fix?: JobReasonFields['reason_fix']
}

export type TicketView = Ticket & { job: JobSummary | null }

export interface SettingsCheck {
  ok: boolean
  problems: SettingsProblem[]
}

export const ACTIVE: JobStatus[] = ['pending', 'running']
export const isActive = (job: Pick<Job, 'status'> | JobSummary | null | undefined): boolean => !!job && ACTIVE.includes(job.status)

/** A tracked pull request as `GET /api/projects/:id/review` lists it. */
export type PrState = 'open' | 'closed' | 'merged'
export interface ReviewPr {
  id: number
  ticket_id: number
  ticket_title: string
  /** The ticket's per-project number (shown as `KEY-N`). */
  ticket_number?: number
  column_id: string
  repo: string | null
  number: number
  url: string | null
  title: string | null
  state: PrState
  approved: boolean
  tracking: boolean
  last_error: string | null
  updated_at: string
  comments: { total: number; queued: number; in_progress: number; addressed: number; ignored: number; failed: number; undecided: number }
}

/** What the app did, or is doing, about a PR comment. */
export type ReviewCommentStatus = 'not_stored' | 'ignored' | 'addressed' | 'failed' | 'undecided' | 'in_progress' | 'queued'
export interface ReviewComment {
  id: number
  kind: string
  author: string | null
  body: string
  created_at: string
  html_url: string | null
  path: string | null
  line: number | null
  review_state: string | null
  status: ReviewCommentStatus
  ignored_reason: string | null
  job_id: number | null
  error: string | null
}

/** `GET /api/projects/:pid/tickets/:tid/review`: the ticket's PR read live from its forge. */
export interface TicketReview {
  ticket_id: number
  /** The project's forge kind: `github`, `gitlab`, `gitea`. */
  forge: string
  pr: Omit<ReviewPr, 'ticket_title' | 'column_id' | 'comments'>
  github: {
    number: number; title: string; body: string | null; state: string; merged: boolean; draft: boolean
    mergeable: boolean | null; mergeable_state: string | null; html_url: string; head: string | null; base: string | null; author: string | null
  }
  commits: { sha: string; message: string; author: string | null; date: string | null; html_url: string | null }[]
  files: { filename: string; status: string; additions: number; deletions: number; changes: number }[]
  comments: ReviewComment[]
}
