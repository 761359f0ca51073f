/**
 * `<ta-user-menu>`: who is signed in (name, role) in the top bar, with API tokens and Sign out.
 * The local admin (zero setup on this machine) has no account, so no tokens and no sign-out.
 */
import { LitElement, css, html, nothing } from 'lit'
import { icons } from './icons.ts'
import { role, signOut, type Me } from './session.ts'
import { shared } from './styles.ts'
import { notifyError } from './toast-host.ts'

const ROLE_LABEL = { admin: 'Admin', member: 'Member', viewer: 'Viewer' }

export class UserMenu extends LitElement {
  static override properties = { me: { attribute: false }, open: { state: true } }
  /** The session to show (the shell passes it, so the menu follows sign-in changes). */
  declare me: Me | null
  declare open: boolean

  static override styles = [shared, css`
    :host { position: relative; }
    .who { display: inline-flex; align-items: center; gap: 8px; height: 32px; padding: 0 8px 0 4px; border-radius: 8px; border: 0; background: none; color: var(--text); font: 500 13px var(--font); cursor: pointer; }
    .who:hover, .who[aria-expanded='true'] { background: var(--surface-2); }
    .who:focus-visible { outline: none; box-shadow: var(--focus); }
    .avatar { display: grid; place-items: center; width: 24px; height: 24px; border-radius: 50%; background: var(--accent-soft); color: var(--accent); font-weight: 650; font-size: 12px; }
    .menu {
      position: absolute; right: 0; top: 40px; z-index: 30; width: 240px; padding: 6px; background: var(--surface);
      border: 1px solid var(--border); border-radius: 10px; box-shadow: var(--shadow-2); display: grid; gap: 2px;
    }
    .head { padding: 8px 10px 10px; border-bottom: 1px solid var(--border); margin-bottom: 4px; display: grid; gap: 4px; }
    .head b { font-weight: 600; }
    .head .faint { font-size: 12px; }
    .item { display: flex; align-items: center; gap: 9px; padding: 7px 10px; border-radius: 6px; border: 0; background: none; color: var(--text); font: 13px var(--font); cursor: pointer; text-align: left; width: 100%; }
    .item:hover, .item:focus-visible { background: var(--surface-2); outline: none; text-decoration: none; }
    .item svg { width: 15px; height: 15px; color: var(--text-3); }
  `]

  constructor() {
    super()
    this.me = null
    this.open = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    document.addEventListener('click', this.onOutside)
    document.addEventListener('keydown', this.onKey)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    document.removeEventListener('click', this.onOutside)
    document.removeEventListener('keydown', this.onKey)
  }

  private onOutside = (event: MouseEvent) => {
    if (this.open && !event.composedPath().includes(this)) this.open = false
  }

  private onKey = (event: KeyboardEvent) => {
    if (this.open && event.key === 'Escape') this.open = false
  }

  private async signOut() {
    this.open = false
    try {
      await signOut()
    } catch (error) {
      notifyError(error, 'Could not sign out')
    }
  }

  override render() {
    const me = this.me
    const current = role()
    if (!me || !current) return nothing
    const name = me.user ? me.user.display_name || me.user.login : 'Local admin'
    return html`
      <button class="who" aria-haspopup="menu" aria-expanded=${this.open ? 'true' : 'false'} @click=${() => (this.open = !this.open)}
        title=${`${name} · ${ROLE_LABEL[current]}`}>
        <span class="avatar" aria-hidden="true">${name.slice(0, 1).toUpperCase()}</span>${name}
      </button>
      ${this.open ? html`<div class="menu" role="menu" @click=${() => (this.open = false)}>
        <div class="head">
          <b>${name}</b>
          ${me.user ? html`<span class="faint">@${me.user.login}</span>` : html`<span class="faint">No account needed on this machine</span>`}
          <span><span class="badge ${current === 'admin' ? 'accent' : ''}">${ROLE_LABEL[current]}</span></span>
        </div>
        ${me.user ? html`<a class="item" role="menuitem" href="/tokens">${icons.key()} API tokens</a>` : nothing}
        ${me.user ? html`<button class="item" role="menuitem" @click=${() => this.signOut()}>${icons.signOut()} Sign out</button>`
          : me.setup_required ? html`<a class="item" role="menuitem" href="/settings#accounts">${icons.plus()} Create the first account</a>` : nothing}
      </div>` : nothing}`
  }
}
customElements.define('ta-user-menu', UserMenu)
