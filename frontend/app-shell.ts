/** `<ta-app>`: the top bar and the routed page. */
import { LitElement, css, html } from 'lit'
import { setAdminToken } from './api.ts'
import { icons, logo } from './icons.ts'
import { liveState, onLiveState, type LiveState } from './live.ts'
import { currentRoute, onRoute, type Route } from './router.ts'
import { shared } from './styles.ts'
import './modal-dialog.ts'
import './projects-page.ts'
import './project-home.ts'
import './jobs-view.ts'
import './settings-page.ts'
import './shortcuts-dialog.ts'

export class AppShell extends LitElement {
  static override properties = {
    route: { state: true },
    live: { state: true },
    askToken: { state: true },
    help: { state: true },
  }
  declare route: Route
  declare live: LiveState
  declare askToken: boolean
  declare help: boolean
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
  `]

  constructor() {
    super()
    this.route = currentRoute()
    this.live = liveState()
    this.askToken = false
    this.help = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.stops.push(onRoute((route) => (this.route = route)))
    this.stops.push(onLiveState(() => (this.live = liveState())))
    const onAuth = () => (this.askToken = true)
    window.addEventListener('ta-auth-required', onAuth)
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

  private page() {
    const route = this.route
    switch (route.name) {
      case 'projects':
        return html`<ta-projects-page></ta-projects-page>`
      case 'project':
        return html`<ta-project-home .projectId=${route.projectId!} .tab=${route.tab!} .ticketId=${route.ticketId ?? null}></ta-project-home>`
      case 'jobs':
        return html`<ta-jobs-view></ta-jobs-view>`
      case 'settings':
        return html`<ta-settings-page></ta-settings-page>`
      default:
        return html`<div class="empty notfound"><h3>Page not found</h3><p>Nothing lives at <code>${route.path}</code>.</p><a class="btn" href="/">Go to projects</a></div>`
    }
  }

  private saveToken(event: SubmitEvent) {
    event.preventDefault()
    const input = (event.target as HTMLFormElement).elements.namedItem('token') as HTMLInputElement
    setAdminToken(input.value.trim() || null)
    location.reload()
  }

  override render() {
    const section = this.route.name === 'project' ? 'projects' : this.route.name
    const liveLabel = { open: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' }[this.live]
    return html`
      <header class="top">
        <a class="brand" href="/">${logo()} Terarchitect</a>
        <nav aria-label="Main">
          <a href="/" aria-current=${section === 'projects' ? 'page' : 'false'}>${icons.folder()} Projects</a>
          <a href="/jobs" aria-current=${section === 'jobs' ? 'page' : 'false'}>${icons.jobs()} Jobs</a>
          <a href="/settings" aria-current=${section === 'settings' ? 'page' : 'false'}>${icons.settings()} Settings</a>
        </nav>
        <button class="icon-btn help" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" @click=${() => (this.help = true)}><kbd>?</kbd></button>
        <div class="live ${this.live}" title="Live updates from the server">
          <span class="dot"></span>${liveLabel}
        </div>
      </header>
      <main class=${this.route.name === 'project' ? 'full' : ''}>${this.page()}</main>
      <ta-shortcuts .open=${this.help} @close=${() => (this.help = false)}></ta-shortcuts>
      <ta-modal size="small" heading="Admin token required" .open=${this.askToken} @close=${() => (this.askToken = false)}>
        <form id="token" @submit=${this.saveToken}>
          <p class="muted mb-12">This server is reachable from other machines, so it asks for the
            <code>TERARCHITECT_ADMIN_TOKEN</code> it was started with. It is kept in this browser only.</p>
          <label class="field"><span>Admin token</span><input class="input" name="token" type="password" autocomplete="off" required></label>
        </form>
        <button slot="footer" class="btn primary" type="submit" form="token">Save token</button>
      </ta-modal>`
  }
}
customElements.define('ta-app', AppShell)
