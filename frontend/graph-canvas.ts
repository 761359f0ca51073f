/**
 * `<ta-graph-canvas>`: the SVG view of the architecture graph and its pointer interactions. It owns
 * only the view (pan and zoom); nodes and edges belong to the editor, which it tells about
 * selections, moves and new connections through events:
 * `select` {kind, id} | null · `node-move` {id, x, y} · `move-end` · `connect` {source, target}.
 * Dragging empty space pans, the wheel zooms around the pointer, a node's right handle (or Connect
 * mode: click the source, then the target) draws an edge.
 */
import { LitElement, css, html, svg, nothing } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import { lookOf } from './graph-types.ts'
import { NODE_H, NODE_W, bends, edgePath, fitView, nodeAt, type Point, type View } from './graph-model.ts'
import type { GraphEdge, GraphNode } from './types.ts'

export type Selection = { kind: 'node' | 'edge'; id: string } | null

type Drag =
  | { kind: 'pan'; startX: number; startY: number; view: View; moved: boolean }
  | { kind: 'node'; id: string; offset: Point; startX: number; startY: number; moved: boolean }
  | { kind: 'link'; from: string; to: Point }

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

export class GraphCanvas extends LitElement {
  static override properties = {
    nodes: { attribute: false },
    edges: { attribute: false },
    selection: { attribute: false },
    mode: {},
    connectFrom: { attribute: false },
    view: { state: true },
    drag: { state: true },
  }
  declare nodes: GraphNode[]
  declare edges: GraphEdge[]
  declare selection: Selection
  declare mode: 'select' | 'connect'
  declare connectFrom: string | null
  declare view: View
  declare drag: Drag | null

  static override styles = css`
    :host { display: block; position: relative; overflow: hidden; background: var(--bg); outline: none; }
    svg { display: block; width: 100%; height: 100%; touch-action: none; user-select: none; cursor: grab; }
    svg.panning { cursor: grabbing; }
    svg.connect { cursor: crosshair; }
    .dots { fill: var(--border-strong); }
    .node { cursor: pointer; outline: none; }
    .node .box { fill: var(--surface); stroke: var(--border-strong); stroke-width: 1; filter: drop-shadow(0 1px 2px rgba(16, 24, 40, .10)); }
    .node:hover .box { stroke: var(--text-3); }
    .node.selected .box, .node:focus-visible .box { stroke: var(--accent); stroke-width: 2; }
    .node.source .box { stroke: var(--accent); stroke-dasharray: 5 3; stroke-width: 2; }
    .label { font: 600 13px var(--font); fill: var(--text); }
    .sub { font: 11.5px var(--font); fill: var(--text-3); }
    .glyph { fill: none; stroke: #fff; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
    .handle { fill: var(--surface); stroke: var(--accent); stroke-width: 2; opacity: 0; cursor: crosshair; transition: opacity .1s; }
    .node:hover .handle, .node.selected .handle { opacity: 1; }
    .edge { cursor: pointer; }
    .edge .line { fill: none; stroke: var(--text-3); stroke-width: 1.6; }
    .edge .hit { fill: none; stroke: transparent; stroke-width: 14; }
    .edge:hover .line { stroke: var(--text-2); }
    .edge.selected .line { stroke: var(--accent); stroke-width: 2.4; }
    .edge-label rect { fill: var(--surface); stroke: var(--border); }
    .edge-label text { font: 11px var(--font); fill: var(--text-2); }
    .edge.selected .edge-label rect { stroke: var(--accent); }
    .arrow { fill: var(--text-3); }
    .arrow.on { fill: var(--accent); }
    .linking { stroke: var(--accent); stroke-width: 2; stroke-dasharray: 6 4; fill: none; pointer-events: none; }
  `

  constructor() {
    super()
    this.nodes = []
    this.edges = []
    this.selection = null
    this.mode = 'select'
    this.connectFrom = null
    this.view = { x: 0, y: 0, k: 1 }
    this.drag = null
  }

  private emit(name: string, detail: unknown = null) {
    this.dispatchEvent(new CustomEvent(name, { detail }))
  }

  private size() {
    const box = this.getBoundingClientRect()
    return { width: box.width || 800, height: box.height || 600 }
  }

  /** Graph coordinates of a pointer event. */
  private toGraph(event: { clientX: number; clientY: number }): Point {
    const box = this.getBoundingClientRect()
    return { x: (event.clientX - box.left - this.view.x) / this.view.k, y: (event.clientY - box.top - this.view.y) / this.view.k }
  }

  fit(): void {
    const { width, height } = this.size()
    this.view = fitView(this.nodes, width, height)
  }

  zoomBy(factor: number, around?: Point): void {
    const { width, height } = this.size()
    const at = around ?? { x: width / 2, y: height / 2 }
    const k = Math.max(0.2, Math.min(3, this.view.k * factor))
    const ratio = k / this.view.k
    this.view = { k, x: at.x - (at.x - this.view.x) * ratio, y: at.y - (at.y - this.view.y) * ratio }
  }

