/**
 * `<ta-tokens-page>` (`/tokens`): the signed-in person's API tokens for scripts and CI. A new token
 * is shown once, with Copy; the server keeps only its hash. A token's role is at most the owner's,
 * and at each use the lower of the two counts. Admins can list and revoke everyone's.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { timeAgo } from './format.ts'
import { copyText } from './copy-text.ts'
import { icons } from './icons.ts'
import { role, type Role } from './session.ts'
import { pageStyles, shared } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'

interface TokenRow {
  id: number
  user_login: string
  name: string
  prefix: string
  role: Role
  created_at: string
  expires_at: string | null
  last_used_at: string | null
  revoked_at: string | null
}

const ROLES: Role[] = ['viewer', 'member', 'admin']
const EXPIRY = [{ days: 30, label: '30 days' }, { days: 90, label: '90 days' }, { days: 365, label: 'A year' }, { days: 0, label: 'Never' }]

export class TokensPage extends LitElement {
  static override properties = {
    tokens: { state: true },
    all: { state: true },
    created: { state: true },
    errors: { state: true },
    error: { state: true },
    busy: { state: true },
  }
  declare tokens: TokenRow[] | null
  declare all: boolean
  declare created: (TokenRow & { token: string }) | null
  declare errors: Record<string, string>
  declare error: string
  declare busy: boolean

  static override styles = [shared, pageStyles, css`
    form.create { display: flex; gap: 10px; align-items: flex-start; flex-wrap: wrap; padding: 14px 16px; margin-bottom: 16px;
      background: var(--surface); border: 1px solid var(--border); border-radius: 10px; }
    form.create .field { margin: 0; }
    form.create .name { flex: 1; min-width: 220px; }
    form.create .btn { margin-top: 25px; }
    .once { display: grid; gap: 8px; margin-bottom: 16px; }
    .once .row { gap: 8px; }
    .once code { flex: 1; padding: 8px 10px; border-radius: 7px; background: var(--surface); border: 1px solid var(--border); overflow-wrap: anywhere; user-select: all; }
    .scope { display: flex; gap: 6px; align-items: center; font-size: 13px; color: var(--text-2); }
  `]

  constructor() {
    super()
    this.tokens = null
    this.all = false
    this.created = null
    this.errors = {}
    this.error = ''
    this.busy = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    void this.load()
  }

  async load() {
    try {
      this.tokens = await api.get<TokenRow[]>(`/api/tokens${this.all ? '?all=true' : ''}`)
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private async create(event: SubmitEvent) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value
    const days = Number(value('expires'))
    const body = { name: value('name').trim(), role: value('role'), ...(days ? { expires_in_days: days } : {}) }
    if (!body.name) {
      this.errors = { name: 'Name the token after where it is used, like "CI".' }
      return
    }
    this.busy = true
    this.errors = {}
    try {
      this.created = await api.post<TokenRow & { token: string }>('/api/tokens', body)
      form.reset()
      await this.load()
    } catch (error) {
      this.errors = error instanceof ApiError ? { ...error.fields(), form: errorText(error) } : { form: errorText(error) }
    } finally {
      this.busy = false
    }
  }

  private async revoke(token: TokenRow) {
    try {
      await api.del(`/api/tokens/${token.id}`)
      notify(`Revoked “${token.name}”`, 'success')
      if (this.created?.id === token.id) this.created = null
      await this.load()
    } catch (error) {
      notifyError(error, 'Could not revoke the token')
    }
  }

  private state(token: TokenRow) {
    if (token.revoked_at) return html`<span class="badge">Revoked</span>`
    if (token.expires_at && new Date(token.expires_at).getTime() <= Date.now()) return html`<span class="badge warning">Expired</span>`
    return html`<span class="badge success">Active</span>`
  }

  override render() {
    const mine = role() ?? 'viewer'
    const roles = ROLES.slice(0, ROLES.indexOf(mine) + 1)
    const tokens = this.tokens
    return html`
      <div class="head">
        <div class="grow"><h1>API tokens</h1><p>For scripts and CI: send one as <code>Authorization: Bearer …</code>. Its role is at most yours.</p></div>
        ${mine === 'admin' ? html`<label class="scope"><input type="checkbox" .checked=${this.all}
          @change=${(e: Event) => { this.all = (e.target as HTMLInputElement).checked; void this.load() }}> Everyone's tokens</label>` : nothing}
      </div>
      ${this.created ? html`<div class="alert success once" role="status">
        <b>Copy your new token “${this.created.name}” now: it is not shown again.</b>
        <div class="row"><code data-token>${this.created.token}</code><button class="btn" @click=${() => copyText(this.created!.token, 'Token')}>${icons.check()} Copy</button>
          <button class="btn ghost" @click=${() => (this.created = null)}>Done</button></div>
      </div>` : nothing}
      ${this.errors.form ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.errors.form}</span></div>` : nothing}
      <form class="create" novalidate @submit=${this.create}>
        <label class="field name"><span>Name</span><input class="input" name="name" placeholder="CI" autocomplete="off" aria-invalid=${this.errors.name ? 'true' : 'false'}>
          ${this.errors.name ? html`<span class="field-error" role="alert">${this.errors.name}</span>` : nothing}</label>
        <label class="field"><span>Role</span><select class="input" name="role">
          ${roles.map((option) => html`<option value=${option} ?selected=${option === mine}>${option[0]!.toUpperCase() + option.slice(1)}</option>`)}</select>
          ${this.errors.role ? html`<span class="field-error" role="alert">${this.errors.role}</span>` : nothing}</label>
        <label class="field"><span>Expires</span><select class="input" name="expires">
          ${EXPIRY.map((option) => html`<option value=${option.days} ?selected=${option.days === 90}>${option.label}</option>`)}</select></label>
        <button class="btn primary" type="submit" ?disabled=${this.busy}>${icons.plus()} Create token</button>
      </form>
      ${this.error ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load tokens: ${this.error}</span><button class="btn small" @click=${() => this.load()}>Retry</button></div>` : nothing}
      ${!tokens ? (this.error ? nothing : html`<div class="row faint"><span class="spinner"></span> Loading tokens…</div>`)
        : !tokens.length ? html`<div class="empty"><h3>No tokens yet</h3><p>Create one above for a script or a CI job.</p></div>`
        : html`<table>
          <thead><tr><th>Name</th>${this.all ? html`<th>Owner</th>` : nothing}<th>Role</th><th>Status</th><th>Created</th><th>Expires</th><th>Last used</th><th></th></tr></thead>
          <tbody>${tokens.map((token) => html`<tr data-token-id=${token.id}>
            <td><b>${token.name}</b><div class="faint mono">${token.prefix}…</div></td>
            ${this.all ? html`<td>@${token.user_login}</td>` : nothing}
            <td>${token.role}</td>
            <td>${this.state(token)}</td>
            <td class="when">${timeAgo(token.created_at)}</td>
            <td class="when">${token.expires_at ? new Date(token.expires_at).toLocaleDateString() : 'Never'}</td>
            <td class="when">${token.last_used_at ? timeAgo(token.last_used_at) : html`<span class="faint">Never</span>`}</td>
            <td class="actions">${token.revoked_at ? nothing : html`<button class="btn small danger-ghost" @click=${() => this.revoke(token)}>Revoke</button>`}</td>
          </tr>`)}</tbody>
        </table>`}`
  }
}
customElements.define('ta-tokens-page', TokensPage)
