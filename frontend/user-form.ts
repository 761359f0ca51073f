/**
 * `<ta-user-form>`: the Users page's dialog, to add an account (`POST /api/users`) or to set a new
 * password for one (`PATCH /api/users/:id {password}`, which also ends that person's sessions).
 * Server refusals land next to the field they name. Fires `saved` with the user.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { icons } from './icons.ts'
import { shared } from './styles.ts'
import type { User } from '../core/services/users.ts'
import './modal-dialog.ts'

/** An account as `GET /api/users` lists it. */
export type UserRow = User

export class UserForm extends LitElement {
  static override properties = {
    open: { type: Boolean },
    /** The user whose password is reset; null to add a user. */
    user: { attribute: false },
    errors: { state: true },
    formError: { state: true },
    busy: { state: true },
  }
  declare open: boolean
  declare user: UserRow | null
  declare errors: Record<string, string>
  declare formError: string
  declare busy: boolean

  static override styles = [shared, css`.alert { margin-bottom: 14px; }`]

  constructor() {
    super()
    this.open = false
    this.user = null
    this.errors = {}
    this.formError = ''
    this.busy = false
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('open') && this.open) {
      this.errors = {}
      this.formError = ''
      this.renderRoot.querySelector('form')?.reset()
    }
  }

  private async submit(event: SubmitEvent) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null)?.value ?? ''
    const body: Record<string, string> = {}
    if (this.user) {
      body.password = value('password')
    } else {
      body.login = value('login').trim()
      body.role = value('role')
      if (value('display_name').trim()) body.display_name = value('display_name').trim()
      if (value('password')) body.password = value('password')
    }
    this.busy = true
    this.formError = ''
    try {
      const saved = this.user
        ? await api.patch<UserRow>(`/api/users/${this.user.id}`, body)
        : await api.post<UserRow>('/api/users', body)
      this.dispatchEvent(new CustomEvent('saved', { detail: saved }))
      this.open = false
    } catch (error) {
      this.errors = error instanceof ApiError ? error.fields() : {}
      this.formError = errorText(error)
    } finally {
      this.busy = false
    }
  }

  private field(name: string, label: string, input: unknown, hint = '') {
    const error = this.errors[name]
    return html`<label class="field"><span>${label}</span>${input}
      ${error ? html`<span class="field-error" role="alert">${error}</span>` : hint ? html`<span class="hint">${hint}</span>` : nothing}</label>`
  }

  override render() {
    const reset = this.user
    const invalid = (name: string) => (this.errors[name] ? 'true' : 'false')
    return html`
      <ta-modal size="small" heading=${reset ? `New password for ${reset.display_name || reset.login}` : 'Add a user'} .open=${this.open}
        @close=${() => { this.open = false; this.dispatchEvent(new Event('close')) }}>
        <form id="user" novalidate @submit=${this.submit}>
          ${this.formError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : nothing}
          ${reset ? nothing : html`
            ${this.field('login', 'Login', html`<input class="input" name="login" autocomplete="off" spellcheck="false" aria-invalid=${invalid('login')}>`)}
            ${this.field('display_name', 'Display name', html`<input class="input" name="display_name" autocomplete="off" aria-invalid=${invalid('display_name')}>`)}
            ${this.field('role', 'Role', html`<select class="input" name="role">
              <option value="viewer">Viewer: reads everything but secrets</option>
              <option value="member" selected>Member: works tickets, the board, the graph and notes</option>
              <option value="admin">Admin: settings, users, what runs on the host</option>
            </select>`)}`}
          ${this.field('password', reset ? 'New password' : 'Password', html`<input class="input" name="password" type="password" autocomplete="new-password" aria-invalid=${invalid('password')}>`,
            reset ? 'At least 8 characters. Their open sessions end.' : 'At least 8 characters; leave empty for an account that signs in only through single sign-on.')}
        </form>
        <button slot="footer" class="btn" type="button" @click=${() => (this.open = false)}>Cancel</button>
        <button slot="footer" class="btn primary" type="submit" form="user" ?disabled=${this.busy}>
          ${this.busy ? html`<span class="spinner"></span>` : nothing}${reset ? 'Set password' : 'Add user'}</button>
      </ta-modal>`
  }
}
customElements.define('ta-user-form', UserForm)