  /** The graph point at the middle of the viewport (where new nodes go). */
  middle(): Point {
    const { width, height } = this.size()
    return { x: (width / 2 - this.view.x) / this.view.k, y: (height / 2 - this.view.y) / this.view.k }
  }

  private onWheel = (event: WheelEvent) => {
    event.preventDefault()
    const box = this.getBoundingClientRect()
    // Pinch gestures arrive as ctrl+wheel with small deltas; a mouse wheel as ±100.
    this.zoomBy(Math.exp(-event.deltaY * (event.ctrlKey ? 0.01 : 0.0015)), { x: event.clientX - box.left, y: event.clientY - box.top })
  }

  /** Set while a pointer is down: focus that follows a click must not re-select (it would undo a connect). */
  private pressing = false

  /** Enter or Space on a focused node: the keyboard's click (picks connection ends in Connect mode). */
  private onNodeKey(event: KeyboardEvent, id: string) {
    if (event.key !== 'Enter' && event.key !== ' ') return
    event.preventDefault()
    if (this.mode !== 'connect') this.emit('select', { kind: 'node', id })
    else if (!this.connectFrom) this.emit('connect-from', id)
    else if (this.connectFrom !== id) this.emit('connect', { source: this.connectFrom, target: id })
  }

  private onFocusNode(id: string) {
    if (this.pressing || this.mode === 'connect') return
    if (this.selection?.kind !== 'node' || this.selection.id !== id) this.emit('select', { kind: 'node', id })
  }

  private onPointerDown = (event: PointerEvent) => {
    if (event.button !== 0) return
    this.pressing = true
    setTimeout(() => (this.pressing = false), 0)
    const target = event.target as Element
    const nodeEl = target.closest<SVGGElement>('.node')
    const edgeEl = target.closest<SVGGElement>('.edge')
    const svgEl = event.currentTarget as SVGSVGElement
    if (target.classList.contains('handle') && nodeEl) {
      svgEl.setPointerCapture(event.pointerId)
      this.drag = { kind: 'link', from: nodeEl.dataset.id!, to: this.toGraph(event) }
      return
    }
    if (nodeEl) {
      const id = nodeEl.dataset.id!
      if (this.mode === 'connect') {
        if (!this.connectFrom) this.emit('connect-from', id)
        else if (this.connectFrom !== id) this.emit('connect', { source: this.connectFrom, target: id })
        return
      }
      const node = this.nodes.find((candidate) => candidate.id === id)!
      const at = this.toGraph(event)
      svgEl.setPointerCapture(event.pointerId)
      this.drag = { kind: 'node', id, offset: { x: at.x - (node.x ?? 0), y: at.y - (node.y ?? 0) }, startX: event.clientX, startY: event.clientY, moved: false }
      this.emit('select', { kind: 'node', id })
      return
    }
    if (edgeEl) {
      this.emit('select', { kind: 'edge', id: edgeEl.dataset.id! })
      return
    }
    svgEl.setPointerCapture(event.pointerId)
    this.drag = { kind: 'pan', startX: event.clientX, startY: event.clientY, view: this.view, moved: false }
  }

  private onPointerMove = (event: PointerEvent) => {
    const drag = this.drag
    if (!drag) return
    if (drag.kind === 'pan') {
      const dx = event.clientX - drag.startX
      const dy = event.clientY - drag.startY
      if (!drag.moved && Math.hypot(dx, dy) < 3) return
      this.drag = { ...drag, moved: true }
      this.view = { ...drag.view, x: drag.view.x + dx, y: drag.view.y + dy }
    } else if (drag.kind === 'node') {
      if (!drag.moved && Math.hypot(event.clientX - drag.startX, event.clientY - drag.startY) < 3) return
      drag.moved = true
      const at = this.toGraph(event)
      this.emit('node-move', { id: drag.id, x: Math.round(at.x - drag.offset.x), y: Math.round(at.y - drag.offset.y) })
    } else {
      this.drag = { ...drag, to: this.toGraph(event) }
    }
  }

  private onPointerUp = (event: PointerEvent) => {
    const drag = this.drag
    this.drag = null
    if (!drag) return
    if (drag.kind === 'pan' && !drag.moved) this.emit('select', null)
    if (drag.kind === 'node' && drag.moved) this.emit('move-end')
    if (drag.kind === 'link') {
      const target = nodeAt(this.nodes, this.toGraph(event))
      if (target && target.id !== drag.from) this.emit('connect', { source: drag.from, target: target.id })
    }
  }

