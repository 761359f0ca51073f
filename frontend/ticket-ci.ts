/**
 * A ticket's CI as the app followed it (docs/ci-fix.md, `GET …/tickets/:tid/ci`): on the ticket view,
 * a badge with where the request's checks stand (passed, being fixed in round N of M, stopped at
 * the cap, never started) and, opened, every record newest first with its reason and failing
 * checks. Re-read on each `ci.updated` event of the ticket (live-controller.ts).
 */
import { css, html, LitElement, nothing } from 'lit'
import { api } from './api.ts'
import { LiveController } from './live-controller.ts'
import { prHref } from './pr-link.ts'

interface CiRound {
  id: number
  sha: string
  round: number | null
  outcome: string
  reason: string | null
  job_id: number | null
  job_status: string | null
  failing: { name: string; state: string; summary: string | null; details_url: string | null }[]
  created_at: string
}
interface TicketCi { max_rounds: number; rounds_used: number; exhausted: boolean; rounds: CiRound[] }

const LOOK: Record<string, { label: string; cls: string }> = {
  waiting: { label: 'CI running', cls: '' },
  passed: { label: 'CI passed', cls: 'success' },
  fixing: { label: 'CI failed: fixing', cls: 'warning' },
  fixed: { label: 'CI fix pushed', cls: '' },
  fix_failed: { label: 'CI fix failed', cls: 'danger' },
  exhausted: { label: 'CI still failing: fix rounds used up', cls: 'danger' },
  not_started: { label: 'CI never started', cls: 'warning' },
  skipped: { label: 'CI not fixed by the agent', cls: '' },
}

export class TicketCiElement extends LitElement {
  static override properties = { projectId: { type: Number }, ticketId: { type: Number }, ci: { state: true }, open: { state: true } }
  declare projectId: number
  declare ticketId: number
  declare ci: TicketCi | null
  declare open: boolean

  static override styles = css`
    :host { display: contents; }
    .badge { display: inline-flex; align-items: center; gap: 4px; font-size: 12px; padding: 2px 8px; border-radius: 999px; background: var(--surface-2, #f2f2f2); border: 0; cursor: pointer; font: inherit; font-size: 12px; color: inherit; }
    .badge.success { color: var(--success); background: var(--success-soft); }
    .badge.warning { color: var(--warning); background: var(--warning-soft); }
    .badge.danger { color: var(--danger); background: var(--danger-soft); }
    ol { flex-basis: 100%; margin: 4px 0 0; padding-left: 18px; font-size: 12px; }
    li { margin: 2px 0; }
    code { font-size: 11px; }
    .faint { opacity: .7; }
  `

  constructor() {
    super()
    this.ci = null
    this.open = false
    new LiveController(this, {
      project: () => this.projectId ?? null,
      subject: () => `${this.projectId}/${this.ticketId}`,
      reset: () => {
        this.reads++
        this.ci = null
      },
      load: () => this.load(),
      onEvent: (type, data) => {
        if (type === 'ci.updated' && data?.ticket_id === this.ticketId) void this.load()
      },
    })
  }

  /** Each `ci.updated` starts a read; only the newest read's answer is shown (an older one may arrive last). */
  private reads = 0

  private async load(): Promise<void> {
    if (!this.projectId || !this.ticketId) return
    const read = ++this.reads
    let ci: TicketCi | null
    try {
      ci = await api.get<TicketCi>(`/api/projects/${this.projectId}/tickets/${this.ticketId}/ci`)
    } catch {
      // A ticket the reader cannot see, or an app without the route: no badge.
      ci = null
    }
    if (read === this.reads) this.ci = ci
  }

  override render() {
    const latest = this.ci?.rounds[0]
    if (!this.ci || !latest) return nothing
    const look = LOOK[latest.outcome] ?? { label: latest.outcome, cls: '' }
    const rounds = latest.round ?? this.ci.rounds_used
    const count = this.ci.max_rounds ? ` · round ${rounds} of ${this.ci.max_rounds}` : ''
    return html`<button class="badge ${look.cls}" data-testid="ticket-ci" aria-expanded=${this.open ? 'true' : 'false'}
        title=${latest.reason ?? look.label} @click=${() => (this.open = !this.open)}>${look.label}${rounds ? count : ''}</button>
      ${this.open ? html`<ol data-testid="ticket-ci-rounds">${this.ci.rounds.map((r) => html`<li>
        <strong>${(LOOK[r.outcome] ?? { label: r.outcome }).label}</strong> <code>${r.sha.slice(0, 10)}</code>
        ${r.reason ? html`<span>: ${r.reason}</span>` : nothing}
        ${r.failing.length ? html`<div class="faint">${r.failing.map((c, i) => html`${i ? ', ' : ''}${prHref(c.details_url) ? html`<a href=${prHref(c.details_url)!} target="_blank" rel="noopener">${c.name}</a>` : c.name}${c.summary ? ` (${c.summary})` : ''}`)}</div>` : nothing}
      </li>`)}</ol>` : nothing}`
  }
}

customElements.define('ta-ticket-ci', TicketCiElement)
