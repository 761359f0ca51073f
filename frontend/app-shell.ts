/**
 * `<ta-app>`: asks the server who is here (`/api/auth/me`) before anything else, then shows the
 * first-admin page (no account yet, not on the local machine), the sign-in page, or the top bar
 * and the routed page. Any 401 (an API call, or the live stream refused) closes the streams and
 * shows the sign-in page in place, so the URL (the intended page) is kept for after signing in.
 */
import { LitElement, css, html, nothing } from 'lit'
import { errorText } from './api.ts'
import { icons, logo } from './icons.ts'
import { liveState, onLiveState, onStreamRefused, stopLive, type LiveState } from './live.ts'
import { currentRoute, onRoute, type Route } from './router.ts'
import { denied, loadSession, onSession, role, signedIn, type Me } from './session.ts'
import { shared } from './styles.ts'
import { lazy } from './lazy.ts'
import './projects-page.ts'
import './project-home.ts'
import './shortcuts-dialog.ts'
import './sign-in-page.ts'
import './setup-page.ts'
import './user-menu.ts'

/** The build (core/version.ts), baked in by scripts/build.mjs; the server's /api/health says the same. */
declare const __TERARCHITECT_BUILD__: { version: string; commit: string } | undefined
const BUILD_ID = typeof __TERARCHITECT_BUILD__ === 'undefined' ? 'dev' : `${__TERARCHITECT_BUILD__.version}+${__TERARCHITECT_BUILD__.commit}`

export class AppShell extends LitElement {
  static override properties = {
    route: { state: true },
    live: { state: true },
    help: { state: true },
    me: { state: true },
    notice: { state: true },
    bootError: { state: true },
  }
  declare route: Route
  declare live: LiveState
  declare help: boolean
  declare me: Me | null
  /** Said on the sign-in page: why the person is asked to sign in again. */
  declare notice: string
  declare bootError: string
  private stops: (() => void)[] = []

  static override styles = [shared, css`
    :host { display: flex; flex-direction: column; height: 100vh; }
    .top {
      flex: none; display: flex; align-items: center; gap: 18px; height: 52px; padding: 0 20px;
      background: var(--surface); border-bottom: 1px solid var(--border);
    }
    .brand { display: flex; align-items: center; gap: 9px; font-weight: 650; font-size: 15px; color: var(--text); letter-spacing: -0.01em; }
    .brand:hover { text-decoration: none; }
    .brand svg { width: 24px; height: 24px; }
    .build { font: 400 11px var(--mono); color: var(--text-3); }
    nav { display: flex; gap: 2px; }
    nav a {
      display: inline-flex; align-items: center; gap: 7px; height: 32px; padding: 0 11px; border-radius: 7px;
      color: var(--text-2); font-weight: 500;
    }
    nav a svg { width: 16px; height: 16px; }
    nav a:hover { background: var(--surface-2); color: var(--text); text-decoration: none; }
    nav a[aria-current='page'] { color: var(--text); background: var(--surface-2); }
    .help { margin-left: auto; }
    .help kbd { font: 600 12px var(--mono); }
    .live { display: flex; align-items: center; gap: 7px; font-size: 12px; color: var(--text-3); }
    .live .dot { width: 8px; height: 8px; }
    .live.open .dot { background: var(--success); box-shadow: 0 0 0 3px color-mix(in srgb, var(--success) 20%, transparent); }
    .live.reconnecting .dot { background: var(--warning); animation: pulse 1.2s infinite; }
    .live.connecting .dot { background: var(--text-3); }
    main { flex: 1; min-height: 0; overflow: auto; }
    main.full { overflow: hidden; display: flex; flex-direction: column; }
    .notfound { max-width: 480px; margin: 80px auto; }
    .boot { display: grid; place-items: center; height: 100%; color: var(--text-3); gap: 12px; align-content: center; }
  `]

  constructor() {
    super()
    this.route = currentRoute()
    this.live = liveState()
    this.help = false
    this.me = null
    this.notice = ''
    this.bootError = ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.stops.push(onRoute((route) => (this.route = route)))
    this.stops.push(onLiveState(() => (this.live = liveState())))
    this.stops.push(onSession((me) => (this.me = me)))
    const onAuth = () => void this.recheck()
    window.addEventListener('ta-auth-required', onAuth)
    onStreamRefused(onAuth)
    void this.boot()
    this.stops.push(() => window.removeEventListener('ta-auth-required', onAuth))
    const onKey = (event: KeyboardEvent) => {
      const path = event.composedPath() as HTMLElement[]
      const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(path[0]?.tagName ?? '') || path.some((node) => node.tagName === 'DIALOG')
      if (event.key === '?' && !typing) this.help = true
    }
    window.addEventListener('keydown', onKey)
    this.stops.push(() => window.removeEventListener('keydown', onKey))
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    for (const stop of this.stops.splice(0)) stop()
  }

