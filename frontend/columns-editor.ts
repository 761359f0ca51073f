/**
 * `<ta-columns-editor>`: rename, add, reorder and delete the board's columns and set their role
 * (behaviour keys off the role: exactly one backlog, in progress, in review and done). Saved with
 * the board's version (PUT board); a column that still holds tickets cannot be removed.
 */
import { LitElement, css, html, type PropertyValues } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import { api, ApiError, errorText } from './api.ts'
import { COLUMN_TITLE_MAX, counter, counterStyles } from './char-counter.ts'
import { icons } from './icons.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import type { Board, Column, ColumnRole, Project } from './types.ts'
import './modal-dialog.ts'

const ROLES: { value: ColumnRole; label: string }[] = [
  { value: 'backlog', label: 'Backlog' },
  { value: 'in_progress', label: 'In progress (runs agents)' },
  { value: 'in_review', label: 'In review' },
  { value: 'done', label: 'Done' },
  { value: 'custom', label: 'Custom' },
]

export class ColumnsEditor extends LitElement {
  static override properties = {
    open: { type: Boolean },
    project: { attribute: false },
    columns: { attribute: false },
    version: { type: Number },
    counts: { attribute: false },
    draft: { state: true },
    errors: { state: true },
    formError: { state: true },
    saving: { state: true },
  }
  declare open: boolean
  declare project: Project
  declare columns: Column[]
  declare version: number
  declare counts: Map<string, number>
  declare draft: Column[]
  declare errors: Record<string, string>
  declare formError: string
  declare saving: boolean

  static override styles = [shared, counterStyles, css`
    .rows { display: grid; gap: 8px; margin-bottom: 12px; }
    .title-cell { display: grid; gap: 2px; }
    .title-cell .counter { justify-self: end; }
    .row { display: grid; grid-template-columns: 1fr 190px auto; gap: 8px; align-items: start; }
    .moves { display: flex; gap: 0; }
    .alert { margin-bottom: 12px; }
    .field-error { grid-column: 1 / -1; }
  `]

  constructor() {
    super()
    this.open = false
    this.columns = []
    this.counts = new Map()
    this.draft = []
    this.errors = {}
    this.formError = ''
    this.saving = false
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('open') && this.open) {
      this.draft = this.columns.map((column) => ({ ...column }))
      this.errors = {}
      this.formError = ''
    }
  }

  private edit(index: number, patch: Partial<Column>) {
    this.draft = this.draft.map((column, i) => (i === index ? { ...column, ...patch } : column))
  }

  private swap(index: number, dir: number) {
    const next = this.draft.slice()
    const other = index + dir
    if (other < 0 || other >= next.length) return
    ;[next[index], next[other]] = [next[other]!, next[index]!]
    this.draft = next
  }

  private add() {
    this.draft = [...this.draft, { id: `col-${Date.now().toString(36)}`, title: 'New column', order: this.draft.length, role: 'custom' }]
    void this.updateComplete.then(() => {
      const inputs = this.renderRoot.querySelectorAll<HTMLInputElement>('.row input')
      inputs[inputs.length - 1]?.select()
    })
  }

  private async save() {
    this.saving = true
    this.formError = ''
    try {
      const board = await api.put<Board>(`/api/projects/${this.project.id}/board`, {
        columns: this.draft.map((column, order) => ({ ...column, title: column.title.trim(), order })),
        version: this.version,
      })
      this.dispatchEvent(new CustomEvent('saved', { detail: board }))
      notify('Columns saved', 'success')
      this.open = false
    } catch (error) {
      this.errors = error instanceof ApiError ? error.fields() : {}
      this.formError = error instanceof ApiError && error.status === 409 && /version/.test(error.message)
        ? 'Someone changed the columns meanwhile. Close this dialog and open it again to edit the latest columns.'
        : errorText(error)
    } finally {
      this.saving = false
    }
  }

  override render() {
    return html`
      <ta-modal heading="Board columns" size="large" .open=${this.open} @close=${() => { this.open = false; this.dispatchEvent(new Event('close')) }}>
        ${this.formError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : ''}
        <p class="muted mb-14">Rename and reorder freely. The role decides behaviour: a ticket moved to the
          <b>In progress</b> column starts an agent; finished agents move tickets to <b>In review</b>.</p>
        <div class="rows">
          ${repeat(this.draft, (column) => column.id, (column, i) => {
            const count = this.counts.get(column.id) ?? 0
            const error = this.errors[`columns.${i}.title`] ?? this.errors[`columns.${i}.id`]
            return html`<div class="row">
              <span class="title-cell"><input class="input" aria-label="Column title" .value=${column.title} maxlength=${COLUMN_TITLE_MAX}
                @input=${(e: InputEvent) => this.edit(i, { title: (e.target as HTMLInputElement).value })}>${counter(column.title.length, COLUMN_TITLE_MAX)}</span>
              <select class="input" aria-label="Role of ${column.title}" .value=${column.role}
                @change=${(e: Event) => this.edit(i, { role: (e.target as HTMLSelectElement).value as ColumnRole })}>
                ${ROLES.map((role) => html`<option value=${role.value} ?selected=${role.value === column.role}>${role.label}</option>`)}
              </select>
              <div class="moves">
                <button class="icon-btn" aria-label="Move ${column.title} left" ?disabled=${i === 0} @click=${() => this.swap(i, -1)}>${icons.arrowUp()}</button>
                <button class="icon-btn" aria-label="Move ${column.title} right" ?disabled=${i === this.draft.length - 1} @click=${() => this.swap(i, 1)}>${icons.arrowDown()}</button>
                <button class="icon-btn" aria-label="Delete ${column.title}" ?disabled=${count > 0}
                  title=${count ? `Holds ${count} ticket(s): move them first` : 'Delete column'}
                  @click=${() => (this.draft = this.draft.filter((_, j) => j !== i))}>${icons.trash()}</button>
              </div>
              ${error ? html`<span class="field-error">${error}</span>` : ''}
            </div>`
          })}
        </div>
        <button class="btn small" @click=${this.add} ?disabled=${this.draft.length >= 50}>${icons.plus()} Add column</button>
        <button slot="footer" class="btn" @click=${() => (this.open = false)}>Cancel</button>
        <button slot="footer" class="btn primary" @click=${this.save} ?disabled=${this.saving}>${this.saving ? html`<span class="spinner"></span>` : ''}Save columns</button>
      </ta-modal>`
  }
}
customElements.define('ta-columns-editor', ColumnsEditor)
