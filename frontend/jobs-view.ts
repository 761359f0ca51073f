/**
 * `<ta-jobs-view>`: the job queue, for one project (a tab) or every project (/jobs): queued,
 * running (with the coordinator holding each), failed with the reason, finished. Cancel and retry
 * in place; live through the feed.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, errorText } from './api.ts'
import { duration, ticketLabel, timeAgo, usageText } from './format.ts'
import { fallbackBadge } from './fallback-badge.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { denied } from './session.ts'
import { reasonLine, reasonOf, reasonStyles } from './job-reason.ts'
import { shared, STATUS_LOOK } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import { isActive, type Job, type JobStatus, type Project } from './types.ts'

type Filter = 'all' | JobStatus

const FILTERS: { id: Filter; label: string }[] = [
  { id: 'all', label: 'All' },
  { id: 'pending', label: 'Queued' },
  { id: 'running', label: 'Running' },
  { id: 'failed', label: 'Failed' },
  { id: 'succeeded', label: 'Succeeded' },
  { id: 'cancelled', label: 'Cancelled' },
]

export class JobsView extends LitElement {
  static override properties = {
    project: { attribute: false },
    jobs: { state: true },
    projects: { state: true },
    titles: { state: true },
    filter: { state: true },
    error: { state: true },
    now: { state: true },
  }
  declare project: Project | null
  declare jobs: Job[] | null
  declare projects: Map<number, string>
  /** Ticket titles of this project (the jobs API carries ticket ids only). */
  declare titles: Map<number, string>
  declare filter: Filter
  declare error: string
  declare now: number
  private live = new LiveController(this, { project: () => this.project?.id ?? null, onEvent: (type) => type === 'job.updated' && this.schedule(), load: () => this.load() })
  private timer = 0
  private ticker = 0

  static override styles = [shared, reasonStyles, css`
    :host { display: block; overflow: auto; padding: 20px 24px 48px; }
    :host([global]) { max-width: 1240px; margin: 0 auto; padding-top: 32px; }
    h1 { font-size: 24px; margin-bottom: 4px; }
    .intro { color: var(--text-2); margin-bottom: 20px; }
    .stats { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; margin-bottom: 16px; }
    .stat { background: var(--surface); border: 1px solid var(--border); border-radius: 10px; padding: 12px 14px; }
    .stat b { display: block; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
    .stat span { font-size: 12px; color: var(--text-2); }
    .stat.running b { color: var(--accent); } .stat.failed b { color: var(--danger); } .stat.pending b { color: var(--warning); }
    .filters { display: flex; gap: 4px; margin-bottom: 12px; flex-wrap: wrap; align-items: center; }
    .filter { height: 28px; padding: 0 11px; border-radius: 999px; border: 1px solid var(--border); background: var(--surface); color: var(--text-2); font: 500 12.5px var(--font); cursor: pointer; }
    .filter[aria-pressed='true'] { background: var(--text); color: var(--bg); border-color: var(--text); }
    .coordinators { margin-left: auto; font-size: 12.5px; color: var(--text-2); display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
    table { width: 100%; border-collapse: separate; border-spacing: 0; background: var(--surface); border: 1px solid var(--border); border-radius: 10px; overflow: hidden; }
    th, td { text-align: left; padding: 9px 12px; border-bottom: 1px solid var(--border); vertical-align: top; font-size: 13px; }
    th { font-size: 11.5px; font-weight: 600; color: var(--text-3); text-transform: uppercase; letter-spacing: .04em; background: var(--surface-2); }
    tr:last-child td { border-bottom: 0; }
    td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
    .why { margin-top: 4px; max-width: 560px; }
    .actions { white-space: nowrap; text-align: right; }
    .empty { background: var(--surface); border: 1px solid var(--border); border-radius: 10px; }
  `]

  constructor() {
    super()
    this.project = null
    this.jobs = null
    this.projects = new Map()
    this.titles = new Map()
    this.filter = 'all'
    this.error = ''
    this.now = Date.now()
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.toggleAttribute('global', !this.project)
    this.ticker = window.setInterval(() => this.jobs?.some(isActive) && (this.now = Date.now()), 1000)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    clearInterval(this.ticker)
  }

  private schedule() {
    clearTimeout(this.timer)
    this.timer = window.setTimeout(() => void this.load(), 200)
  }

  async load() {
    try {
      const path = this.project ? `/api/projects/${this.project.id}/jobs?limit=500` : '/api/jobs?limit=500'
      const [jobs, projects, tickets] = await Promise.all([
        api.get<Job[]>(path),
        this.project ? Promise.resolve(null) : api.get<Project[]>('/api/projects'),
        this.project ? api.get<{ id: number; title: string }[]>(`/api/projects/${this.project.id}/tickets`) : Promise.resolve(null),
      ])
      this.jobs = jobs
      if (projects) this.projects = new Map(projects.map((project) => [project.id, project.name]))
      if (tickets) this.titles = new Map(tickets.map((ticket) => [ticket.id, ticket.title]))
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private async act(job: Job, action: 'cancel' | 'retry') {
    try {
      await api.post(`/api/jobs/${job.id}/${action}`)
      notify(action === 'retry' ? `Job #${job.id} queued again` : `Stop requested for job #${job.id}`, 'success')
      this.schedule()
    } catch (error) {
      notifyError(error, `Could not ${action} job #${job.id}`)
    }
  }

  private row(job: Job) {
    const look = STATUS_LOOK[job.status]!
    const ticketHref = job.ticket_id ? `/projects/${job.project_id}/tickets/${job.ticket_id}` : null
    const label = job.ticket_id ? ticketLabel(this.project, { id: job.ticket_id, number: job.ticket_number, project_key: job.project_key ?? undefined }) : '—'
    return html`<tr data-job=${job.id}>
      <td class="num">#${job.id}</td>
      ${this.project ? nothing : html`<td><a href="/projects/${job.project_id}">${this.projects.get(job.project_id) ?? `Project ${job.project_id}`}</a></td>`}
      <td>${ticketHref ? html`<a href=${ticketHref}>${this.titles.get(job.ticket_id!) ?? job.ticket_title ?? label}</a>` : '—'}
        <span class="faint">${label}${job.kind === 'review' ? ' · review' : ''}</span>
        ${reasonOf(job) ? html`<div class="why">${reasonLine(job, { projectId: job.project_id, ticketId: job.ticket_id })}</div>` : nothing}</td>
      <td><span class="badge ${look.cls}">${job.status === 'running' ? html`<span class="spinner small"></span>` : html`<span class="dot"></span>`}${job.cancel_requested && isActive(job) ? 'Stopping…' : look.label}</span></td>
      <td class="num">${job.attempt}/${job.max_attempts}</td>
      <td>${job.claimed_by ?? html`<span class="faint">—</span>`}${job.executor ? html`<div class="faint">${job.executor} ${fallbackBadge(job)}</div>` : nothing}</td>
      <td class="num">${timeAgo(job.created_at, this.now)}</td>
      <td class="num">${duration(job.started_at, job.finished_at, this.now)}</td>
      <td class="num">${usageText(job.usage) || html`<span class="faint">—</span>`}</td>
      <td class="actions">
        ${isActive(job) ? html`<button class="btn small danger-ghost" ?disabled=${job.cancel_requested || !!denied('member', 'cancel jobs')} title=${denied('member', 'cancel jobs') ?? nothing} @click=${() => this.act(job, 'cancel')}>Cancel</button>` : nothing}
        ${job.status === 'failed' || job.status === 'cancelled' ? html`<button class="btn small" ?disabled=${!!denied('member', 'retry jobs')} title=${denied('member', 'retry jobs') ?? nothing} @click=${() => this.act(job, 'retry')}>${icons.retry()} Retry</button>` : nothing}
      </td>
    </tr>`
  }

  override render() {
    const jobs = this.jobs
    const countOf = (status: JobStatus) => jobs?.filter((job) => job.status === status).length ?? 0
    const shown = jobs?.filter((job) => this.filter === 'all' || job.status === this.filter) ?? []
    const coordinators = new Map<string, number>()
    for (const job of jobs ?? []) if (job.status === 'running' && job.claimed_by) coordinators.set(job.claimed_by, (coordinators.get(job.claimed_by) ?? 0) + 1)
    return html`
      ${this.project ? nothing : html`<h1>Jobs</h1><p class="intro">Agent jobs across every project: the queue, what runs where, and what failed and why.</p>`}
      ${this.error ? html`<div class="alert error mb-12" role="alert">${icons.alert()}<span class="grow">Could not load jobs: ${this.error}</span>
        <button class="btn small" @click=${() => this.load()}>Retry</button></div>` : nothing}
      <div class="stats">
        ${(['pending', 'running', 'failed', 'succeeded'] as JobStatus[]).map((status) => html`<div class="stat ${status}"><b>${jobs ? countOf(status) : '–'}</b><span>${STATUS_LOOK[status]!.label}</span></div>`)}
      </div>
      <div class="filters" role="group" aria-label="Filter jobs by status">
        ${FILTERS.map((filter) => html`<button class="filter" aria-pressed=${this.filter === filter.id ? 'true' : 'false'} @click=${() => (this.filter = filter.id)}>${filter.label}</button>`)}
        <span class="coordinators">${coordinators.size
          ? html`Coordinators: ${[...coordinators].map(([id, n]) => html`<span class="badge accent">${id} · ${n} running</span>`)}`
          : jobs ? 'No coordinator is running a job right now' : ''}</span>
      </div>
      ${!jobs ? html`<div class="row faint"><span class="spinner"></span> Loading jobs…</div>`
        : !shown.length ? html`<div class="empty">${icons.jobs()}<h3>${jobs.length ? 'No jobs with this status' : 'No jobs yet'}</h3>
            <p>${jobs.length ? 'Pick another filter.' : 'Move a ticket to In Progress (or press Run on it) to queue an agent job.'}</p></div>`
        : html`<table>
          <thead><tr><th>Job</th>${this.project ? nothing : html`<th>Project</th>`}<th>Ticket</th><th>Status</th><th>Attempt</th><th>Coordinator</th><th>Created</th><th>Duration</th><th>Usage</th><th></th></tr></thead>
          <tbody>${shown.map((job) => this.row(job))}</tbody>
        </table>`}`
  }
}
customElements.define('ta-jobs-view', JobsView)
