/**
 * `<ta-ticket-view>`: the ticket drawer over the board. Activity (the live log), Details (editable
 * fields and links), Jobs (history with errors and usage) and, once it has a pull request, Review
 * (the PR, its comments, commenting and merging); Run, Stop, Retry and the PR link.
 * Esc closes it and focus returns to the ticket's card.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, errorText } from './api.ts'
import { confirmDialog } from './confirm-dialog.ts'
import { ticketLabel } from './format.ts'
import { icons } from './icons.ts'
import { stopTicketJob } from './job-stop.ts'
import { LiveController } from './live-controller.ts'
import { denied } from './session.ts'
import { prHref } from './pr-link.ts'
import { onRoute } from './router.ts'
import { shared, STATUS_LOOK } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import { isActive, type Column, type Job, type Project, type TicketView } from './types.ts'
import { reasonLine, reasonStyles } from './job-reason.ts'
import { lazy } from './lazy.ts'
import './job-log.ts'
import './job-history.ts'
import './ticket-details.ts'
import './ticket-issue.ts'
import './ticket-ci.ts'
import { blockerLines } from './ticket-blockers.ts'

type Tab = 'activity' | 'details' | 'jobs' | 'review'
const TAB_LABEL: Record<Tab, string> = { activity: 'Activity', details: 'Details', jobs: 'Jobs', review: 'Review' }

export class TicketViewElement extends LitElement {
  static override properties = {
    project: { attribute: false },
    ticketId: { type: Number },
    ticket: { attribute: false },
    columns: { attribute: false },
    runBlocker: { attribute: false },
    loaded: { state: true },
    jobs: { state: true },
    tab: { state: true },
    error: { state: true },
    busy: { state: true },
    highlight: { state: true },
  }
  declare project: Project
  declare ticketId: number
  /** The board's copy (kept live by the board); `loaded` covers a direct link before the board has it. */
  declare ticket: TicketView | null
  declare columns: Column[]
  declare runBlocker: string | null
  declare loaded: TicketView | null
  declare jobs: Job[] | null
  declare tab: Tab | null
  declare error: string
  declare busy: boolean
  /** A log event to scroll to and mark (`?event=<seq>`: a job reason's "Show in log"). */
  declare highlight: number | null
  private stopRoute?: () => void
  private live = new LiveController(this, {
    project: () => this.project.id,
    subject: () => this.ticketId,
    onEvent: (type, data) => {
      if (type === 'job.updated' && data.ticket_id === this.ticketId) this.scheduleJobs()
      if (type === 'ticket.updated' && data.ticket?.id === this.ticketId) this.loaded = data.ticket
      if (type === 'ticket.deleted' && data.ticket_id === this.ticketId) {
        notify('This ticket was deleted', 'info')
        this.close()
      }
    },
    reset: () => {
      this.loaded = null
      this.jobs = null
      this.tab = null
      this.error = ''
    },
    load: () => this.load(),
    loadAtOnce: true,
  })
  private refreshTimer = 0

  static override styles = [shared, reasonStyles, css`
    :host { position: absolute; inset: 0; z-index: 20; display: flex; justify-content: flex-end; }
    .scrim { position: absolute; inset: 0; background: rgba(10, 14, 22, .18); animation: fade .15s; }
    aside {
      position: relative; width: min(760px, 100%); height: 100%; background: var(--surface); border-left: 1px solid var(--border);
      box-shadow: var(--shadow-3); display: flex; flex-direction: column; animation: slide .18s ease-out;
    }
    header { padding: 16px 20px 0; border-bottom: 1px solid var(--border); }
    .top { display: flex; align-items: flex-start; gap: 10px; }
    .top h2 { flex: 1; font-size: 18px; line-height: 1.3; overflow-wrap: anywhere; }
    .tid { color: var(--text-3); font-weight: 500; margin-right: 4px; }
    .meta { display: flex; align-items: center; gap: 8px; margin: 8px 0 12px; flex-wrap: wrap; }
    .tabs { display: flex; gap: 2px; }
    .tab { background: none; border: 0; padding: 8px 12px 10px; font: 500 13px var(--font); color: var(--text-2); cursor: pointer; border-bottom: 2px solid transparent; margin-bottom: -1px; }
    .tab[aria-selected='true'] { color: var(--text); border-bottom-color: var(--accent); }
    .tab .n { color: var(--text-3); margin-left: 3px; }
    .body { flex: 1; overflow: auto; padding: 16px 20px 24px; }
    .error-box { margin-bottom: 12px; }
    .prio { text-transform: capitalize; }
    @keyframes slide { from { transform: translateX(24px); opacity: 0; } }
    @keyframes fade { from { opacity: 0; } }
    @media (prefers-reduced-motion: reduce) { aside, .scrim { animation: none; } }
  `]

  constructor() {
    super()
    this.ticket = null
    this.columns = []
    this.runBlocker = null
    this.loaded = null
    this.jobs = null
    this.tab = null
    this.error = ''
    this.busy = false
    this.highlight = null
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.readHighlight()
    this.stopRoute = onRoute(() => this.readHighlight())
    window.addEventListener('keydown', this.onKey)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.stopRoute?.()
    window.removeEventListener('keydown', this.onKey)
  }

  protected override firstUpdated(): void {
    this.renderRoot.querySelector<HTMLElement>('aside')?.focus()
  }

  private readHighlight() {
    this.highlight = Number(new URLSearchParams(location.search).get('event')) || null
    if (this.highlight) this.tab = 'activity'
  }

  private get current(): TicketView | null {
    return this.ticket ?? this.loaded
  }

  private async load() {
    try {
      const [ticket] = await Promise.all([
        api.get<TicketView>(`/api/projects/${this.project.id}/tickets/${this.ticketId}`),
        this.loadJobs(),
      ])
      this.loaded = ticket
    } catch (error) {
      this.error = errorText(error)
    }
  }

  /** The ticket's jobs (the API lists a project's jobs; this ticket's are picked out). */
  private async loadJobs() {
    const jobs = await api.get<Job[]>(`/api/projects/${this.project.id}/jobs?limit=500`)
    this.jobs = jobs.filter((job) => job.ticket_id === this.ticketId)
  }

  private scheduleJobs() {
    clearTimeout(this.refreshTimer)
    this.refreshTimer = window.setTimeout(() => void this.loadJobs().catch(() => {}), 150)
  }

  /** Esc closes the drawer wherever focus is (a click on a button that went away leaves it on the body), but not a dialog above it. */
  private onKey = (event: KeyboardEvent) => {
    if (event.key !== 'Escape' || event.defaultPrevented) return
    if ((event.composedPath() as HTMLElement[]).some((node) => node.tagName === 'DIALOG' || node.tagName === 'TA-CONFIRM')) return
    if (document.querySelector('ta-confirm')) return
    event.preventDefault()
    this.close()
  }

  private close() {
    const details = this.renderRoot.querySelector('ta-ticket-details') as (HTMLElement & { dirty: boolean }) | null
    if (details?.dirty) {
      void confirmDialog({ title: 'Discard your edits?', message: 'This ticket has unsaved changes.', confirm: 'Discard', danger: true })
        .then((ok) => ok && this.dispatchEvent(new Event('close')))
      return
    }
    this.dispatchEvent(new Event('close'))
  }

  private async act(action: 'run' | 'cancel' | 'retry' | 'delete') {
    const ticket = this.current!
    this.busy = true
    try {
      if (action === 'run') {
        const { ticket: saved } = await api.post<{ ticket: TicketView }>(`/api/projects/${this.project.id}/tickets/${ticket.id}/run`)
        this.loaded = saved
        notify(saved.waiting ? blockerLines(saved).waiting! : 'Agent queued', saved.waiting ? 'info' : 'success')
        this.tab = 'activity'
      } else if (action === 'cancel') {
        await stopTicketJob(this.project.id, ticket.id)
      } else if (action === 'retry') {
        await api.post(`/api/jobs/${ticket.job!.job_id}/retry`)
        notify('Job queued again', 'success')
        this.tab = 'activity'
      } else {
        const ok = await confirmDialog({ title: `Delete ${ticketLabel(this.project, ticket)}?`, message: `“${ticket.title}” and its log are deleted for good.`, confirm: 'Delete ticket', danger: true })
        if (!ok) return
        await api.del(`/api/projects/${this.project.id}/tickets/${ticket.id}`)
        notify(`Deleted ${ticketLabel(this.project, ticket)}`, 'success')
        this.dispatchEvent(new Event('close'))
        return
      }
      this.scheduleJobs()
    } catch (error) {
      notifyError(error)
    } finally {
      this.busy = false
    }
  }

  private actions(ticket: TicketView) {
    const job = ticket.job
    const active = isActive(job)
    const refused = denied('member', 'run or stop agents')
    const blocker = refused ?? this.runBlocker
    const inReview = this.columns.find((column) => column.id === ticket.column_id)?.role === 'in_review'
    return html`
      ${active
        ? html`<button class="btn danger-ghost" ?disabled=${this.busy || job!.cancel_requested || !!refused} title=${refused ?? 'Stop the agent'} @click=${() => this.act('cancel')}>${icons.stop()} ${job!.cancel_requested ? 'Stopping…' : 'Stop'}</button>`
        : inReview
          // In review, the next step is the PR (review, comment, merge); running again is the exception.
          ? html`<button class="btn" ?disabled=${this.busy || !!blocker} title=${blocker ?? 'Start a fresh agent run on this ticket'}
              @click=${() => this.act('run')}>${icons.play()} Run again</button>`
          : html`<button class="btn primary" ?disabled=${this.busy || !!blocker} title=${blocker ?? 'Start an agent on this ticket'}
              @click=${() => this.act('run')}>${icons.play()} Run</button>`}
      ${!active && job && (job.status === 'failed' || job.status === 'cancelled')
        ? html`<button class="btn" ?disabled=${this.busy || !!blocker} title=${blocker ?? 'Run the last job again'} @click=${() => this.act('retry')}>${icons.retry()} Retry</button>` : nothing}
      ${prHref(ticket.pr_url) ? html`<a class="btn" href=${prHref(ticket.pr_url)!} target="_blank" rel="noopener">${icons.pr()} PR${ticket.pr_number ? ` #${ticket.pr_number}` : ''}</a>` : nothing}
      <button class="icon-btn" aria-label="Delete ticket" title=${denied('member', 'delete tickets') ?? 'Delete ticket'} ?disabled=${!!denied('member', 'delete tickets')} @click=${() => this.act('delete')}>${icons.trash()}</button>`
  }

  /** Blocked, waiting and what happened to the blockers (ticket-blockers.ts words it). */
  private blockers(ticket: TicketView) {
    const lines = blockerLines(ticket)
    return html`${lines.open.length && !lines.waiting ? html`<span class="badge warning" data-testid="blocked">Blocked by ${lines.open.join(', ')}</span>` : nothing}
      ${lines.waiting ? html`<span class="badge warning" data-testid="waiting">${lines.waiting}</span>` : nothing}
      ${lines.problems.map((problem) => html`<span class="badge danger">${problem}</span>`)}`
  }

  override render() {
    const ticket = this.current
    const tabs: Tab[] = ticket?.pr_number ? ['activity', 'details', 'jobs', 'review'] : ['activity', 'details', 'jobs']
    const chosen = this.tab && tabs.includes(this.tab) ? this.tab : null
    const tab: Tab = chosen ?? (ticket?.job ? 'activity' : 'details')
    const column = ticket && this.columns.find((candidate) => candidate.id === ticket.column_id)
    const look = ticket?.job ? STATUS_LOOK[ticket.job.status] : undefined
    return html`
      <div class="scrim" @click=${() => this.close()}></div>
      <aside role="dialog" aria-modal="false" aria-label=${ticket ? `${ticketLabel(this.project, ticket)}: ${ticket.title}` : 'Ticket'} tabindex="-1">
        <header>
          <div class="top">
            <h2>${ticket ? html`<span class="tid">${ticketLabel(this.project, ticket)}</span>${ticket.title}` : this.error ? 'Ticket' : 'Loading…'}</h2>
            ${ticket ? this.actions(ticket) : nothing}
            <button class="icon-btn" aria-label="Close" title="Close (Esc)" @click=${() => this.close()}>${icons.x()}</button>
          </div>
          ${ticket ? html`<div class="meta">
            ${column ? html`<span class="badge">${column.title}</span>` : nothing}
            <span class="badge prio ${ticket.priority === 'high' ? 'danger' : ticket.priority === 'medium' ? 'warning' : ''}">${ticket.priority} priority</span>
            ${look ? html`<span class="badge ${look.cls}">${ticket.job!.status === 'running' ? html`<span class="spinner small"></span>` : html`<span class="dot"></span>`}
              ${ticket.job!.cancel_requested && isActive(ticket.job) ? 'Stopping…' : look.label} · attempt ${ticket.job!.attempt}</span>` : nothing}
            ${reasonLine(ticket.job, { projectId: this.project.id, ticketId: ticket.id })}
            ${this.blockers(ticket)}
            <ta-ticket-issue .issue=${ticket.issue}></ta-ticket-issue>
            <ta-ticket-ci .projectId=${this.project.id} .ticketId=${ticket.id}></ta-ticket-ci>
          </div>` : nothing}
          <div class="tabs" role="tablist">
            ${tabs.map((id) => html`<button class="tab" role="tab" aria-selected=${tab === id ? 'true' : 'false'}
              @click=${() => (this.tab = id)}>${TAB_LABEL[id]}${id === 'jobs' && this.jobs?.length ? html`<span class="n">${this.jobs.length}</span>` : nothing}</button>`)}
          </div>
        </header>
        <div class="body" data-scroller role="tabpanel">
          ${this.error ? html`<div class="alert error error-box" role="alert">${icons.alert()}<span>${this.error}</span></div>` : nothing}
          ${!ticket ? (this.error ? nothing : html`<div class="row faint"><span class="spinner"></span> Loading…</div>`)
            : tab === 'activity' ? html`<ta-job-log .projectId=${this.project.id} .ticketId=${ticket.id} .job=${ticket.job} .highlight=${this.highlight}></ta-job-log>`
            : tab === 'details' ? html`<ta-ticket-details .ticket=${ticket} .columns=${this.columns}
                @saved=${(e: CustomEvent<TicketView>) => (this.loaded = e.detail)}></ta-ticket-details>`
            : tab === 'review' ? lazy(import('./review-panel.ts'), html`<ta-review-panel .projectId=${this.project.id} .ticketId=${ticket.id} .prNumber=${ticket.pr_number}></ta-review-panel>`)
            : html`<ta-job-history .jobs=${this.jobs} @changed=${() => this.scheduleJobs()}></ta-job-history>`}
        </div>
      </aside>`
  }
}
customElements.define('ta-ticket-view', TicketViewElement)
