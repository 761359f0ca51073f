/**
 * `<ta-coordinators-page>` (`/coordinators`, members): the coordinators that reported in this week,
 * live and idle first, with host, executor, capacity, running jobs and when each was last heard
 * from. A coordinator's state comes from the age of its last report, so the page re-reads the list
 * every few seconds rather than waiting for an event (a lost coordinator sends none).
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, errorText } from './api.ts'
import { icons } from './icons.ts'
import { pageStyles, shared } from './styles.ts'
import { PollController } from './poll-controller.ts'

interface CoordinatorRow {
  coordinator_id: string
  credential_name: string
  host: string
  version: string
  executor: string
  capacity: number
  running_job_ids: number[]
  started_at: string
  last_seen_at: string
  stopped_at: string | null
  state: 'live' | 'idle' | 'lost' | 'stopped'
}

const REFRESH_MS = 5000
const STATE_TEXT: Record<CoordinatorRow['state'], string> = {
  live: 'Running jobs',
  idle: 'Idle',
  lost: 'Lost: no report',
  stopped: 'Stopped',
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000))
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`
  return new Date(iso).toLocaleString()
}

export class CoordinatorsPage extends LitElement {
  static override properties = { rows: { state: true }, error: { state: true } }
  declare rows: CoordinatorRow[] | null
  declare error: string

  static override styles = [shared, pageStyles, css`
    .state { display: inline-flex; align-items: center; gap: 6px; font-weight: 500; }
    .state .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--text-3); }
    .state.live .dot { background: var(--success); }
    .state.idle .dot { background: var(--accent); }
    .state.lost { color: var(--danger); }
    .state.lost .dot { background: var(--danger); }
  `]

  constructor() {
    super()
    new PollController(this, () => this.load(), REFRESH_MS)
    this.rows = null
    this.error = ''
  }


  async load() {
    try {
      this.rows = await api.get<CoordinatorRow[]>('/api/coordinators')
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  override render() {
    const rows = this.rows
    return html`
      <div class="head"><div class="grow"><h1>Coordinators</h1><p>The machines that run agents. Each reports in every few seconds; one that stops reporting shows as lost.</p></div></div>
      ${this.error ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load coordinators: ${this.error}</span><button class="btn small" @click=${() => this.load()}>Retry</button></div>` : nothing}
      ${!rows ? (this.error ? nothing : html`<div class="row faint"><span class="spinner"></span> Loading…</div>`)
        : !rows.length ? html`<div class="empty"><h3>No coordinator has reported yet</h3><p>Start one with <code>node dist/coordinator.js</code> (docs/coordinator.md); <code>npm start</code> starts one beside the app.</p></div>`
        : html`<table>
          <thead><tr><th>State</th><th>Host</th><th>Executor</th><th>Jobs</th><th>Credential</th><th>Version</th><th>Last report</th></tr></thead>
          <tbody>${rows.map((row) => html`<tr data-coordinator=${row.coordinator_id} data-state=${row.state}>
            <td><span class="state ${row.state}"><span class="dot"></span>${STATE_TEXT[row.state]}</span></td>
            <td><b>${row.host}</b><div class="faint mono">${row.coordinator_id}</div></td>
            <td class="mono">${row.executor}</td>
            <td>${row.state === 'lost' || row.state === 'stopped' ? html`<span class="faint">—</span>` : `${row.running_job_ids.length} of ${row.capacity}`}</td>
            <td>${row.credential_name}</td>
            <td class="mono">${row.version}</td>
            <td title=${new Date(row.last_seen_at).toLocaleString()}>${ago(row.last_seen_at)}</td>
          </tr>`)}</tbody>
        </table>`}`
  }
}
customElements.define('ta-coordinators-page', CoordinatorsPage)
