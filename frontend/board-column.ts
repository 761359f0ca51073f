/**
 * `<ta-board-column>`: one column of the board. Renders its (filtered) tickets, accepts HTML5
 * drops with an insertion line, and turns keys on a focused card into board events:
 * Enter opens; ↑/↓ and ←/→ move focus; Alt (or Shift) + arrows move the ticket.
 */
import { LitElement, css, html, nothing } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import { cardStyles, ticketCard } from './ticket-card.ts'
import { ticketLabel } from './format.ts'
import { shared } from './styles.ts'
import type { Column, TicketView } from './types.ts'

export const TICKET_MIME = 'application/x-terarchitect-ticket'

const ROLE_HINT: Record<string, string> = {
  backlog: 'Backlog: new tickets land here; moving a ticket back here stops its agent',
  in_progress: 'Moving a ticket here starts an agent on it',
  in_review: 'Tickets with an open pull request',
  done: 'Finished work',
  custom: 'Your own column',
}

export class BoardColumn extends LitElement {
  static override properties = {
    column: { attribute: false },
    tickets: { attribute: false },
    total: { type: Number },
    latest: { attribute: false },
    runBlocker: { attribute: false },
    readOnly: { attribute: false },
    draggingId: { attribute: false },
    dropBefore: { state: true },
  }
  declare column: Column
  declare tickets: TicketView[]
  declare total: number
  declare latest: Map<number, string>
  declare runBlocker: string | null
  /** Why this person cannot move tickets (a viewer), or null: cards are then not draggable. */
  declare readOnly: string | null
  declare draggingId: number | null
  /** Where a dragged ticket would land: before this ticket id, 'end', or nowhere. */
  declare dropBefore: number | 'end' | null

  static override styles = [shared, cardStyles, css`
    :host { display: flex; flex-direction: column; width: 292px; flex: none; min-height: 0; max-height: 100%; }
    .col { display: flex; flex-direction: column; min-height: 0; background: var(--surface-2); border-radius: 12px; border: 1px solid transparent; transition: border-color .12s, background .12s; }
    .col.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent-soft) 60%, var(--surface-2)); }
    header { display: flex; align-items: center; gap: 8px; padding: 12px 12px 8px; }
    h2 { font-size: 13px; font-weight: 600; }
    .count { font-size: 12px; color: var(--text-3); font-variant-numeric: tabular-nums; }
    .role { width: 8px; height: 8px; border-radius: 50%; background: var(--text-3); flex: none; }
    .role.in_progress { background: var(--accent); }
    .role.in_review { background: var(--warning); }
    .role.done { background: var(--success); }
    .role.custom { background: transparent; border: 1.5px solid var(--text-3); }
    .list { display: flex; flex-direction: column; gap: 8px; padding: 2px 8px 10px; overflow-y: auto; min-height: 64px; flex: 1; }
    .drop-line { height: 3px; border-radius: 2px; background: var(--accent); margin: -5px 2px; flex: none; }
    .placeholder {
      display: grid; place-items: center; min-height: 64px; border: 1.5px dashed var(--border-strong); border-radius: 9px;
      color: var(--text-3); font-size: 12.5px; text-align: center; padding: 8px;
    }
  `]

  constructor() {
    super()
    this.tickets = []
    this.total = 0
    this.latest = new Map()
    this.runBlocker = null
    this.readOnly = null
    this.draggingId = null
    this.dropBefore = null
  }

  /** Focuses a card of this column (after a keyboard move or focus change). */
  focusTicket(id: number | null, index = 0): boolean {
    const cards = [...this.renderRoot.querySelectorAll<HTMLElement>('.card')]
    const card = (id !== null && cards.find((candidate) => candidate.dataset.id === String(id))) || cards[Math.min(index, cards.length - 1)]
    card?.focus()
    return !!card
  }