  private async boot() {
    try {
      await loadSession()
      this.bootError = ''
    } catch (error) {
      this.bootError = errorText(error)
    }
  }

  /** After a 401: is the session over? Then the streams stop and the sign-in page shows. */
  private async recheck() {
    if (!this.me || !signedIn(this.me)) return
    const me = await loadSession().catch(() => null)
    if (me && !signedIn(me)) {
      stopLive()
      this.notice = 'Your session ended. Sign in again to continue.'
    }
  }

  private async signedIn() {
    this.notice = ''
    await this.boot()
  }

  private adminOnly(what: string, page: unknown) {
    const why = denied('admin', what)
    return why ? html`<div class="empty notfound"><h3>${why}</h3><p>Ask an admin if you need this.</p><a class="btn" href="/">Go to projects</a></div>` : page
  }

  private page() {
    const route = this.route
    switch (route.name) {
      case 'projects':
        return html`<ta-projects-page></ta-projects-page>`
      case 'project':
        return html`<ta-project-home .projectId=${route.projectId!} .tab=${route.tab!} .ticketId=${route.ticketId ?? null}></ta-project-home>`
      case 'jobs':
        return lazy(import('./jobs-view.ts'), html`<ta-jobs-view></ta-jobs-view>`)
      case 'coordinators': {
        const why = denied('member', 'see coordinators')
        return why ? html`<div class="empty notfound"><h3>${why}</h3></div>` : lazy(import('./coordinators-page.ts'), html`<ta-coordinators-page></ta-coordinators-page>`)
      }
      case 'settings':
        return lazy(import('./settings-page.ts'), html`<ta-settings-page></ta-settings-page>`)
      case 'users':
        return this.adminOnly('manage users', lazy(import('./users-page.ts'), html`<ta-users-page></ta-users-page>`))
      case 'audit':
        return this.adminOnly('read the audit log', lazy(import('./audit-page.ts'), html`<ta-audit-page></ta-audit-page>`))
      case 'notifications':
        return this.adminOnly('manage notifications', lazy(import('./notifications-page.ts'), html`<ta-notifications-page></ta-notifications-page>`))
      case 'tokens':
        return lazy(import('./tokens-page.ts'), html`<ta-tokens-page></ta-tokens-page>`)
      default:
        return html`<div class="empty notfound"><h3>Page not found</h3><p>Nothing lives at <code>${route.path}</code>.</p><a class="btn" href="/">Go to projects</a></div>`
    }
  }

  override render() {
    const me = this.me
    if (!me) {
      return this.bootError
        ? html`<div class="boot"><span>Cannot reach the Terarchitect server: ${this.bootError}</span><button class="btn" @click=${() => this.boot()}>Try again</button></div>`
        : html`<div class="boot"><span class="spinner"></span></div>`
    }
    if (me.setup_required && !me.local) return html`<ta-setup-page @signed-in=${() => this.signedIn()}></ta-setup-page>`
    if (!signedIn(me)) return html`<ta-sign-in .methods=${me.methods} .notice=${this.notice} @signed-in=${() => this.signedIn()}></ta-sign-in>`
    const section = this.route.name === 'project' ? 'projects' : this.route.name
    const link = (path: string, name: string, icon: unknown, label: string) =>
      html`<a href=${path} aria-current=${section === name ? 'page' : 'false'}>${icon} ${label}</a>`
    const liveLabel = { open: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' }[this.live]
    return html`
      <header class="top">
        <a class="brand" href="/">${logo()} Terarchitect</a>
        <span class="build" title="Build (version+commit)">${BUILD_ID}</span>
        <nav aria-label="Main">
          ${link('/', 'projects', icons.folder(), 'Projects')}
          ${link('/jobs', 'jobs', icons.jobs(), 'Jobs')}
          ${link('/coordinators', 'coordinators', icons.server(), 'Coordinators')}
          ${link('/settings', 'settings', icons.settings(), 'Settings')}
          ${role() === 'admin' ? html`${link('/users', 'users', icons.users(), 'Users')}${link('/audit', 'audit', icons.audit(), 'Audit')}${link('/notifications', 'notifications', icons.message(), 'Notifications')}` : nothing}
        </nav>
        <button class="icon-btn help" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" @click=${() => (this.help = true)}><kbd>?</kbd></button>
        <div class="live ${this.live}" title="Live updates from the server">
          <span class="dot"></span>${liveLabel}
        </div>
        <ta-user-menu .me=${me}></ta-user-menu>
      </header>
      <main class=${this.route.name === 'project' ? 'full' : ''}>${this.page()}</main>
      <ta-shortcuts .open=${this.help} @close=${() => (this.help = false)}></ta-shortcuts>`
  }
}
customElements.define('ta-app', AppShell)