  private node(node: GraphNode) {
    const look = lookOf(node.type)
    const selected = this.selection?.kind === 'node' && this.selection.id === node.id
    const ports = node.ports?.length ? node.ports.map((port) => (typeof port === 'number' ? `:${port}` : port)).join(' ') : ''
    const sub = [node.tech, ports].filter(Boolean).join(' · ') || look.label
    return svg`<g class="node ${selected ? 'selected' : ''} ${this.connectFrom === node.id ? 'source' : ''}" data-id=${node.id}
        transform="translate(${node.x ?? 0},${node.y ?? 0})" tabindex="0" role="button"
        aria-label="${look.label}: ${node.label || node.id}" @focus=${() => this.onFocusNode(node.id)} @keydown=${(event: KeyboardEvent) => this.onNodeKey(event, node.id)}>
      <rect class="box" width=${NODE_W} height=${NODE_H} rx="11"></rect>
      <rect x="12" y="15" width="32" height="32" rx="8" fill=${look.color}></rect>
      <g class="glyph" transform="translate(18,21) scale(0.833)">${look.icon}</g>
      <text class="label" x="54" y="28">${clip(node.label || 'Untitled', 18)}</text>
      <text class="sub" x="54" y="45">${clip(sub, 22)}</text>
      <circle class="handle" cx=${NODE_W} cy=${NODE_H / 2} r="6"><title>Drag to connect</title></circle>
    </g>`
  }

  private edge(edge: GraphEdge, byId: Map<string, GraphNode>, bend: number) {
    const source = byId.get(edge.source)
    const target = byId.get(edge.target)
    if (!source || !target) return nothing
    const { d, mid } = edgePath(source, target, bend)
    const selected = this.selection?.kind === 'edge' && this.selection.id === edge.id
    const text = [edge.label, edge.protocol].filter(Boolean).join(' · ')
    const width = text.length * 6.2 + 14
    return svg`<g class="edge ${selected ? 'selected' : ''}" data-id=${edge.id}>
      <path class="hit" d=${d}></path>
      <path class="line" d=${d} marker-end=${selected ? 'url(#arrow-on)' : 'url(#arrow)'}></path>
      ${text ? svg`<g class="edge-label" transform="translate(${mid.x},${mid.y})">
        <rect x=${-width / 2} y="-10" width=${width} height="20" rx="10"></rect>
        <text text-anchor="middle" y="4">${clip(text, 40)}</text></g>` : nothing}
    </g>`
  }

  /** SVG paints in document order: the selected node last, so it is drawn over any it overlaps. */
  private paintOrder(): GraphNode[] {
    const id = this.selection?.kind === 'node' ? this.selection.id : null
    const selected = id === null ? undefined : this.nodes.find((node) => node.id === id)
    return selected ? [...this.nodes.filter((node) => node !== selected), selected] : this.nodes
  }

  private focusedNode: string | null = null

  // Moving the focused node to the end takes the focus from it (a DOM move is a removal): given back.
  protected override willUpdate(): void {
    this.focusedNode = (this.shadowRoot?.activeElement as HTMLElement | null)?.closest?.('.node')?.getAttribute('data-id') ?? null
  }

  protected override updated(): void {
    if (this.focusedNode === null) return
    const node = this.renderRoot.querySelector<SVGGElement>(`.node[data-id="${CSS.escape(this.focusedNode)}"]`)
    if (node && this.shadowRoot?.activeElement !== node) node.focus({ preventScroll: true })
  }

  override render() {
    const { view, drag } = this
    const byId = new Map(this.nodes.map((node) => [node.id, node]))
    const bent = bends(this.edges)
    const link = drag?.kind === 'link' ? byId.get(drag.from) : undefined
    const grid = 22 * view.k
    return html`<svg class="${drag?.kind === 'pan' && drag.moved ? 'panning' : ''} ${this.mode === 'connect' ? 'connect' : ''}"
        @pointerdown=${this.onPointerDown} @pointermove=${this.onPointerMove} @pointerup=${this.onPointerUp} @pointercancel=${this.onPointerUp}
        @wheel=${this.onWheel} role="application" aria-label="Architecture graph">
      <defs>
        <pattern id="dots" width=${grid} height=${grid} patternUnits="userSpaceOnUse" x=${view.x % grid} y=${view.y % grid}>
          <circle class="dots" cx="1" cy="1" r=${Math.max(0.6, view.k)}></circle>
        </pattern>
        <marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrow" d="M0,0 L10,5 L0,10 z"></path></marker>
        <marker id="arrow-on" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrow on" d="M0,0 L10,5 L0,10 z"></path></marker>
      </defs>
      <rect width="100%" height="100%" fill="url(#dots)"></rect>
      <g transform="translate(${view.x},${view.y}) scale(${view.k})">
        ${repeat(this.edges, (edge) => edge.id, (edge) => this.edge(edge, byId, bent.get(edge.id) ?? 0))}
        ${repeat(this.paintOrder(), (node) => node.id, (node) => this.node(node))}
        ${link && drag?.kind === 'link' ? svg`<line class="linking" x1=${(link.x ?? 0) + NODE_W} y1=${(link.y ?? 0) + NODE_H / 2} x2=${drag.to.x} y2=${drag.to.y}></line>` : nothing}
      </g>
    </svg>`
  }
}
customElements.define('ta-graph-canvas', GraphCanvas)
