/**
 * `<ta-notifications-page>` (`/notifications`, admins): outgoing webhooks. Add, edit, disable or
 * remove an endpoint, send it a test, and read the delivery log (status, attempts, next try, the
 * endpoint's last status code and the app's reason; never what the endpoint answered). A new
 * endpoint's signing secret is shown once, right after it is created. The log re-reads every few
 * seconds, since retries happen in the background.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, ApiError, errorText, fieldOf } from './api.ts'
import { confirmDialog } from './confirm-dialog.ts'
import { copyText } from './copy-text.ts'
import { timeAgo } from './format.ts'
import { icons } from './icons.ts'
import { pageStyles, shared } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import { PollController } from './poll-controller.ts'

interface Endpoint {
  id: number
  name: string
  url: string
  events: string[]
  format: 'json' | 'slack'
  enabled: boolean
}

interface Delivery {
  id: number
  endpoint_id: number
  event: string
  status: 'pending' | 'sending' | 'delivered' | 'failed'
  attempts: number
  next_attempt_at: string | null
  last_status_code: number | null
  last_reason: string | null
  created_at: string
}

const REFRESH_MS = 5000
const EVENT_TEXT: Record<string, string> = {
  'job.failed': 'Job failed',
  'pr.opened': 'Pull request opened',
  'review.done': 'Review job done',
  'ci_fix.exhausted': 'CI fix rounds exhausted',
  test: 'Test',
}
const STATUS_BADGE: Record<Delivery['status'], string> = { pending: 'warning', sending: '', delivered: 'success', failed: 'danger' }

export class NotificationsPage extends LitElement {
  static override properties = {
    endpoints: { state: true }, deliveries: { state: true }, events: { state: true }, editing: { state: true },
    created: { state: true }, errors: { state: true }, error: { state: true }, busy: { state: true },
  }
  declare endpoints: Endpoint[] | null
  declare deliveries: Delivery[]
  declare events: string[]
  /** The endpoint the form edits; null = the form adds one. */
  declare editing: Endpoint | null
  declare created: { name: string; secret: string } | null
  declare errors: Record<string, string>
  declare error: string
  declare busy: boolean

  static override styles = [shared, pageStyles, css`
    form.endpoint { display: grid; grid-template-columns: 2fr 1fr 140px; gap: 12px; align-items: end; margin-bottom: 18px; }
    form.endpoint fieldset { grid-column: 1 / -1; display: flex; gap: 16px; flex-wrap: wrap; border: 0; padding: 0; margin: 0; }
    form.endpoint .buttons { grid-column: 1 / -1; display: flex; gap: 8px; }
    h2 { font-size: 17px; margin: 28px 0 10px; }
    td.actions { white-space: nowrap; text-align: right; }
    .reason { max-width: 360px; }
  `]

  constructor() {
    super()
    new PollController(this, () => this.load(), REFRESH_MS)
    this.endpoints = null
    this.deliveries = []
    this.events = Object.keys(EVENT_TEXT).filter((event) => event !== 'test')
    this.editing = null
    this.created = null
    this.errors = {}
    this.error = ''
    this.busy = false
  }


  async load() {
    try {
      const [list, log] = await Promise.all([
        api.get<{ endpoints: Endpoint[]; events: string[] }>('/api/notifications/endpoints'),
        api.get<{ deliveries: Delivery[] }>('/api/notifications/deliveries?limit=50'),
      ])
      this.endpoints = list.endpoints
      this.events = list.events
      this.deliveries = log.deliveries
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private async save(event: SubmitEvent) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const data = new FormData(form)
    const url = String(data.get('url') ?? '').trim()
    // The stored URL is sealed and never read back: an edit leaves it as it is unless a new one is typed.
    const body = {
      name: String(data.get('name') ?? ''),
      ...(url || !this.editing ? { url } : {}),
      format: String(data.get('format')) as Endpoint['format'],
      events: data.getAll('events').map(String),
    }
    this.busy = true
    this.errors = {}
    try {
      if (this.editing) {
        await api.patch(`/api/notifications/endpoints/${this.editing.id}`, body)
        notify(`Saved “${body.name || this.editing.url}”`, 'success')
        this.editing = null
      } else {
        const answer = await api.post<{ endpoint: Endpoint; secret: string }>('/api/notifications/endpoints', body)
        this.created = { name: answer.endpoint.name, secret: answer.secret }
      }
      form.reset()
      await this.load()
    } catch (error) {
      this.errors = error instanceof ApiError && error.details.length
        ? Object.fromEntries(error.details.map((detail) => [fieldOf(detail.path).split('.')[0]!, detail.message]))
        : { form: errorText(error) }
    } finally {
      this.busy = false
    }
  }

  private async toggle(endpoint: Endpoint) {
    try {
      await api.patch(`/api/notifications/endpoints/${endpoint.id}`, { enabled: !endpoint.enabled })
      await this.load()
    } catch (error) {
      notifyError(error, 'Could not change the endpoint')
    }
  }

  private async test(endpoint: Endpoint) {
    try {
      const { delivery } = await api.post<{ delivery: Delivery }>(`/api/notifications/endpoints/${endpoint.id}/test`)
      notify(delivery.status === 'delivered' ? `Test delivered to “${endpoint.name}”` : `Test failed: ${delivery.last_reason ?? 'no answer'}`, delivery.status === 'delivered' ? 'success' : 'error')
      await this.load()
    } catch (error) {
      notifyError(error, 'Could not send the test')
    }
  }

  private async removeEndpoint(endpoint: Endpoint) {
    const sure = await confirmDialog({ title: `Remove “${endpoint.name}”?`, message: 'It stops receiving events, and its delivery log is deleted.', confirm: 'Remove', danger: true })
    if (!sure) return
    try {
      await api.del(`/api/notifications/endpoints/${endpoint.id}`)
      if (this.editing?.id === endpoint.id) this.editing = null
      await this.load()
    } catch (error) {
      notifyError(error, 'Could not remove the endpoint')
    }
  }

  private field(name: string) {
    return this.errors[name] ? html`<span class="field-error" role="alert">${this.errors[name]}</span>` : nothing
  }

  private form() {
    const editing = this.editing
    // Keyed by what is edited, so switching endpoints re-renders the inputs with their values.
    return html`<form class="endpoint" data-editing=${editing?.id ?? 'new'} @submit=${(e: SubmitEvent) => this.save(e)}>
      <label class="field"><span>URL</span><input class="input" name="url" type="url" ?required=${!editing} placeholder=${editing ? `${editing.url}/… (kept unless you type a new URL)` : 'https://hooks.example.com/terarchitect'} .value=${''} aria-invalid=${this.errors.url ? 'true' : 'false'}>${this.field('url')}</label>
      <label class="field"><span>Name</span><input class="input" name="name" placeholder="Ops channel" .value=${editing?.name ?? ''}>${this.field('name')}</label>
      <label class="field"><span>Format</span><select class="input" name="format">
        <option value="json" ?selected=${editing?.format !== 'slack'}>JSON (signed)</option><option value="slack" ?selected=${editing?.format === 'slack'}>Slack</option></select></label>
      <fieldset aria-label="Events">${this.events.map((event) => html`<label><input type="checkbox" name="events" value=${event} .checked=${editing ? editing.events.includes(event) : true}> ${EVENT_TEXT[event] ?? event}</label>`)}
        ${this.field('events')}</fieldset>
      ${this.errors.form ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.errors.form}</span></div>` : nothing}
      <div class="buttons"><button class="btn primary" type="submit" ?disabled=${this.busy}>${editing ? html`${icons.save()} Save` : html`${icons.plus()} Add endpoint`}</button>
        ${editing ? html`<button class="btn ghost" type="button" @click=${() => { this.editing = null; this.errors = {} }}>Cancel</button>` : nothing}</div>
    </form>`
  }

  override render() {
    const endpoints = this.endpoints
    const nameOf = (id: number) => endpoints?.find((endpoint) => endpoint.id === id)?.name ?? `#${id}`
    return html`
      <div class="head"><div class="grow"><h1>Notifications</h1><p>Webhooks the app calls when a job fails, a pull request opens, a review job is done or CI fixes run out. Each request is signed with the endpoint's secret (docs/notifications.md).</p></div></div>
      ${this.created ? html`<div class="alert success once" role="status"><span class="grow">Signing secret of “${this.created.name}”. It is shown this once: store it with the receiver.</span>
        <div class="row"><code data-secret>${this.created.secret}</code><button class="btn" @click=${() => copyText(this.created!.secret, 'Secret')}>${icons.check()} Copy</button>
        <button class="btn ghost" @click=${() => (this.created = null)}>Done</button></div></div>` : nothing}
      ${this.form()}
      ${this.error ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load notifications: ${this.error}</span><button class="btn small" @click=${() => this.load()}>Retry</button></div>` : nothing}
      ${!endpoints ? (this.error ? nothing : html`<div class="row faint"><span class="spinner"></span> Loading…</div>`)
        : !endpoints.length ? html`<div class="empty"><h3>No endpoint yet</h3><p>Add one above: a URL that accepts POST requests, or a Slack incoming-webhook URL.</p></div>`
        : html`<table class="endpoints">
          <thead><tr><th>Name</th><th>URL</th><th>Events</th><th>Format</th><th>State</th><th></th></tr></thead>
          <tbody>${endpoints.map((endpoint) => html`<tr data-endpoint=${endpoint.id}>
            <td><b>${endpoint.name}</b></td>
            <td class="mono">${endpoint.url}</td>
            <td>${endpoint.events.map((event) => EVENT_TEXT[event] ?? event).join(', ')}</td>
            <td>${endpoint.format === 'slack' ? 'Slack' : 'JSON'}</td>
            <td>${endpoint.enabled ? html`<span class="badge success">Enabled</span>` : html`<span class="badge">Disabled</span>`}</td>
            <td class="actions">
              <button class="btn small" @click=${() => this.test(endpoint)}>Send test</button>
              <button class="btn small ghost" @click=${() => { this.editing = endpoint; this.errors = {} }}>Edit</button>
              <button class="btn small ghost" @click=${() => this.toggle(endpoint)}>${endpoint.enabled ? 'Disable' : 'Enable'}</button>
              <button class="btn small danger-ghost" @click=${() => this.removeEndpoint(endpoint)}>Remove</button></td>
          </tr>`)}</tbody></table>`}
      <h2>Deliveries</h2>
      ${!this.deliveries.length ? html`<p class="faint">No delivery yet.</p>` : html`<table class="deliveries">
        <thead><tr><th>Event</th><th>Endpoint</th><th>Status</th><th>Attempts</th><th>Next try</th><th>Last code</th><th>Reason</th><th>Queued</th></tr></thead>
        <tbody>${this.deliveries.map((delivery) => html`<tr data-delivery=${delivery.id} data-status=${delivery.status}>
          <td>${EVENT_TEXT[delivery.event] ?? delivery.event}</td>
          <td>${nameOf(delivery.endpoint_id)}</td>
          <td><span class="badge ${STATUS_BADGE[delivery.status]}">${delivery.status}</span></td>
          <td>${delivery.attempts}</td>
          <td>${delivery.next_attempt_at ? new Date(delivery.next_attempt_at).toLocaleTimeString() : '—'}</td>
          <td class="mono">${delivery.last_status_code ?? '—'}</td>
          <td class="reason">${delivery.last_reason ?? ''}</td>
          <td title=${new Date(delivery.created_at).toLocaleString()}>${timeAgo(delivery.created_at)}</td>
        </tr>`)}</tbody></table>`}`
  }
}
customElements.define('ta-notifications-page', NotificationsPage)
