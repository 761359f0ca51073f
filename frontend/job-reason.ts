/**
 * Why a job ended, as the card, the ticket header and the Jobs pages show it: the class, the plain
 * reason, a link to the log line it came from (the ticket's Activity, scrolled to and highlighted)
 * and, where the cause has one, a link to the fix (the settings field, the project form). A person's
 * Stop is neutral, not red. Jobs from before reasons existed show their error.
 */
import { css, html, nothing } from 'lit'
import type { FixTarget, ReasonKind } from '../core/services/job-reason.ts'
import type { JobStatus } from './types.ts'

/** The fields of a job (or a board card's job summary) the reason is drawn from. */
export interface ReasonSource {
  status: JobStatus
  error: string | null
  reason_kind?: ReasonKind | null
  reason?: string | null
  reason_event_id?: number | null
  reason_fix?: FixTarget | null
}

export const REASON_LABEL: Record<ReasonKind, string> = {
  setup: 'Setup',
  worker: 'Worker',
  git: 'Git',
  forge: 'GitHub',
  budget: 'Budget',
  cancelled: 'Cancelled',
  config: 'Settings',
  internal: 'Error',
}

const FIELD_LABEL: Record<string, string> = { repo_url: 'repository URL', project_path: 'local path', default_branch: 'default branch' }

/** Where the log line of a ticket's job event is: the ticket's Activity, highlighting it. */
export const logHref = (projectId: number, ticketId: number, eventId: number) => `/projects/${projectId}/tickets/${ticketId}?event=${eventId}`

/** Where a fix is made: the settings field, or the project's form opened on the field. */
export function fixLink(fix: FixTarget, projectId: number): { href: string; label: string } {
  return fix.kind === 'setting'
    ? { href: `/settings#s-${fix.key}`, label: `Fix in Settings (${fix.key})` }
    : { href: `/projects/${projectId}?edit=${fix.field}`, label: `Fix the project's ${FIELD_LABEL[fix.field] ?? fix.field}` }
}

/** A finished job's reason, or null when there is none to show (it succeeded, or is still running). */
export function reasonOf(job: ReasonSource | null | undefined): { kind: ReasonKind; text: string; neutral: boolean } | null {
  if (!job || (job.status !== 'failed' && job.status !== 'cancelled')) return null
  const kind = job.reason_kind ?? (job.status === 'cancelled' ? 'cancelled' : 'internal')
  const text = job.reason ?? job.error ?? (job.status === 'cancelled' ? 'Stopped' : 'Failed')
  return { kind, text, neutral: kind === 'cancelled' }
}

export interface ReasonPlace {
  projectId: number
  ticketId: number | null
  /** Without links (the card links its line to the log as a whole). */
  plain?: boolean
}

/** The reason line: `<div class="reason">` with the class chip, the text and its links. */
export function reasonLine(job: ReasonSource | null | undefined, place: ReasonPlace) {
  const reason = reasonOf(job)
  if (!reason) return nothing
  const log = place.ticketId !== null && job!.reason_event_id ? logHref(place.projectId, place.ticketId, job!.reason_event_id) : null
  const fix = job!.reason_fix ? fixLink(job!.reason_fix, place.projectId) : null
  return html`<div class="reason ${reason.neutral ? 'neutral' : 'danger'}" data-reason-kind=${reason.kind}>
    <span class="reason-kind">${REASON_LABEL[reason.kind]}</span><span class="reason-text" title=${reason.text}>${reason.text}</span>
    ${place.plain ? nothing : html`${log ? html`<a class="reason-link" href=${log}>Show in log</a>` : nothing}
      ${fix ? html`<a class="reason-link fix" href=${fix.href}>${fix.label}</a>` : nothing}`}
  </div>`
}

export const reasonStyles = css`
  .reason { font-size: 12.5px; line-height: 1.5; min-width: 0; overflow-wrap: anywhere; }
  .reason-kind {
    display: inline-block; margin-right: 6px; font-size: 10.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
    padding: 0 6px; border-radius: 4px; vertical-align: 1px;
  }
  .reason.danger { color: var(--danger); }
  .reason.danger .reason-kind { background: var(--danger-soft); }
  .reason.neutral { color: var(--text-2); }
  .reason.neutral .reason-kind { background: var(--surface-2); color: var(--text-2); }
  .reason-link { font-size: 12px; color: var(--accent); white-space: nowrap; margin-left: 8px; }
`
