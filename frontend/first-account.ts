/**
 * `<ta-first-account>`: on the local machine with no account yet, the settings page offers to
 * create the first one. It says what that changes: from then on everyone, this machine included
 * once its session ends, signs in, and the first account is an admin who invites the others.
 */
import { LitElement, css, html, nothing } from 'lit'
import { icons } from './icons.ts'
import { loadSession } from './session.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import './modal-dialog.ts'
import './setup-form.ts'

export class FirstAccount extends LitElement {
  static override properties = { open: { state: true }, done: { state: true } }
  declare open: boolean
  declare done: boolean

  static override styles = [shared, css`
    :host { display: block; }
    section { display: flex; gap: 14px; align-items: center; padding: 14px 18px; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-lg); margin-bottom: 18px; }
    section > svg { width: 20px; height: 20px; color: var(--text-3); flex: none; }
    h2 { font-size: 15px; }
    p { font-size: 12.5px; color: var(--text-2); margin-top: 2px; }
    .lead { font-size: 13px; margin-bottom: 14px; }
  `]

  constructor() {
    super()
    this.open = false
    this.done = false
  }

  private async created() {
    this.open = false
    this.done = true
    notify('Account created: you are signed in as its admin', 'success')
    await loadSession()
  }

  override render() {
    if (this.done) return nothing
    return html`
      <section id="accounts">
        ${icons.users()}
        <div class="grow"><h2>Accounts</h2>
          <p>No account needed on this machine. To let a team in (or to reach the app from another machine), create the first account: the app then asks everyone to sign in.</p></div>
        <button class="btn" @click=${() => (this.open = true)}>Create the first account</button>
      </section>
      <ta-modal size="small" heading="Create the first account" .open=${this.open} @close=${() => (this.open = false)}>
        <p class="lead muted">This account is an admin. Once it exists the app switches to sign-in: every browser, and every script without an API token, must sign in.</p>
        <ta-setup-form @created=${() => this.created()}></ta-setup-form>
      </ta-modal>`
  }
}
customElements.define('ta-first-account', FirstAccount)
