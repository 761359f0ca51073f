/**
 * `<ta-check-button>`: a setup "Test" (`POST /api/checks/<check>`, or `path` with `body`) and its answer in words: works,
 * wrong URL, wrong key, no push rights… with the server's short reason. Tests what is saved.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, errorText } from './api.ts'
import { icons } from './icons.ts'
import { shared } from './styles.ts'
import type { CheckOutcome } from '../core/services/setup-checks/outcome.ts'


const KIND_LABEL: Record<string, string> = {
  ok: 'Works', not_configured: 'Not set up', unreachable: 'Unreachable', wrong_url: 'Wrong URL', wrong_key: 'Wrong key',
  no_push: 'No push rights', not_found: 'Not found', rejected: 'Refused',
}

export class CheckButton extends LitElement {
  static override properties = {
    check: {},
    path: {},
    label: {},
    body: { attribute: false },
    refused: { attribute: false },
    running: { state: true },
    result: { state: true },
    failure: { state: true },
  }
  declare check: string
  /** Another route answering a CheckOutcome (a project's: `/api/projects/:id/settings/test`); default `/api/checks/<check>`. */
  declare path: string
  declare label: string
  declare body: Record<string, unknown>
  /** Why this person may not run the test (the button is disabled and says so), or null. */
  declare refused: string | null
  declare running: boolean
  declare result: CheckOutcome | null
  declare failure: string

  static override styles = [shared, css`
    :host { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
    .reason { font-size: 12.5px; color: var(--text-2); flex-basis: 100%; }
    .badge svg { width: 12px; height: 12px; }
  `]

  constructor() {
    super()
    this.check = ''
    this.path = ''
    this.label = 'Test'
    this.body = {}
    this.refused = null
    this.running = false
    this.result = null
    this.failure = ''
  }

  private async run() {
    this.running = true
    this.failure = ''
    try {
      this.result = await api.post<CheckOutcome>(this.path || `/api/checks/${this.check}`, this.body)
    } catch (error) {
      this.result = null
      this.failure = errorText(error)
    } finally {
      this.running = false
    }
  }

  override render() {
    const result = this.result
    return html`
      <button class="btn small" type="button" ?disabled=${this.running || !!this.refused} title=${this.refused ?? 'Sends one small request with the saved settings'} @click=${this.run}>
        ${this.running ? html`<span class="spinner"></span>` : icons.check()} ${this.label}</button>
      ${result ? html`<span class="badge ${result.ok ? 'success' : 'danger'}" data-kind=${result.kind} role="status">${KIND_LABEL[result.kind] ?? result.kind}${result.status ? ` · ${result.status}` : ''}</span>
        <span class="reason">${result.reason}</span>` : nothing}
      ${this.failure ? html`<span class="reason field-error" role="alert">${this.failure}</span>` : nothing}`
  }
}
customElements.define('ta-check-button', CheckButton)
