/**
 * `<ta-users-page>` (`/users`, admins): every account with its role and state; add a user, change a
 * role, disable or enable (disabling ends their sessions and API tokens at once), set a password.
 * The server keeps at least one enabled admin and says so when a change would leave none.
 */
import { LitElement, html, nothing } from 'lit'
import { api, errorText } from './api.ts'
import { timeAgo } from './format.ts'
import { icons } from './icons.ts'
import { session, type Role } from './session.ts'
import { pageStyles, shared } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import type { UserRow } from './user-form.ts'
import './user-form.ts'

export class UsersPage extends LitElement {
  static override properties = {
    users: { state: true },
    error: { state: true },
    formOpen: { state: true },
    resetting: { state: true },
  }
  declare users: UserRow[] | null
  declare error: string
  declare formOpen: boolean
  declare resetting: UserRow | null

  static override styles = [shared, pageStyles]

  constructor() {
    super()
    this.users = null
    this.error = ''
    this.formOpen = false
    this.resetting = null
  }

  override connectedCallback(): void {
    super.connectedCallback()
    void this.load()
  }

  async load() {
    try {
      this.users = await api.get<UserRow[]>('/api/users')
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private async change(user: UserRow, patch: { role?: Role; disabled?: boolean }, done: string) {
    try {
      const saved = await api.patch<UserRow>(`/api/users/${user.id}`, patch)
      this.users = this.users!.map((row) => (row.id === saved.id ? saved : row))
      notify(done, 'success')
    } catch (error) {
      notifyError(error, `Could not change ${user.login}`)
      await this.load()
    }
  }

  private row(user: UserRow) {
    const me = session()?.user?.id === user.id
    return html`<tr data-login=${user.login}>
      <td><b>${user.display_name || user.login}</b>${me ? html` <span class="badge accent">you</span>` : nothing}<div class="faint">@${user.login}${user.email ? ` · ${user.email}` : ''}</div></td>
      <td><select class="input" aria-label=${`Role of ${user.login}`} .value=${user.role}
        @change=${(e: Event) => this.change(user, { role: (e.target as HTMLSelectElement).value as Role }, `${user.login} is now ${(e.target as HTMLSelectElement).value}`)}>
        ${(['viewer', 'member', 'admin'] as const).map((role) => html`<option value=${role} ?selected=${user.role === role}>${role[0]!.toUpperCase() + role.slice(1)}</option>`)}
      </select></td>
      <td>${user.disabled ? html`<span class="badge danger">Disabled</span>` : html`<span class="badge success">Active</span>`}</td>
      <td>${user.has_password ? 'Password' : html`<span class="faint">Single sign-on only</span>`}</td>
      <td class="when">${timeAgo(user.created_at)}</td>
      <td class="actions">
        <button class="btn small" @click=${() => (this.resetting = user)}>Set password</button>
        ${user.disabled
          ? html`<button class="btn small" @click=${() => this.change(user, { disabled: false }, `${user.login} can sign in again`)}>Enable</button>`
          : html`<button class="btn small danger-ghost" title="Ends their sessions and revokes their API tokens"
              @click=${() => this.change(user, { disabled: true }, `${user.login} is disabled`)}>Disable</button>`}
      </td>
    </tr>`
  }

  override render() {
    const users = this.users
    return html`
      <div class="head">
        <div class="grow"><h1>Users</h1><p>Who can sign in, and what their role lets them do. Viewers read; members work the board; admins decide what runs.</p></div>
        <button class="btn primary" @click=${() => (this.formOpen = true)}>${icons.plus()} Add user</button>
      </div>
      ${this.error ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load users: ${this.error}</span><button class="btn small" @click=${() => this.load()}>Retry</button></div>` : nothing}
      ${!users ? (this.error ? nothing : html`<div class="row faint"><span class="spinner"></span> Loading users…</div>`)
        : !users.length ? html`<div class="empty"><h3>No accounts yet</h3><p>Create the first one in Settings: the app then asks everyone to sign in.</p></div>`
        : html`<table>
          <thead><tr><th>User</th><th>Role</th><th>Status</th><th>Sign-in</th><th>Created</th><th></th></tr></thead>
          <tbody>${users.map((user) => this.row(user))}</tbody>
        </table>`}
      <ta-user-form .open=${this.formOpen || !!this.resetting} .user=${this.resetting}
        @close=${() => { this.formOpen = false; this.resetting = null }}
        @saved=${(e: CustomEvent<UserRow>) => { notify(this.resetting ? `New password set for ${e.detail.login}` : `${e.detail.login} added`, 'success'); void this.load() }}></ta-user-form>`
  }
}
customElements.define('ta-users-page', UsersPage)
