/**
 * `<ta-ticket-blockers>`: which tickets of the project this one waits for. Checks other tickets
 * (searchable), saves the whole list (`PUT …/blockers`) and says in plain words why the server
 * refused it (a cycle names the tickets that would wait for each other). Fires `saved` with the ticket.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit'
import { ApiError, api, errorText } from './api.ts'
import { ticketLabel } from './format.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import { checklistStyles } from './links-picker.ts'
import { notify } from './toast-host.ts'
import type { TicketView } from './types.ts'

export class TicketBlockers extends LitElement {
  static override properties = {
    ticket: { attribute: false },
    others: { state: true },
    chosen: { state: true },
    query: { state: true },
    error: { state: true },
    saving: { state: true },
  }
  declare ticket: TicketView
  declare others: TicketView[] | null
  declare chosen: number[]
  declare query: string
  declare error: string
  declare saving: boolean

  static override styles = [shared, checklistStyles, css`
    :host { display: block; }
    .key { color: var(--text-3); font-variant-numeric: tabular-nums; }
    .bar { display: flex; justify-content: flex-end; align-items: center; gap: 8px; margin-top: 8px; }
    .alert { margin-top: 8px; }
  `]

  constructor() {
    super()
    this.others = null
    this.chosen = []
    this.query = ''
    this.error = ''
    this.saving = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    api.get<TicketView[]>(`/api/projects/${this.ticket.project_id}/tickets`).then(
      (tickets) => (this.others = tickets.filter((candidate) => candidate.id !== this.ticket.id).sort((a, b) => a.number - b.number)),
      (error) => (this.error = errorText(error)),
    )
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('ticket') && !this.dirty(changed.get('ticket'))) this.chosen = this.saved(this.ticket)
  }

  private saved(ticket: TicketView): number[] {
    return (ticket.blocked_by ?? []).map((blocker) => blocker.id)
  }

  private dirty(previous: TicketView | undefined = this.ticket): boolean {
    return !!previous && JSON.stringify([...this.chosen].sort()) !== JSON.stringify(this.saved(previous).sort())
  }

  private toggle(id: number, on: boolean) {
    this.chosen = on ? [...this.chosen, id] : this.chosen.filter((candidate) => candidate !== id)
    this.error = ''
  }

  private async save() {
    this.saving = true
    this.error = ''
    try {
      const saved = await api.put<TicketView>(`/api/projects/${this.ticket.project_id}/tickets/${this.ticket.id}/blockers`, { blocked_by: this.chosen })
      this.chosen = this.saved(saved)
      this.dispatchEvent(new CustomEvent('saved', { detail: saved }))
      notify('Blockers saved', 'success')
    } catch (error) {
      // The dependency rules' refusals are sentences already ("these tickets would wait for each other forever: …").
      this.error = error instanceof ApiError && error.status === 400 && error.message.startsWith('these tickets')
        ? error.message.charAt(0).toUpperCase() + error.message.slice(1) : errorText(error)
    } finally {
      this.saving = false
    }
  }

  override render() {
    const refused = denied('member', 'change blockers')
    const q = this.query.toLowerCase()
    const shown = (this.others ?? []).filter((other) => !q || `${ticketLabel(null, other)} ${other.title}`.toLowerCase().includes(q))
    return html`<div class="box">
      <div class="top"><span class="faint">${this.chosen.length ? `${this.chosen.length} blocker${this.chosen.length === 1 ? '' : 's'}` : 'No blockers'}</span>
        <input class="input" type="search" placeholder="Find tickets…" aria-label="Find tickets" .value=${this.query}
          @input=${(e: InputEvent) => (this.query = (e.target as HTMLInputElement).value)}></div>
      <div class="lists" data-testid="blocker-list">
        ${this.others === null && !this.error ? html`<div class="none"><span class="spinner"></span> Loading tickets…</div>` : nothing}
        ${this.others?.length === 0 ? html`<div class="none">This project has no other tickets.</div>` : nothing}
        ${shown.map((other) => html`<label class="item"><input type="checkbox" .checked=${this.chosen.includes(other.id)} ?disabled=${!!refused}
            aria-label="Blocked by ${ticketLabel(null, other)}" @change=${(e: Event) => this.toggle(other.id, (e.target as HTMLInputElement).checked)}>
          <span class="key">${ticketLabel(null, other)}</span>${other.title}</label>`)}
      </div>
    </div>
    ${this.error ? html`<div class="alert error" role="alert">${this.error}</div>` : nothing}
    <div class="bar">
      ${refused ? html`<span class="faint">${refused}</span>` : nothing}
      <button class="btn" type="button" ?disabled=${!this.dirty() || this.saving || !!refused} @click=${() => this.save()}>
        ${this.saving ? html`<span class="spinner"></span>` : nothing}Save blockers</button>
    </div>`
  }
}
customElements.define('ta-ticket-blockers', TicketBlockers)
