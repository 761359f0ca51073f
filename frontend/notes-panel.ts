/**
 * `<ta-notes-panel>`: the project's notes (context the agents read with every ticket): a list and
 * an editor with linked nodes/edges. Live: notes added or changed elsewhere appear at once.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { NOTE_CONTENT_MAX, NOTE_TITLE_MAX, counter, counterStyles } from './char-counter.ts'
import { confirmDialog } from './confirm-dialog.ts'
import { timeAgo } from './format.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import type { Note, Project } from './types.ts'
import type { Links } from './links-picker.ts'
import './links-picker.ts'

type Draft = Pick<Note, 'title' | 'content' | 'associated_node_ids' | 'associated_edge_ids'>

export class NotesPanel extends LitElement {
  static override properties = {
    project: { attribute: false },
    notes: { state: true },
    selected: { state: true },
    draft: { state: true },
    error: { state: true },
    formError: { state: true },
    saving: { state: true },
  }
  declare project: Project
  declare notes: Note[] | null
  /** The open note's id, or 'new'. */
  declare selected: number | 'new' | null
  declare draft: Draft | null
  declare error: string
  declare formError: string
  declare saving: boolean
  private live = new LiveController(this, { project: () => this.project.id, onEvent: (type) => type.startsWith('note.') && void this.load(), load: () => this.load() })

  static override styles = [shared, counterStyles, css`
    :host { display: flex; min-height: 0; }
    .list { width: 300px; flex: none; border-right: 1px solid var(--border); background: var(--surface); display: flex; flex-direction: column; min-height: 0; }
    .list-head { display: flex; align-items: center; gap: 8px; padding: 14px 14px 10px; }
    .list-head h2 { font-size: 14px; flex: 1; }
    ul { list-style: none; margin: 0; padding: 0 8px 12px; overflow: auto; }
    li button { width: 100%; text-align: left; display: grid; gap: 2px; padding: 9px 10px; border-radius: 8px; border: 0; background: none; cursor: pointer; color: var(--text); font: inherit; }
    li button:hover { background: var(--surface-2); }
    li button[aria-current='true'] { background: var(--accent-soft); }
    li b { font-weight: 500; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    li span { font-size: 12px; color: var(--text-3); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .editor { flex: 1; min-width: 0; overflow: auto; padding: 20px 28px 40px; }
    .editor form { max-width: 760px; }
    .title-input { font-size: 18px; font-weight: 600; height: 42px; }
    textarea.input { min-height: 280px; font-family: var(--mono); font-size: 13px; }
    .actions { display: flex; gap: 8px; align-items: center; margin-top: 6px; }
    .alert { margin-bottom: 12px; }
  `]

  constructor() {
    super()
    this.notes = null
    this.selected = null
    this.draft = null
    this.error = ''
    this.formError = ''
    this.saving = false
  }

  async load() {
    try {
      this.notes = await api.get<Note[]>(`/api/projects/${this.project.id}/notes`)
      if (this.selected === null && this.notes.length) this.open(this.notes[0]!)
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private open(note: Note | null) {
    this.selected = note ? note.id : 'new'
    this.draft = note
      ? { title: note.title, content: note.content, associated_node_ids: note.associated_node_ids, associated_edge_ids: note.associated_edge_ids }
      : { title: '', content: '', associated_node_ids: [], associated_edge_ids: [] }
    this.formError = ''
  }

  private async save(event: Event) {
    event.preventDefault()
    const draft = this.draft!
    if (!draft.title.trim()) {
      this.formError = 'A note needs a title.'
      return
    }
    this.saving = true
    try {
      const body = { ...draft, title: draft.title.trim() }
      const note = this.selected === 'new'
        ? await api.post<Note>(`/api/projects/${this.project.id}/notes`, body)
        : await api.patch<Note>(`/api/projects/${this.project.id}/notes/${this.selected}`, body)
      this.selected = note.id
      this.formError = ''
      notify('Note saved', 'success')
      await this.load()
    } catch (error) {
      this.formError = error instanceof ApiError ? error.describe() : errorText(error)
    } finally {
      this.saving = false
    }
  }

  private async removeNote() {
    const note = this.notes?.find((candidate) => candidate.id === this.selected)
    if (!note || !(await confirmDialog({ title: `Delete “${note.title}”?`, message: 'The note is deleted for good.', confirm: 'Delete note', danger: true }))) return
    try {
      await api.del(`/api/projects/${this.project.id}/notes/${note.id}`)
      this.selected = null
      this.draft = null
      await this.load()
    } catch (error) {
      notifyError(error, 'Could not delete the note')
    }
  }

  private editor() {
    const draft = this.draft
    if (!draft) {
      return html`<div class="empty">${icons.notes()}<h3>Notes for the agents</h3>
        <p>Conventions, decisions, gotchas: notes are sent to the agent with every ticket of this project.</p>
        <button class="btn primary" ?disabled=${!!denied('member', 'write notes')} title=${denied('member', 'write notes') ?? nothing} @click=${() => this.open(null)}>${icons.plus()} New note</button></div>`
    }
    return html`<form novalidate @submit=${this.save}>
      ${this.formError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : nothing}
      <label class="field"><span class="label-row">Title ${counter(draft.title.length, NOTE_TITLE_MAX)}</span>
        <input class="input title-input" name="title" placeholder="Note title" maxlength=${NOTE_TITLE_MAX} .value=${draft.title}
          @input=${(e: InputEvent) => (this.draft = { ...draft, title: (e.target as HTMLInputElement).value })}></label>
      <label class="field"><span class="label-row">Content ${counter(draft.content.length, NOTE_CONTENT_MAX)}</span>
        <textarea class="input" name="content" placeholder="Markdown is fine." maxlength=${NOTE_CONTENT_MAX} .value=${draft.content}
          @input=${(e: InputEvent) => (this.draft = { ...this.draft!, content: (e.target as HTMLTextAreaElement).value })}></textarea></label>
      <div class="field"><span class="label">Linked architecture</span>
        <ta-links-picker .projectId=${this.project.id} .value=${{ nodes: draft.associated_node_ids, edges: draft.associated_edge_ids }}
          @change=${(e: CustomEvent<Links>) => (this.draft = { ...this.draft!, associated_node_ids: e.detail.nodes, associated_edge_ids: e.detail.edges })}></ta-links-picker></div>
      <div class="actions">
        ${denied('member', 'edit notes') ? html`<span class="faint">${denied('member', 'edit notes')}</span>` : nothing}
        <button class="btn primary" type="submit" ?disabled=${this.saving || !!denied('member', 'edit notes')}>${this.saving ? html`<span class="spinner"></span>` : ''}${this.selected === 'new' ? 'Create note' : 'Save note'}</button>
        ${this.selected !== 'new' ? html`<button type="button" class="btn danger-ghost" ?disabled=${!!denied('member', 'delete notes')} @click=${this.removeNote}>${icons.trash()} Delete</button>` : nothing}
      </div>
    </form>`
  }

  override render() {
    if (this.error && !this.notes) return html`<div class="pad-24 grow"><div class="alert error" role="alert">${icons.alert()}<span>Could not load notes: ${this.error}</span></div></div>`
    return html`
      <div class="list">
        <div class="list-head"><h2>Notes</h2><button class="btn small" ?disabled=${!!denied('member', 'write notes')} title=${denied('member', 'write notes') ?? nothing} @click=${() => this.open(null)}>${icons.plus()} New</button></div>
        ${!this.notes ? html`<div class="row faint px-14"><span class="spinner"></span> Loading…</div>`
          : !this.notes.length && this.selected !== 'new' ? html`<p class="faint px-14">No notes yet.</p>`
          : html`<ul>${this.notes.map((note) => html`<li><button aria-current=${this.selected === note.id ? 'true' : 'false'} @click=${() => this.open(note)}>
              <b>${note.title}</b><span>${note.content.split('\n')[0] || 'Empty'} · ${timeAgo(note.updated_at)}</span></button></li>`)}</ul>`}
      </div>
      <div class="editor">${this.editor()}</div>`
  }
}
customElements.define('ta-notes-panel', NotesPanel)
