/**
 * `<ta-graph-editor>`: the architecture graph of a project. Edits stay local until Save, which
 * PUTs the graph with the version it was based on; a 409 (someone saved meanwhile) is shown with
 * the choice to reload theirs or overwrite with yours, never silently resolved. Leaving with
 * unsaved changes (in-app or closing the tab) asks first.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import type { GraphCanvas, Selection } from './graph-canvas.ts'
import { NODE_TYPES, lookOf } from './graph-types.ts'
import { freeSpot, newId, placeMissing } from './graph-model.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { addGuard } from './router.ts'
import { cssProps } from './css-props.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import type { Graph, GraphEdge, GraphNode, Project } from './types.ts'
import './graph-canvas.ts'
import './graph-inspector.ts'

export class GraphEditor extends LitElement {
  static override properties = {
    project: { attribute: false },
    nodes: { state: true },
    edges: { state: true },
    version: { state: true },
    dirty: { state: true },
    selection: { state: true },
    mode: { state: true },
    connectFrom: { state: true },
    menuOpen: { state: true },
    saving: { state: true },
    error: { state: true },
    conflict: { state: true },
    loaded: { state: true },
  }
  declare project: Project
  declare nodes: GraphNode[]
  declare edges: GraphEdge[]
  declare version: number
  declare dirty: boolean
  declare selection: Selection
  declare mode: 'select' | 'connect'
  declare connectFrom: string | null
  declare menuOpen: boolean
  declare saving: boolean
  declare error: string
  /** The newer version someone else saved, when ours is stale. */
  declare conflict: number | null
  declare loaded: boolean
  private live = new LiveController(this, { project: () => this.project.id, onEvent: (type, data) => type === 'graph.updated' && this.onRemoteSave(data.version), load: () => this.load() })
  private removeGuard?: () => void
  private refusalShown = false

  static override styles = [shared, css`
    :host { display: flex; flex-direction: column; min-height: 0; position: relative; }
    .bar { flex: none; display: flex; align-items: center; gap: 8px; padding: 10px 16px; border-bottom: 1px solid var(--border); background: var(--surface); flex-wrap: wrap; }
    .sep { width: 1px; height: 22px; background: var(--border); margin: 0 4px; }
    .menu-wrap { position: relative; }
    .menu {
      position: absolute; top: 38px; left: 0; z-index: 10; width: 220px; padding: 6px; display: grid; gap: 2px;
      background: var(--surface); border: 1px solid var(--border); border-radius: 10px; box-shadow: var(--shadow-2);
    }
    .menu button { display: flex; align-items: center; gap: 9px; padding: 7px 9px; border: 0; border-radius: 6px; background: none; color: var(--text); font: 13px var(--font); cursor: pointer; text-align: left; }
    .menu button:hover, .menu button:focus-visible { background: var(--surface-2); outline: none; }
    .sw { width: 10px; height: 10px; border-radius: 3px; flex: none; }
    .btn[aria-pressed='true'] { background: var(--accent-soft); border-color: var(--accent); color: var(--accent); }
    .state { font-size: 12.5px; color: var(--text-3); display: flex; align-items: center; gap: 6px; }
    .state.dirty { color: var(--warning); }
    .main { flex: 1; min-height: 0; display: flex; }
    ta-graph-canvas { flex: 1; min-width: 0; }
    .banner { position: absolute; left: 50%; top: 64px; transform: translateX(-50%); z-index: 5; width: min(640px, calc(100% - 40px)); box-shadow: var(--shadow-2); }
    .hint { position: absolute; left: 50%; bottom: 18px; transform: translateX(-50%); background: var(--text); color: var(--bg); padding: 7px 12px; border-radius: 8px; font-size: 12.5px; box-shadow: var(--shadow-2); pointer-events: none; }
    .empty-canvas { position: absolute; inset: 0; display: grid; place-items: center; pointer-events: none; }
    .empty-canvas > div { pointer-events: auto; text-align: center; display: grid; gap: 10px; justify-items: center; max-width: 360px; color: var(--text-2); }
    .empty-canvas > div > svg { width: 44px; height: 44px; color: var(--text-3); }
    .empty-canvas h3 { color: var(--text); font-size: 16px; }
    .canvas-wrap { position: relative; flex: 1; display: flex; min-width: 0; }
  `]

  constructor() {
    super()
    this.nodes = []
    this.edges = []
    this.version = 0
    this.dirty = false
    this.selection = null
    this.mode = 'select'
    this.connectFrom = null
    this.menuOpen = false
    this.saving = false
    this.error = ''
    this.conflict = null
    this.loaded = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.removeGuard = addGuard(() => (this.dirty ? 'Your changes to the architecture graph are not saved yet.' : null))
    window.addEventListener('keydown', this.onKey)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.removeGuard?.()
    window.removeEventListener('keydown', this.onKey)
  }

  private get canvas(): GraphCanvas | null {
    return this.renderRoot.querySelector('ta-graph-canvas')
  }

  async load(): Promise<void> {
    try {
      const graph = await api.get<Graph>(`/api/projects/${this.project.id}/graph`)
      this.nodes = placeMissing(graph.nodes)
      this.edges = graph.edges
      this.version = graph.version
      this.dirty = false
      this.conflict = null
      this.selection = null
      this.error = ''
      this.loaded = true
      await this.updateComplete
      this.canvas?.fit()
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private onRemoteSave(version: number) {
    if (version <= this.version || this.saving) return
    if (!this.dirty) {
      void this.load().then(() => notify('The graph was updated by someone else; showing the latest.', 'info'))
    } else {
      this.conflict = version
    }
  }

  private change(nodes: GraphNode[], edges: GraphEdge[] = this.edges) {
    const refused = denied('member', 'edit the graph')
    if (refused) {
      // A viewer's drag or keystroke changes nothing; say why once, not on every pointer move.
      if (!this.refusalShown) notify(refused, 'info')
      this.refusalShown = true
      this.requestUpdate()
      return
    }
    this.nodes = nodes
    this.edges = edges
    this.dirty = true
  }

  private addNode(type: string) {
    this.menuOpen = false
    const at = freeSpot(this.nodes, this.canvas?.middle() ?? { x: 0, y: 0 })
    const node: GraphNode = { id: newId('n'), type, label: `New ${lookOf(type).label.toLowerCase()}`, x: at.x, y: at.y }
    this.change([...this.nodes, node])
    this.selection = { kind: 'node', id: node.id }
    void this.updateComplete.then(() => {
      const input = this.renderRoot.querySelector('ta-graph-inspector')?.shadowRoot?.querySelector<HTMLInputElement>('input[name="label"]')
      input?.select()
    })
  }

  private connect(source: string, target: string) {
    // One connection per Connect: the new edge is selected so it can be labelled right away.
    this.connectFrom = null
    this.mode = 'select'
    if (source === target) return
    const existing = this.edges.find((edge) => edge.source === source && edge.target === target)
    if (existing) {
      this.selection = { kind: 'edge', id: existing.id }
      notify('These two are already connected in this direction.', 'info')
      return
    }
    const edge: GraphEdge = { id: newId('e'), source, target, label: '', protocol: '' }
    this.change(this.nodes, [...this.edges, edge])
    this.selection = { kind: 'edge', id: edge.id }
  }

  private removeSelection() {
    const selection = this.selection
    if (!selection) return
    if (selection.kind === 'node') {
      this.change(this.nodes.filter((node) => node.id !== selection.id), this.edges.filter((edge) => edge.source !== selection.id && edge.target !== selection.id))
    } else {
      this.change(this.nodes, this.edges.filter((edge) => edge.id !== selection.id))
    }
    this.selection = null
  }

  private patch(detail: { kind: 'node' | 'edge'; id: string; patch: Record<string, unknown> }) {
    if (detail.kind === 'node') this.change(this.nodes.map((node) => (node.id === detail.id ? { ...node, ...detail.patch } : node)))
    else this.change(this.nodes, this.edges.map((edge) => (edge.id === detail.id ? { ...edge, ...detail.patch } : edge)))
  }

  async save(force = false): Promise<void> {
    if (this.saving) return
    this.saving = true
    try {
      let version = this.version
      if (force) version = (await api.get<Graph>(`/api/projects/${this.project.id}/graph`)).version
      const clean = (value: Record<string, unknown>) => Object.fromEntries(Object.entries(value).filter(([k, v]) => v !== undefined && (v !== '' || k === 'label')))
      const graph = await api.put<Graph>(`/api/projects/${this.project.id}/graph`, {
        nodes: this.nodes.map((node) => clean(node as Record<string, unknown>)),
        edges: this.edges.map((edge) => clean(edge as Record<string, unknown>)),
        version,
      })
      this.version = graph.version
      this.dirty = false
      this.conflict = null
      notify(`Graph saved (version ${graph.version})`, 'success')
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        const match = /now (\d+)/.exec(error.message)
        this.conflict = match ? Number(match[1]) : this.version + 1
      } else {
        notifyError(error, 'Could not save the graph')
      }
    } finally {
      this.saving = false
    }
  }

  /** Shortcuts work wherever focus is on the page (clicking the SVG leaves it on the body), except in dialogs. */
  private onKey = (event: KeyboardEvent) => {
    const path = event.composedPath() as HTMLElement[]
    if (event.defaultPrevented || path.some((node) => node.tagName === 'DIALOG' || node.tagName === 'TA-CONFIRM')) return
    const target = path[0]!
    const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || target.isContentEditable
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault()
      if (this.dirty) void this.save()
      return
    }
    if (typing) return
    if (event.key === 'Escape') {
      this.menuOpen = false
      this.connectFrom = null
      if (this.mode === 'connect') this.mode = 'select'
      else this.selection = null
    } else if ((event.key === 'Delete' || event.key === 'Backspace') && this.selection) {
      event.preventDefault()
      this.removeSelection()
    } else if (event.key.startsWith('Arrow') && this.selection?.kind === 'node') {
      event.preventDefault()
      const step = event.shiftKey ? 40 : 10
      const dx = event.key === 'ArrowLeft' ? -step : event.key === 'ArrowRight' ? step : 0
      const dy = event.key === 'ArrowUp' ? -step : event.key === 'ArrowDown' ? step : 0
      const id = this.selection.id
      this.change(this.nodes.map((node) => (node.id === id ? { ...node, x: (node.x ?? 0) + dx, y: (node.y ?? 0) + dy } : node)))
    } else if (event.key === 'c' && !event.ctrlKey && !event.metaKey) {
      this.toggleConnect()
    }
  }

  private toggleConnect() {
    this.mode = this.mode === 'connect' ? 'select' : 'connect'
    this.connectFrom = null
  }

  private toolbar() {
    const refused = denied('member', 'edit the graph')
    return html`<div class="bar">
      <div class="menu-wrap">
        <button class="btn primary" ?disabled=${!!refused} title=${refused ?? 'Add a node'} aria-haspopup="menu" aria-expanded=${this.menuOpen ? 'true' : 'false'} @click=${() => (this.menuOpen = !this.menuOpen)}>${icons.plus()} Add node</button>
        ${this.menuOpen ? html`<div class="menu" role="menu" @focusout=${(e: FocusEvent) => !this.renderRoot.querySelector('.menu-wrap')?.contains(e.relatedTarget as Node) && (this.menuOpen = false)}>
          ${NODE_TYPES.map((type) => html`<button role="menuitem" data-type=${type} @click=${() => this.addNode(type)}><span class="sw" ${cssProps({ background: lookOf(type).color })}></span>${lookOf(type).label}</button>`)}
        </div>` : nothing}
      </div>
      <button class="btn" aria-pressed=${this.mode === 'connect' ? 'true' : 'false'} title=${refused ?? 'Connect two nodes (C)'} ?disabled=${this.nodes.length < 2 || !!refused} @click=${() => this.toggleConnect()}>${icons.connect()} Connect</button>
      <button class="btn ghost" title=${refused ?? 'Delete the selection (Del)'} ?disabled=${!this.selection || !!refused} @click=${() => this.removeSelection()}>${icons.trash()} Delete</button>
      <span class="sep"></span>
      <button class="icon-btn" aria-label="Zoom in" title="Zoom in" @click=${() => this.canvas?.zoomBy(1.2)}>${icons.zoomIn()}</button>
      <button class="icon-btn" aria-label="Zoom out" title="Zoom out" @click=${() => this.canvas?.zoomBy(1 / 1.2)}>${icons.zoomOut()}</button>
      <button class="icon-btn" aria-label="Fit to screen" title="Fit to screen" @click=${() => this.canvas?.fit()}>${icons.fit()}</button>
      <span class="grow"></span>
      ${refused ? html`<span class="state" role="note">${icons.info()} ${refused}</span>` : nothing}
      <span class="state ${this.dirty ? 'dirty' : ''}" role="status">${this.dirty ? html`<span class="dot"></span> Unsaved changes` : this.loaded ? `Saved · version ${this.version}` : ''}</span>
      <button class="btn primary" ?disabled=${!this.dirty || this.saving || !!refused} @click=${() => this.save()} title=${refused ?? 'Save (Ctrl+S)'}>
        ${this.saving ? html`<span class="spinner"></span>` : icons.save()} Save</button>
    </div>`
  }

  override render() {
    if (this.error && !this.loaded) {
      return html`<div class="pad-24"><div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load the graph: ${this.error}</span>
        <button class="btn small" @click=${() => this.load()}>Retry</button></div></div>`
    }
    const selection = this.selection
    const node = selection?.kind === 'node' ? this.nodes.find((candidate) => candidate.id === selection.id) ?? null : null
    const edge = selection?.kind === 'edge' ? this.edges.find((candidate) => candidate.id === selection.id) ?? null : null
    return html`
      ${this.toolbar()}
      ${this.conflict !== null ? html`<div class="alert warning banner" role="alert">${icons.alert()}
        <div class="grow"><b>Someone else saved this graph</b> (version ${this.conflict}). Reload to get their version${this.dirty ? ' (your unsaved changes are lost)' : ''}, or overwrite it with yours.</div>
        <button class="btn small" @click=${() => this.load()}>Reload</button>
        ${this.dirty ? html`<button class="btn small danger-ghost" @click=${() => this.save(true)}>Overwrite</button>` : nothing}
      </div>` : nothing}
      <div class="main">
        <div class="canvas-wrap">
          <ta-graph-canvas .nodes=${this.nodes} .edges=${this.edges} .selection=${selection} .mode=${this.mode} .connectFrom=${this.connectFrom}
            @select=${(e: CustomEvent<Selection>) => (this.selection = e.detail)}
            @node-move=${(e: CustomEvent<{ id: string; x: number; y: number }>) => this.change(this.nodes.map((n) => (n.id === e.detail.id ? { ...n, x: e.detail.x, y: e.detail.y } : n)))}
            @connect-from=${(e: CustomEvent<string>) => { this.connectFrom = e.detail; this.selection = { kind: 'node', id: e.detail } }}
            @connect=${(e: CustomEvent<{ source: string; target: string }>) => this.connect(e.detail.source, e.detail.target)}></ta-graph-canvas>
          ${this.loaded && !this.nodes.length ? html`<div class="empty-canvas"><div>${icons.graph()}<h3>Model your architecture</h3>
            <p>Add the services, databases, queues and frontends of this system, then connect them. Agents read this graph with every ticket.</p>
            <button class="btn primary" ?disabled=${!!denied('member', 'edit the graph')} @click=${() => (this.menuOpen = true)}>${icons.plus()} Add the first node</button></div></div>` : nothing}
          ${this.mode === 'connect' ? html`<div class="hint">${this.connectFrom ? 'Now click the node it connects to' : 'Click the node the connection starts from'} · Esc to stop</div>` : nothing}
        </div>
        <ta-graph-inspector .node=${node} .edge=${edge} .nodes=${this.nodes} .stats=${{ nodes: this.nodes.length, edges: this.edges.length }}
          @patch=${(e: CustomEvent) => this.patch(e.detail)}
          @remove=${(e: CustomEvent<{ kind: 'node' | 'edge'; id: string }>) => { this.selection = e.detail; this.removeSelection() }}
          @reverse=${(e: CustomEvent<{ id: string }>) => this.change(this.nodes, this.edges.map((x) => (x.id === e.detail.id ? { ...x, source: x.target, target: x.source } : x)))}></ta-graph-inspector>
      </div>`
  }
}
customElements.define('ta-graph-editor', GraphEditor)
