/**
 * `<ta-links-picker>`: which parts of the architecture a ticket or note is about: nodes, edges,
 * or the whole graph (`"*"`). Fires `change` with `{nodes, edges}`. A `null` value is a new
 * ticket's default (every node of the graph and the edges between them, as the API links when
 * the fields are omitted): shown all checked, made explicit by the first change.
 */
import { LitElement, css, html, type PropertyValues } from 'lit'
import { api, errorText } from './api.ts'
import { lookOf } from './graph-types.ts'
import { cssProps } from './css-props.ts'
import { shared } from './styles.ts'
import type { Graph } from './types.ts'

/** The bordered checklist with a search box at its top: this picker's and ticket-blockers-picker.ts's. */
export const checklistStyles = css`
  .box { border: 1px solid var(--border); border-radius: 9px; background: var(--surface); }
  .top { display: flex; align-items: center; gap: 10px; padding: 8px 10px; border-bottom: 1px solid var(--border); }
  .top .input { height: 28px; max-width: 200px; margin-left: auto; }
  .lists { max-height: 220px; overflow: auto; padding: 4px 0; }
  label.item { display: flex; align-items: center; gap: 8px; padding: 4px 10px; cursor: pointer; }
  label.item:hover { background: var(--surface-2); }
  .none { padding: 10px; color: var(--text-3); }
  input[type='checkbox'] { accent-color: var(--accent); margin: 0; }
`

export interface Links {
  nodes: string[]
  edges: string[]
}

export class LinksPicker extends LitElement {
  static override properties = {
    projectId: { type: Number },
    value: { attribute: false },
    text: { attribute: false },
    suggested: { state: true },
    graph: { state: true },
    error: { state: true },
    query: { state: true },
  }
  declare projectId: number
  declare value: Links | null
  /** The ticket's title and description: the nodes it names (GET …/graph/suggest) are listed first and marked. */
  declare text: string
  declare suggested: { id: string; label: string }[]
  private suggestTimer: ReturnType<typeof setTimeout> | undefined
  declare graph: Graph | null
  declare error: string
  declare query: string

  static override styles = [shared, checklistStyles, css`
    :host { display: block; }
    .lists[aria-disabled='true'] { opacity: .5; pointer-events: none; }
    h4 { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--text-3); padding: 6px 10px 2px; font-weight: 600; }
    .sw { width: 9px; height: 9px; border-radius: 3px; flex: none; }
    .sub { color: var(--text-3); font-size: 12px; }
    .named-line { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 6px; font-size: 13px; color: var(--text-2); }
    .named-line .chip { border: 1px solid var(--border); border-radius: 99px; padding: 1px 8px; background: var(--surface-2); }
    .named { font-size: 11px; color: var(--accent); border: 1px solid currentColor; border-radius: 99px; padding: 0 6px; margin-left: auto; }
  `]