  private emit(name: string, detail: object) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }))
  }

  private cardOf(event: Event): { element: HTMLElement; id: number; index: number } | null {
    const element = (event.composedPath() as Element[]).find((node) => node instanceof HTMLElement && node.classList.contains('card')) as HTMLElement | undefined
    if (!element) return null
    const id = Number(element.dataset.id)
    return { element, id, index: this.tickets.findIndex((ticket) => ticket.id === id) }
  }

  private onClick = (event: MouseEvent) => {
    const card = this.cardOf(event)
    if (!card) return
    const action = (event.composedPath() as Element[]).find((node) => node instanceof HTMLElement && node.dataset.action) as HTMLElement | undefined
    // Links (the PR, the last job's reason) are followed, not handled as card actions.
    if (action?.dataset.action === 'pr' || action?.dataset.action === 'reason') return
    if (action) {
      event.stopPropagation()
      if (action.getAttribute('aria-disabled') === 'true') {
        this.emit('ticket-blocked', { id: card.id })
        return
      }
      this.emit(`ticket-${action.dataset.action}`, { id: card.id })
      return
    }
    this.emit('ticket-open', { id: card.id })
  }

  private onKeyDown = (event: KeyboardEvent) => {
    const card = this.cardOf(event)
    if (!card || event.target !== card.element) return
    const move = event.altKey || event.shiftKey
    const { id, index } = card
    const key = event.key
    if (key === 'Enter' || (key === ' ' && !move)) {
      event.preventDefault()
      this.emit('ticket-open', { id })
    } else if (key === 'ArrowUp' || key === 'ArrowDown') {
      event.preventDefault()
      const up = key === 'ArrowUp'
      if (!move) {
        this.focusTicket(this.tickets[index + (up ? -1 : 1)]?.id ?? id)
        return
      }
      if (up ? index <= 0 : index >= this.tickets.length - 1) return
      const beforeId = up ? this.tickets[index - 1]!.id : this.tickets[index + 2]?.id ?? null
      this.emit('ticket-move', { id, columnId: this.column.id, beforeId, keyboard: true })
    } else if (key === 'ArrowLeft' || key === 'ArrowRight') {
      event.preventDefault()
      this.emit(move ? 'ticket-move-column' : 'ticket-nav', { id, dir: key === 'ArrowLeft' ? -1 : 1, index, columnId: this.column.id })
    }
  }

  private onDragStart = (event: DragEvent) => {
    const card = this.cardOf(event)
    if (!card || !event.dataTransfer) return
    event.dataTransfer.setData(TICKET_MIME, String(card.id))
    event.dataTransfer.setData('text/plain', ticketLabel(null, this.tickets[card.index] ?? { id: card.id }))
    event.dataTransfer.effectAllowed = 'move'
    this.emit('ticket-drag', { id: card.id })
  }

  private onDragEnd = () => {
    this.dropBefore = null
    this.emit('ticket-drag', { id: null })
  }

  private onDragOver = (event: DragEvent) => {
    if (!event.dataTransfer?.types.includes(TICKET_MIME)) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'move'
    const cards = [...this.renderRoot.querySelectorAll<HTMLElement>('.card')]
    let before: number | 'end' = 'end'
    for (const card of cards) {
      const box = card.getBoundingClientRect()
      if (event.clientY < box.top + box.height / 2) {
        before = Number(card.dataset.id)
        break
      }
    }
    if (before !== this.dropBefore) this.dropBefore = before
  }

  private onDragLeave = (event: DragEvent) => {
    const col = this.renderRoot.querySelector('.col')
    if (!col || (event.relatedTarget instanceof Node && (col.contains(event.relatedTarget) || this.contains(event.relatedTarget)))) return
    this.dropBefore = null
  }

  private onDrop = (event: DragEvent) => {
    const id = Number(event.dataTransfer?.getData(TICKET_MIME))
    const before = this.dropBefore
    this.dropBefore = null
    if (!id) return
    event.preventDefault()
    this.emit('ticket-move', { id, columnId: this.column.id, beforeId: before === 'end' || before === null ? null : before })
  }

  override render() {
    const { column, tickets } = this
    const filtered = tickets.length !== this.total
    return html`
      <section class="col ${this.dropBefore !== null ? 'over' : ''}" aria-label=${column.title}
        @dragover=${this.onDragOver} @dragleave=${this.onDragLeave} @drop=${this.onDrop}>
        <header>
          <span class="role ${column.role}" title=${ROLE_HINT[column.role] ?? ''}></span>
          <h2>${column.title}</h2>
          <span class="count">${filtered ? `${tickets.length} of ${this.total}` : this.total}</span>
        </header>
        <div class="list" role="list" @click=${this.onClick} @keydown=${this.onKeyDown} @dragstart=${this.onDragStart} @dragend=${this.onDragEnd}>
          ${repeat(tickets, (ticket) => ticket.id, (ticket) => html`
            ${this.dropBefore === ticket.id ? html`<div class="drop-line"></div>` : nothing}
            ${ticketCard(ticket, { latest: this.latest.get(ticket.id), runBlocker: this.runBlocker, readOnly: this.readOnly, dragging: this.draggingId === ticket.id })}`)}
          ${this.dropBefore === 'end' && tickets.length ? html`<div class="drop-line"></div>` : nothing}
          ${tickets.length ? nothing : html`<div class="placeholder">${filtered ? 'No matching tickets' : column.role === 'in_progress' ? 'Drop a ticket here to start an agent' : 'No tickets'}</div>`}
        </div>
      </section>`
  }
}
customElements.define('ta-board-column', BoardColumn)
