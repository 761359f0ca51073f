/**
 * `<ta-ticket-details>`: a ticket's editable fields (title, description, priority, column, linked
 * architecture). Changes are kept as a draft until Save; field errors show next to the field.
 */
import { LitElement, css, html, type PropertyValues } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { DESCRIPTION_MAX, TITLE_MAX, counter, counterStyles } from './char-counter.ts'
import { timeAgo } from './format.ts'
import { icons } from './icons.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import type { Column, Priority, TicketView } from './types.ts'
import type { Links } from './links-picker.ts'
import './links-picker.ts'
import './priority-picker.ts'
import './ticket-blockers-picker.ts'

interface Draft {
  title: string
  description: string
  priority: Priority
  column_id: string
  associated_node_ids: string[]
  associated_edge_ids: string[]
}

const draftOf = (ticket: TicketView): Draft => ({
  title: ticket.title, description: ticket.description, priority: ticket.priority, column_id: ticket.column_id,
  associated_node_ids: ticket.associated_node_ids, associated_edge_ids: ticket.associated_edge_ids,
})

export class TicketDetails extends LitElement {
  static override properties = {
    ticket: { attribute: false },
    columns: { attribute: false },
    draft: { state: true },
    errors: { state: true },
    formError: { state: true },
    saving: { state: true },
  }
  declare ticket: TicketView
  declare columns: Column[]
  declare draft: Draft | null
  declare errors: Record<string, string>
  declare formError: string
  declare saving: boolean

  static override styles = [shared, counterStyles, css`
    :host { display: block; }
    textarea.input { min-height: 180px; }
    .two { display: grid; grid-template-columns: auto 1fr; gap: 16px; }
    .actions { position: sticky; bottom: -24px; display: flex; gap: 8px; justify-content: flex-end; align-items: center; padding: 12px 0 16px; margin-top: 8px; background: var(--surface); border-top: 1px solid var(--border); }
    .alert { margin-bottom: 12px; }
    .summary { white-space: pre-wrap; background: var(--surface-2); border-radius: 8px; padding: 10px 12px; font-size: 13px; }
    .stamp { font-size: 12px; color: var(--text-3); margin-top: 6px; }
  `]

  constructor() {
    super()
    this.columns = []
    this.draft = null
    this.errors = {}
    this.formError = ''
    this.saving = false
  }

  /** Unsaved edits exist. */
  get dirty(): boolean {
    return !!this.draft && JSON.stringify(this.draft) !== JSON.stringify(draftOf(this.ticket))
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // A live update replaces the ticket; keep the person's edits, start from the new one otherwise.
    if (changed.has('ticket') && (!this.draft || !this.dirtyAgainst(changed.get('ticket')))) this.draft = draftOf(this.ticket)
  }

  private dirtyAgainst(previous: TicketView | undefined): boolean {
    return !!previous && !!this.draft && JSON.stringify(this.draft) !== JSON.stringify(draftOf(previous))
  }

  private set(patch: Partial<Draft>) {
    // A viewer's pickers change nothing (the inputs are read-only; the Save note says why).
    if (denied('member', 'edit tickets')) return this.requestUpdate()
    this.draft = { ...this.draft!, ...patch }
    this.errors = {}
  }

  private async save(event: Event) {
    event.preventDefault()
    const draft = this.draft!
    if (!draft.title.trim()) {
      this.errors = { title: 'A ticket needs a title.' }
      return
    }
    const before = draftOf(this.ticket)
    const patch: Record<string, unknown> = {}
    for (const key of Object.keys(draft) as (keyof Draft)[]) {
      if (JSON.stringify(draft[key]) !== JSON.stringify(before[key])) patch[key] = key === 'title' ? draft.title.trim() : draft[key]
    }
    if (!Object.keys(patch).length) return
    this.saving = true
    this.formError = ''
    try {
      const saved = await api.patch<TicketView>(`/api/projects/${this.ticket.project_id}/tickets/${this.ticket.id}`, patch)
      this.draft = draftOf(saved)
      this.dispatchEvent(new CustomEvent('saved', { detail: saved }))
      notify('Ticket saved', 'success')
    } catch (error) {
      this.errors = error instanceof ApiError ? error.fields() : {}
      this.formError = errorText(error)
    } finally {
      this.saving = false
    }
  }