  constructor() {
    super()
    this.value = { nodes: [], edges: [] }
    this.text = ''
    this.suggested = []
    this.graph = null
    this.error = ''
    this.query = ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    api.get<Graph>(`/api/projects/${this.projectId}/graph`).then((graph) => (this.graph = graph), (error) => (this.error = errorText(error)))
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('text')) this.suggestSoon()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    clearTimeout(this.suggestTimer)
  }

  /** Asks which nodes the text names, 400 ms after it last changed. */
  private suggestSoon() {
    clearTimeout(this.suggestTimer)
    this.suggestTimer = setTimeout(async () => {
      const text = this.text.slice(0, 4000)
      if (!text.trim()) return void (this.suggested = [])
      try {
        this.suggested = (await api.get<{ nodes: { id: string; label: string }[] }>(`/api/projects/${this.projectId}/graph/suggest?text=${encodeURIComponent(text)}`)).nodes
      } catch {
        this.suggested = []
      }
    }, 400)
  }

  private renderNamed() {
    if (!this.suggested.length) return ''
    return html`<div class="named-line" data-testid="named">Named in this ticket:
      ${this.suggested.map((node) => html`<span class="chip">${node.label}</span>`)}
      <button type="button" class="btn ghost small" @click=${() => this.emit({ nodes: this.suggested.map((node) => node.id), edges: [] })}>Link only these</button>
    </div>`
  }

  private emit(value: Links) {
    this.value = value
    this.dispatchEvent(new CustomEvent('change', { detail: value }))
  }

  /** The value with the default spelled out: every node, and the edges between nodes. */
  private explicit(): Links {
    if (this.value) return this.value
    const nodes = this.graph?.nodes.map((node) => node.id) ?? []
    const ids = new Set(nodes)
    return { nodes, edges: (this.graph?.edges ?? []).filter((edge) => ids.has(edge.source) && ids.has(edge.target)).map((edge) => edge.id) }
  }

  private toggle(kind: 'nodes' | 'edges', id: string, on: boolean) {
    const value = this.explicit()
    const set = new Set(value[kind].filter((item) => item !== '*'))
    if (on) set.add(id)
    else set.delete(id)
    this.emit({ ...value, [kind]: [...set] })
  }

  override render() {
    if (this.error) return html`<div class="alert error">${this.error}</div>`
    if (!this.graph) return html`<div class="row faint"><span class="spinner"></span> Loading the graph…</div>`
    const value = this.explicit()
    const whole = value.nodes.includes('*')
    const q = this.query.toLowerCase()
    const labels = new Map(this.graph.nodes.map((node) => [node.id, node.label || node.id]))
    const named = new Set(this.suggested.map((node) => node.id))
    // The graph's own order, named nodes marked in place: suggestions arrive while people are clicking,
    // and a list that reordered then would put another checkbox under the pointer.
    const nodes = this.graph.nodes.filter((node) => !q || (node.label ?? '').toLowerCase().includes(q))
    const edges = this.graph.edges.filter((edge) => !q || `${labels.get(edge.source)} ${labels.get(edge.target)} ${edge.label ?? ''}`.toLowerCase().includes(q))
    return html`<div class="box">
      <div class="top">
        <label class="row"><input type="checkbox" .checked=${whole}
          @change=${(e: Event) => this.emit((e.target as HTMLInputElement).checked ? { nodes: ['*'], edges: ['*'] } : { nodes: [], edges: [] })}> Whole graph</label>
        ${this.graph.nodes.length > 6 ? html`<input class="input" type="search" placeholder="Find…" aria-label="Find nodes and edges"
          .value=${this.query} @input=${(e: InputEvent) => (this.query = (e.target as HTMLInputElement).value)}>` : ''}
      </div>
      <div class="lists" aria-disabled=${whole ? 'true' : 'false'}>
        ${!this.graph.nodes.length ? html`<div class="none">The graph is empty. Model the architecture in the Graph tab to link parts of it.</div>` : ''}
        ${nodes.length ? html`<h4>Nodes</h4>` : ''}
        ${nodes.map((node) => html`<label class="item"><input type="checkbox" .checked=${whole || value.nodes.includes(node.id)}
            @change=${(e: Event) => this.toggle('nodes', node.id, (e.target as HTMLInputElement).checked)}>
          <span class="sw" ${cssProps({ background: lookOf(node.type).color })}></span>${node.label || node.id}<span class="sub">${lookOf(node.type).label}</span>${named.has(node.id) ? html`<span class="named">named in the ticket</span>` : ''}</label>`)}
        ${edges.length ? html`<h4>Edges</h4>` : ''}
        ${edges.map((edge) => html`<label class="item"><input type="checkbox" .checked=${whole || value.edges.includes(edge.id)}
            @change=${(e: Event) => this.toggle('edges', edge.id, (e.target as HTMLInputElement).checked)}>
          ${labels.get(edge.source)} → ${labels.get(edge.target)}${edge.label || edge.protocol ? html`<span class="sub">${[edge.label, edge.protocol].filter(Boolean).join(' · ')}</span>` : ''}</label>`)}
      </div>
    </div>${this.renderNamed()}`
  }
}
customElements.define('ta-links-picker', LinksPicker)
