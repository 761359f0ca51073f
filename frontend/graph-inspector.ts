/**
 * `<ta-graph-inspector>`: the side panel of the graph editor. Edits the selected node (label, type,
 * tech, ports, description) or edge (label, protocol, direction); with nothing selected it shows
 * the shortcuts. Fires `patch` {kind, id, patch}, `remove` {kind, id} and `reverse` {id}.
 */
import { LitElement, css, html } from 'lit'
import { NODE_TYPES, lookOf } from './graph-types.ts'
import { parsePorts } from './graph-model.ts'
import { icons } from './icons.ts'
import { cssProps } from './css-props.ts'
import { shared } from './styles.ts'
import type { GraphEdge, GraphNode } from './types.ts'

const PROTOCOLS = ['HTTP', 'HTTPS', 'gRPC', 'GraphQL', 'WebSocket', 'SQL', 'Redis', 'AMQP', 'Kafka', 'SQS', 'SMTP', 'TCP']

export class GraphInspector extends LitElement {
  static override properties = {
    node: { attribute: false },
    edge: { attribute: false },
    nodes: { attribute: false },
    stats: { attribute: false },
  }
  declare node: GraphNode | null
  declare edge: GraphEdge | null
  declare nodes: GraphNode[]
  declare stats: { nodes: number; edges: number }

  static override styles = [shared, css`
    :host { display: block; width: 300px; flex: none; border-left: 1px solid var(--border); background: var(--surface); overflow: auto; }
    .pane { padding: 16px; }
    h3 { font-size: 14px; margin-bottom: 14px; display: flex; align-items: center; gap: 8px; }
    h3 svg { width: 16px; height: 16px; flex: none; color: var(--text-3); }
    .sw { width: 12px; height: 12px; border-radius: 4px; }
    .types { display: grid; grid-template-columns: repeat(2, 1fr); gap: 6px; }
    .type { display: flex; align-items: center; gap: 7px; padding: 6px 8px; border: 1px solid var(--border); border-radius: 7px; cursor: pointer; font-size: 12.5px; background: var(--surface); color: var(--text); font-family: var(--font); }
    .type[aria-pressed='true'] { border-color: var(--accent); background: var(--accent-soft); }
    .type .sw { width: 9px; height: 9px; border-radius: 3px; }
    .ends { display: flex; align-items: center; gap: 6px; margin-bottom: 14px; font-weight: 500; flex-wrap: wrap; }
    .ends svg { width: 14px; height: 14px; color: var(--text-3); }
    dl { display: grid; grid-template-columns: auto 1fr; gap: 8px 12px; margin: 0 0 18px; font-size: 13px; }
    dt { color: var(--text-2); }
    dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
    kbd { font: 11px var(--mono); padding: 1px 5px; border: 1px solid var(--border-strong); border-bottom-width: 2px; border-radius: 4px; background: var(--surface-2); }
    ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; font-size: 12.5px; color: var(--text-2); }
    .danger-zone { margin-top: 8px; }
  `]

  constructor() {
    super()
    this.node = null
    this.edge = null
    this.nodes = []
    this.stats = { nodes: 0, edges: 0 }
  }

  private patch(kind: 'node' | 'edge', id: string, patch: Record<string, unknown>) {
    this.dispatchEvent(new CustomEvent('patch', { detail: { kind, id, patch } }))
  }

  private removeItem(kind: 'node' | 'edge', id: string) {
    this.dispatchEvent(new CustomEvent('remove', { detail: { kind, id } }))
  }

  private text(kind: 'node' | 'edge', id: string, key: string, label: string, value: string, options: { area?: boolean; placeholder?: string; list?: string } = {}) {
    const onInput = (event: InputEvent) => this.patch(kind, id, { [key]: (event.target as HTMLInputElement).value })
    return html`<label class="field"><span>${label}</span>${options.area
      ? html`<textarea class="input" name=${key} rows="4" placeholder=${options.placeholder ?? ''} .value=${value} @input=${onInput}></textarea>`
      : html`<input class="input" name=${key} autocomplete="off" placeholder=${options.placeholder ?? ''} list=${options.list ?? ''} .value=${value} @input=${onInput}>`}</label>`
  }

  private nodePane(node: GraphNode) {
    const look = lookOf(node.type)
    return html`<div class="pane">
      <h3><span class="sw" ${cssProps({ background: look.color })}></span>${look.label}</h3>
      ${this.text('node', node.id, 'label', 'Label', node.label, { placeholder: 'Orders API' })}
      <div class="field"><span class="label">Type</span>
        <div class="types" role="group" aria-label="Node type">
          ${NODE_TYPES.map((type) => html`<button class="type" aria-pressed=${node.type === type ? 'true' : 'false'} @click=${() => this.patch('node', node.id, { type })}>
            <span class="sw" ${cssProps({ background: lookOf(type).color })}></span>${lookOf(type).label}</button>`)}
        </div>
      </div>
      ${this.text('node', node.id, 'tech', 'Technology', node.tech ?? '', { placeholder: 'Node 20, Fastify' })}
      <label class="field"><span>Ports</span>
        <input class="input" name="ports" autocomplete="off" placeholder="8080, 9090" .value=${(node.ports ?? []).join(', ')}
          @change=${(e: Event) => this.patch('node', node.id, { ports: parsePorts((e.target as HTMLInputElement).value) })}>
      </label>
      ${this.text('node', node.id, 'description', 'Description', node.description ?? '', { area: true, placeholder: 'What it owns, what it must never do…' })}
      <button class="btn danger-ghost danger-zone" @click=${() => this.removeItem('node', node.id)}>${icons.trash()} Delete node</button>
    </div>`
  }

  private edgePane(edge: GraphEdge) {
    const label = (id: string) => this.nodes.find((node) => node.id === id)?.label || id
    return html`<div class="pane">
      <h3>${icons.connect()} Connection</h3>
      <div class="ends">${label(edge.source)} ${icons.chevronRight()} ${label(edge.target)}</div>
      ${this.text('edge', edge.id, 'label', 'Label', edge.label ?? '', { placeholder: 'places orders' })}
      ${this.text('edge', edge.id, 'protocol', 'Protocol', edge.protocol ?? '', { placeholder: 'HTTP', list: 'protocols' })}
      <datalist id="protocols">${PROTOCOLS.map((protocol) => html`<option value=${protocol}></option>`)}</datalist>
      <div class="row">
        <button class="btn" @click=${() => this.dispatchEvent(new CustomEvent('reverse', { detail: { id: edge.id } }))}>Reverse direction</button>
        <button class="btn danger-ghost" @click=${() => this.removeItem('edge', edge.id)}>${icons.trash()} Delete</button>
      </div>
    </div>`
  }

  override render() {
    if (this.node) return this.nodePane(this.node)
    if (this.edge) return this.edgePane(this.edge)
    return html`<div class="pane">
      <h3>Architecture</h3>
      <dl><dt>Components</dt><dd>${this.stats.nodes}</dd><dt>Connections</dt><dd>${this.stats.edges}</dd></dl>
      <ul>
        <li>Select a node or connection to edit it.</li>
        <li>Drag a node's <b>right handle</b> onto another node to connect them, or use <b>Connect</b>.</li>
        <li>Drag the background to pan; scroll to zoom.</li>
        <li><kbd>Del</kbd> deletes the selection · <kbd>←↑→↓</kbd> nudge a node · <kbd>Esc</kbd> deselects · <kbd>Ctrl</kbd>+<kbd>S</kbd> saves</li>
      </ul>
    </div>`
  }
}
customElements.define('ta-graph-inspector', GraphInspector)
