/** `<ta-ticket-create>`: the new-ticket dialog (title, description, priority, column). */
import { LitElement, css, html, type PropertyValues } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { icons } from './icons.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import type { Column, Priority, Project, TicketView } from './types.ts'
import './modal-dialog.ts'
import './priority-picker.ts'

export class TicketCreate extends LitElement {
  static override properties = {
    open: { type: Boolean },
    project: { attribute: false },
    columns: { attribute: false },
    ticketTitle: { state: true },
    description: { state: true },
    priority: { state: true },
    columnId: { state: true },
    errors: { state: true },
    formError: { state: true },
    saving: { state: true },
  }
  declare open: boolean
  declare project: Project
  declare columns: Column[]
  declare ticketTitle: string
  declare description: string
  declare priority: Priority
  declare columnId: string
  declare errors: Record<string, string>
  declare formError: string
  declare saving: boolean

  static override styles = [shared, css`
    .two { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
    .alert { margin-bottom: 14px; }
    textarea.input { min-height: 140px; }
  `]

  constructor() {
    super()
    this.open = false
    this.columns = []
    this.reset()
    this.saving = false
  }

  private reset() {
    this.ticketTitle = ''
    this.description = ''
    this.priority = 'medium'
    this.columnId = ''
    this.errors = {}
    this.formError = ''
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('open') && this.open) {
      this.reset()
      this.columnId = this.columns.find((column) => column.role === 'backlog')?.id ?? this.columns[0]?.id ?? ''
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('open') && this.open) requestAnimationFrame(() => this.renderRoot.querySelector<HTMLInputElement>('#t-title')?.focus())
  }

  private async submit(event: Event) {
    event.preventDefault()
    if (!this.ticketTitle.trim()) {
      this.errors = { title: 'A ticket needs a title.' }
      return
    }
    this.saving = true
    try {
      const ticket = await api.post<TicketView>(`/api/projects/${this.project.id}/tickets`, {
        title: this.ticketTitle.trim(), description: this.description, priority: this.priority, column_id: this.columnId,
      })
      this.dispatchEvent(new CustomEvent('created', { detail: ticket }))
      notify(`Created #${ticket.id} ${ticket.title}`, 'success')
      this.open = false
    } catch (error) {
      this.errors = error instanceof ApiError ? error.fields() : {}
      this.formError = errorText(error)
    } finally {
      this.saving = false
    }
  }

  override render() {
    const inProgress = this.columns.find((column) => column.id === this.columnId)?.role === 'in_progress'
    return html`
      <ta-modal heading="New ticket" .open=${this.open} @close=${() => { this.open = false; this.dispatchEvent(new Event('close')) }}>
        <form id="ticket" novalidate @submit=${this.submit}>
          ${this.formError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : ''}
          <label class="field"><span>Title</span>
            <input id="t-title" class="input" name="title" autocomplete="off" placeholder="Add rate limiting to the orders API"
              aria-invalid=${this.errors.title ? 'true' : 'false'} .value=${this.ticketTitle}
              @input=${(e: InputEvent) => { this.ticketTitle = (e.target as HTMLInputElement).value; this.errors = {} }}>
            ${this.errors.title ? html`<span class="field-error" role="alert">${this.errors.title}</span>` : ''}
          </label>
          <label class="field"><span>Description</span>
            <textarea class="input" name="description" placeholder="What should change, and how will we know it works?"
              .value=${this.description} @input=${(e: InputEvent) => (this.description = (e.target as HTMLTextAreaElement).value)}></textarea>
            <span class="hint">The agent reads this with the linked architecture. Acceptance criteria help.</span>
          </label>
          <div class="two">
            <div class="field"><span class="label">Priority</span>
              <ta-priority-picker .value=${this.priority} @change=${(e: CustomEvent<Priority>) => (this.priority = e.detail)}></ta-priority-picker>
            </div>
            <label class="field"><span>Column</span>
              <select class="input" name="column" .value=${this.columnId} @change=${(e: Event) => (this.columnId = (e.target as HTMLSelectElement).value)}>
                ${this.columns.map((column) => html`<option value=${column.id} ?selected=${column.id === this.columnId}>${column.title}</option>`)}
              </select>
              ${inProgress ? html`<span class="hint">Creating it here starts an agent right away.</span>` : ''}
            </label>
          </div>
        </form>
        <button slot="footer" class="btn" @click=${() => (this.open = false)}>Cancel</button>
        <button slot="footer" class="btn primary" type="submit" form="ticket" ?disabled=${this.saving}>${this.saving ? html`<span class="spinner"></span>` : ''}Create ticket</button>
      </ta-modal>`
  }
}
customElements.define('ta-ticket-create', TicketCreate)
