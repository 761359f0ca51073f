/**
 * `<ta-audit-page>` (`/audit`, admins): who did what, when, from where, to what; newest first,
 * filtered by actor, action and project, a page at a time (`before` = the previous page's cursor).
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, errorText } from './api.ts'
import { icons } from './icons.ts'
import { pageStyles, shared } from './styles.ts'

interface AuditRow {
  id: number
  at: string
  actor_label: string
  address: string | null
  action: string
  target_type: string | null
  target_id: string | null
  project_id: number | null
  details: Record<string, unknown> | null
}

const ACTIONS: Record<string, string> = {
  'ticket.move': 'Moved a ticket',
  'ticket.run': 'Ran a ticket',
  'job.cancel': 'Stopped a job',
  'job.retry': 'Retried a job',
  'project.create': 'Created a project',
  'project.update': 'Changed a project',
  'project.delete': 'Deleted a project',
  'settings.update': 'Changed settings',
  'user.create': 'Added a user',
  'user.update': 'Changed a user',
  'token.create': 'Created an API token',
  'token.revoke': 'Revoked an API token',
  'auth.setup': 'Created the first admin',
  'auth.login': 'Signed in',
  'auth.login_failed': 'Failed sign-in',
  'auth.logout': 'Signed out',
  'auth.sso_refused': 'Refused single sign-on',
}
const PAGE = 50

export class AuditPage extends LitElement {
  static override properties = {
    entries: { state: true },
    next: { state: true },
    filter: { state: true },
    error: { state: true },
  }
  declare entries: AuditRow[] | null
  declare next: number | null
  declare filter: { actor: string; action: string; project_id: string }
  declare error: string
  /** The cursors of the pages before this one (empty on the newest page). */
  private pages: (number | null)[] = []
  private cursor: number | null = null

  static override styles = [shared, pageStyles, css`
    form.filters { display: flex; gap: 10px; align-items: flex-end; flex-wrap: wrap; margin-bottom: 14px; }
    form.filters .field { margin: 0; }
    form.filters .input { height: 32px; }
    .details { font-size: 12px; color: var(--text-2); overflow-wrap: anywhere; max-width: 360px; }
    .action { font-weight: 500; }
    .pager { display: flex; gap: 8px; justify-content: flex-end; align-items: center; margin-top: 12px; color: var(--text-3); font-size: 12.5px; }
  `]

  constructor() {
    super()
    this.entries = null
    this.next = null
    this.filter = { actor: '', action: '', project_id: '' }
    this.error = ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    void this.load()
  }

  async load() {
    const query = new URLSearchParams({ limit: String(PAGE) })
    for (const [key, value] of Object.entries(this.filter)) if (value.trim()) query.set(key, value.trim())
    if (this.cursor !== null) query.set('before', String(this.cursor))
    try {
      const page = await api.get<{ entries: AuditRow[]; next_before: number | null }>(`/api/audit?${query}`)
      this.entries = page.entries
      this.next = page.next_before
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private apply(event: SubmitEvent) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value
    this.filter = { actor: value('actor'), action: value('action'), project_id: value('project_id') }
    this.pages = []
    this.cursor = null
    void this.load()
  }

  private page(direction: 'older' | 'newer') {
    if (direction === 'older') {
      this.pages.push(this.cursor)
      this.cursor = this.next
    } else {
      this.cursor = this.pages.pop() ?? null
    }
    void this.load()
  }

  private details(entry: AuditRow) {
    const details = entry.details ?? {}
    if (entry.action === 'ticket.move' && details.to) return `${details.from ?? 'new'} → ${details.to}`
    return Object.entries(details).map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`).join(' · ')
  }

  override render() {
    const entries = this.entries
    return html`
      <div class="head"><div class="grow"><h1>Audit</h1><p>Every ticket move, run and stop, settings, user and token change, and sign-in, with who did it and from where.</p></div></div>
      <form class="filters" @submit=${this.apply}>
        <label class="field"><span>Actor</span><input class="input" name="actor" placeholder="login" autocomplete="off" .value=${this.filter.actor}></label>
        <label class="field"><span>Action</span><select class="input" name="action">
          <option value="">Any action</option>
          ${Object.entries(ACTIONS).map(([action, label]) => html`<option value=${action} ?selected=${this.filter.action === action}>${label}</option>`)}
        </select></label>
        <label class="field"><span>Project id</span><input class="input" name="project_id" inputmode="numeric" pattern="[0-9]*" placeholder="any" autocomplete="off" .value=${this.filter.project_id}></label>
        <button class="btn" type="submit">${icons.search()} Filter</button>
      </form>
      ${this.error ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load the audit log: ${this.error}</span><button class="btn small" @click=${() => this.load()}>Retry</button></div>` : nothing}
      ${!entries ? (this.error ? nothing : html`<div class="row faint"><span class="spinner"></span> Loading…</div>`)
        : !entries.length ? html`<div class="empty"><h3>Nothing recorded${Object.values(this.filter).some(Boolean) ? ' for this filter' : ' yet'}</h3></div>`
        : html`<table>
          <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Project</th><th>Details</th></tr></thead>
          <tbody>${entries.map((entry) => html`<tr data-action=${entry.action}>
            <td class="when">${new Date(entry.at).toLocaleString()}</td>
            <td><b>${entry.actor_label}</b>${entry.address ? html`<div class="faint mono">${entry.address}</div>` : nothing}</td>
            <td class="action">${ACTIONS[entry.action] ?? entry.action}<div class="faint mono">${entry.action}</div></td>
            <td>${entry.target_type ? `${entry.target_type} #${entry.target_id}` : html`<span class="faint">—</span>`}</td>
            <td>${entry.project_id ? html`<a href="/projects/${entry.project_id}">#${entry.project_id}</a>` : html`<span class="faint">—</span>`}</td>
            <td class="details">${this.details(entry)}</td>
          </tr>`)}</tbody>
        </table>
        <div class="pager">
          <button class="btn small" ?disabled=${!this.pages.length} @click=${() => this.page('newer')}>Newer</button>
          <button class="btn small" ?disabled=${this.next === null} @click=${() => this.page('older')}>Older</button>
        </div>`}`
  }
}
customElements.define('ta-audit-page', AuditPage)
