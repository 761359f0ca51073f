/**
 * `<ta-ticket-create>`: the new-ticket dialog (title, description, priority, column, linked
 * architecture). A new ticket links the whole graph unless the links are changed here; the nodes
 * the text names are suggested. What is typed survives Esc as a draft (per project, for the tab's
 * session) until the ticket is created or the draft discarded; Ctrl/Cmd+Enter creates.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { DESCRIPTION_MAX, TITLE_MAX, counter, counterStyles } from './char-counter.ts'
import { ticketLabel } from './format.ts'
import { icons } from './icons.ts'
import type { Links } from './links-picker.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import type { Column, Priority, Project, TicketView } from './types.ts'
import './links-picker.ts'
import './modal-dialog.ts'
import './priority-picker.ts'

interface Draft {
  title: string
  description: string
  priority: Priority
  links: Links | null
}

const draftKey = (projectId: number) => `terarchitect.ticketDraft.${projectId}`

export class TicketCreate extends LitElement {
  static override properties = {
    open: { type: Boolean },
    project: { attribute: false },
    columns: { attribute: false },
    ticketTitle: { state: true },
    description: { state: true },
    priority: { state: true },
    columnId: { state: true },
    links: { state: true },
    draftRestored: { state: true },
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
  declare links: Links | null
  declare draftRestored: boolean
  declare errors: Record<string, string>
  declare formError: string
  declare saving: boolean

  static override styles = [shared, counterStyles, css`
    .two { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
    .alert { margin-bottom: 14px; }
    textarea.input { min-height: 140px; }
    .draft { display: flex; align-items: center; gap: 8px; margin-bottom: 12px; color: var(--text-2); font-size: 13px; }
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
    this.links = null
    this.draftRestored = false
    this.errors = {}
    this.formError = ''
  }

  private defaultColumn(): string {
    return this.columns.find((column) => column.role === 'backlog')?.id ?? this.columns[0]?.id ?? ''
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('open') && this.open) {
      this.reset()
      this.restoreDraft()
      this.columnId = this.defaultColumn()
    }
    // The dialog may open before the board has loaded its columns (a ticket created seconds after
    // its project): pick the default column once they arrive instead of sending none.
    if (changed.has('columns') && !this.columns.some((column) => column.id === this.columnId)) this.columnId = this.defaultColumn()
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('open') && this.open) requestAnimationFrame(() => this.renderRoot.querySelector<HTMLInputElement>('#t-title')?.focus())
  }

  private restoreDraft() {
    let draft: Draft | null = null
    try {
      draft = JSON.parse(sessionStorage.getItem(draftKey(this.project.id)) ?? 'null') as Draft | null
    } catch {
      draft = null
    }
    if (!draft || (!draft.title && !draft.description)) return
    Object.assign(this, { ticketTitle: draft.title, description: draft.description, priority: draft.priority, links: draft.links, draftRestored: true })
  }

  private saveDraft() {
    const draft: Draft = { title: this.ticketTitle, description: this.description, priority: this.priority, links: this.links }
    try {
      if (draft.title || draft.description) sessionStorage.setItem(draftKey(this.project.id), JSON.stringify(draft))
      else sessionStorage.removeItem(draftKey(this.project.id))
    } catch {
      // Storage unavailable: the dialog still works, only without a draft.
    }
  }

  private discardDraft() {
    try {
      sessionStorage.removeItem(draftKey(this.project.id))
    } catch {}
    this.reset()
    this.columnId = this.defaultColumn()
  }

  private edit(fields: Partial<Pick<TicketCreate, 'ticketTitle' | 'description' | 'priority' | 'links'>>) {
    Object.assign(this, fields)
    this.errors = {}
    this.saveDraft()
  }

  private onKeydown(event: KeyboardEvent) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      void this.submit(event)
    }
  }

  private async submit(event: Event) {
    event.preventDefault()
    if (this.saving) return
    if (!this.ticketTitle.trim()) {
      this.errors = { title: 'A ticket needs a title.' }
      return
    }
    this.saving = true
    try {
      const body: Record<string, unknown> = { title: this.ticketTitle.trim(), description: this.description, priority: this.priority }
      // No column yet (the board still loading): the server puts the ticket in the backlog.
      if (this.columnId) body.column_id = this.columnId
      // Left as they were, the links are the API's default: the whole graph as it is now.
      if (this.links) Object.assign(body, { associated_node_ids: this.links.nodes, associated_edge_ids: this.links.edges })
      const ticket = await api.post<TicketView>(`/api/projects/${this.project.id}/tickets`, body)
      this.discardDraft()
      this.dispatchEvent(new CustomEvent('created', { detail: ticket }))
      notify(`Created ${ticketLabel(this.project, ticket)} ${ticket.title}`, 'success')
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
      <ta-modal heading="New ticket" size="large" .open=${this.open} @close=${() => { this.open = false; this.dispatchEvent(new Event('close')) }}>
        <form id="ticket" novalidate @submit=${this.submit} @keydown=${this.onKeydown}>
          ${this.formError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : ''}
          ${this.draftRestored ? html`<div class="draft" role="status">Your draft is back.
            <button type="button" class="btn ghost small" @click=${() => this.discardDraft()}>Discard draft</button></div>` : ''}
          <label class="field"><span class="label-row">Title ${counter(this.ticketTitle.length, TITLE_MAX)}</span>
            <input id="t-title" class="input" name="title" autocomplete="off" maxlength=${TITLE_MAX} placeholder="Add rate limiting to the orders API"
              aria-invalid=${this.errors.title ? 'true' : 'false'} .value=${this.ticketTitle}
              @input=${(e: InputEvent) => this.edit({ ticketTitle: (e.target as HTMLInputElement).value })}>
            ${this.errors.title ? html`<span class="field-error" role="alert">${this.errors.title}</span>` : ''}
          </label>
          <label class="field"><span class="label-row">Description ${counter(this.description.length, DESCRIPTION_MAX)}</span>
            <textarea class="input" name="description" maxlength=${DESCRIPTION_MAX} placeholder="What should change, and how will we know it works?"
              aria-invalid=${this.errors.description ? 'true' : 'false'}
              .value=${this.description} @input=${(e: InputEvent) => this.edit({ description: (e.target as HTMLTextAreaElement).value })}></textarea>
            ${this.errors.description ? html`<span class="field-error" role="alert">${this.errors.description}</span>` : ''}
            <span class="hint">The agent reads this with the linked architecture. Acceptance criteria help. Ctrl+Enter creates; Esc keeps a draft.</span>
          </label>
          <div class="two">
            <div class="field"><span class="label">Priority</span>
              <ta-priority-picker .value=${this.priority} @change=${(e: CustomEvent<Priority>) => this.edit({ priority: e.detail })}></ta-priority-picker>
            </div>
            <label class="field"><span>Column</span>
              <select class="input" name="column" .value=${this.columnId} @change=${(e: Event) => (this.columnId = (e.target as HTMLSelectElement).value)}>
                ${this.columns.map((column) => html`<option value=${column.id} ?selected=${column.id === this.columnId}>${column.title}</option>`)}
              </select>
              ${inProgress ? html`<span class="hint">Creating it here starts an agent right away.</span>` : ''}
            </label>
          </div>
          <div class="field"><span class="label">Architecture the agent gets</span>
            ${this.open ? html`<ta-links-picker .projectId=${this.project.id} .value=${this.links} .text=${`${this.ticketTitle}\n${this.description}`}
              @change=${(e: CustomEvent<Links>) => this.edit({ links: e.detail })}></ta-links-picker>` : nothing}
            <span class="hint">A new ticket links the whole graph; uncheck what the agent should not be given.</span>
          </div>
        </form>
        <button slot="footer" class="btn" @click=${() => (this.open = false)}>Cancel</button>
        <button slot="footer" class="btn primary" type="submit" form="ticket" ?disabled=${this.saving}>${this.saving ? html`<span class="spinner"></span>` : ''}Create ticket</button>
      </ta-modal>`
  }
}
customElements.define('ta-ticket-create', TicketCreate)