  override render() {
    const draft = this.draft
    if (!draft) return ''
    const t = this.ticket
    return html`<form novalidate @submit=${this.save}>
      ${this.formError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : ''}
      <label class="field"><span class="label-row">Title${counter(draft.title.length, TITLE_MAX)}</span>
        <input class="input" name="title" maxlength=${TITLE_MAX} .value=${draft.title} ?readonly=${!!denied('member', 'edit tickets')} aria-invalid=${this.errors.title ? 'true' : 'false'}
          @input=${(e: InputEvent) => this.set({ title: (e.target as HTMLInputElement).value })}>
        ${this.errors.title ? html`<span class="field-error" role="alert">${this.errors.title}</span>` : ''}
      </label>
      <div class="two">
        <div class="field"><span class="label">Priority</span>
          <ta-priority-picker .value=${draft.priority} @change=${(e: CustomEvent<Priority>) => this.set({ priority: e.detail })}></ta-priority-picker></div>
        <label class="field"><span>Column</span>
          <select class="input" name="column" .value=${draft.column_id} ?disabled=${!!denied('member', 'edit tickets')} @change=${(e: Event) => this.set({ column_id: (e.target as HTMLSelectElement).value })}>
            ${this.columns.map((column) => html`<option value=${column.id} ?selected=${column.id === draft.column_id}>${column.title}</option>`)}
          </select>
          ${this.errors.column_id ? html`<span class="field-error">${this.errors.column_id}</span>` : ''}
        </label>
      </div>
      <label class="field"><span class="label-row">Description${counter(draft.description.length, DESCRIPTION_MAX)}</span>
        <textarea class="input" name="description" maxlength=${DESCRIPTION_MAX} .value=${draft.description} ?readonly=${!!denied('member', 'edit tickets')}
          @input=${(e: InputEvent) => this.set({ description: (e.target as HTMLTextAreaElement).value })}></textarea>
        ${this.errors.description ? html`<span class="field-error">${this.errors.description}</span>` : ''}
      </label>
      <div class="field"><span class="label">Linked architecture</span>
        <ta-links-picker .projectId=${t.project_id} .value=${{ nodes: draft.associated_node_ids, edges: draft.associated_edge_ids }} .text=${`${draft.title}\n${draft.description}`}
          @change=${(e: CustomEvent<Links>) => this.set({ associated_node_ids: e.detail.nodes, associated_edge_ids: e.detail.edges })}></ta-links-picker>
        <span class="hint">The agent gets these nodes and edges, with their neighbours, as context.</span>
      </div>
      <div class="field"><span class="label">Blocked by</span>
        <ta-ticket-blockers .ticket=${t} @saved=${(e: CustomEvent<TicketView>) => this.dispatchEvent(new CustomEvent('saved', { detail: e.detail }))}></ta-ticket-blockers>
        <span class="hint">Moved to In Progress, this ticket waits until every blocker is Done, then starts by itself.</span>
      </div>
      ${t.summary ? html`<div class="field"><span class="label">Agent summary</span><div class="summary">${t.summary}</div></div>` : ''}
      <div class="stamp">Created ${timeAgo(t.created_at)} · updated ${timeAgo(t.updated_at)}</div>
      <div class="actions">
        ${this.dirty ? html`<span class="faint grow">Unsaved changes</span>
          <button type="button" class="btn" @click=${() => (this.draft = draftOf(this.ticket))}>Revert</button>` : ''}
        ${denied('member', 'edit tickets') ? html`<span class="faint">${denied('member', 'edit tickets')}</span>` : ''}
        <button class="btn primary" type="submit" ?disabled=${!this.dirty || this.saving || !!denied('member', 'edit tickets')}>${this.saving ? html`<span class="spinner"></span>` : ''}Save</button>
      </div>
    </form>`
  }
}
customElements.define('ta-ticket-details', TicketDetails)
