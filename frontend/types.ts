/** The wire shapes the UI reads, taken from core (type-only imports: nothing of core is bundled). */
import type { Job, JobStatus, Ticket } from '../core/types.ts'
import type { SettingView, SettingsProblem } from '../core/services/settings.ts'

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
}

export type TicketView = Ticket & { job: JobSummary | null }

export interface SettingsCheck {
  ok: boolean
  problems: SettingsProblem[]
}

export const ACTIVE: JobStatus[] = ['pending', 'running']
export const isActive = (job: Pick<Job, 'status'> | JobSummary | null | undefined): boolean => !!job && ACTIVE.includes(job.status)
