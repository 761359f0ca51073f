/**
 * `<ta-board>`: the project's Kanban board. Loads columns and tickets once the live feed is open,
 * then applies feed events on top, so a move by an agent or another browser shows without reload.
 * Moves are optimistic (PATCH column_id/position); a refusal (422: the project cannot run, 409:
 * already running) reloads the board and tells the person why. A failed load is retried by itself
 * (retry-controller.ts) as well as by its Retry button.
 */
import { LitElement, css, html } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import { api, errorText } from './api.ts'
import { applyJob, dropPosition, findTicket, groupTickets, matches, placeTicket, removeTicket, type Filter, type Groups } from './board-model.ts'
import type { BoardColumn } from './board-column.ts'
import { eventLine } from './event-text.ts'
import { ticketLabel } from './format.ts'
import { icons } from './icons.ts'
import { stopTicketJob } from './job-stop.ts'
import { loadWhen } from './lazy.ts'
import { LiveController } from './live-controller.ts'
import { RetryController } from './retry-controller.ts'
import { replaceQuietly } from './router.ts'
import { denied } from './session.ts'
import { SettingsCheckController, localRunDenied, runBlocker } from './settings-check.ts'
import { blockerLines } from './ticket-blockers.ts'
import { shared } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import { isActive, type Board, type Column, type JobEvent, type Project, type TicketView } from './types.ts'
import './board-column.ts'
import './settings-banner.ts'
import './ticket-view.ts'

export class BoardView extends LitElement {
  static override properties = {
    project: { attribute: false },
    ticketId: { attribute: false },
    columns: { state: true },
    version: { state: true },
    groups: { state: true },
    latest: { state: true },
    filter: { state: true },
    error: { state: true },
    draggingId: { state: true },
    createOpen: { state: true },
    columnsOpen: { state: true },
    announcement: { state: true },
  }
  declare project: Project
  declare ticketId: number | null
  declare columns: Column[] | null
  declare version: number
  declare groups: Groups
  declare latest: Map<number, string>
  declare filter: Filter
  declare error: string
  declare draggingId: number | null
  declare createOpen: boolean
  declare columnsOpen: boolean
  declare announcement: string
  private check = new SettingsCheckController(this)
  private live = new LiveController(this, { project: () => this.project.id, onEvent: (type, data) => this.onEvent(type, data), load: () => this.load() })
  private retry = new RetryController(this, () => this.load())
  private focusAfterUpdate: number | null = null
  private loadedAt = 0

  static override styles = [shared, css`
    :host { display: flex; flex-direction: column; min-height: 0; position: relative; }
    .bar { flex: none; display: flex; align-items: center; gap: 8px; padding: 12px 24px; flex-wrap: wrap; }
    .search { position: relative; width: 240px; }
    .search svg { position: absolute; left: 9px; top: 9px; width: 15px; height: 15px; color: var(--text-3); }
    .search .input { padding-left: 30px; height: 32px; }
    select.input { width: auto; height: 32px; }
    ta-settings-banner { margin: 0 24px 10px; }
    .columns { flex: 1; min-height: 0; display: flex; gap: 14px; padding: 2px 24px 20px; overflow-x: auto; align-items: flex-start; }
    .loading .col { width: 292px; height: 360px; flex: none; }
    .error { margin: 24px; }
    .retrying { display: block; font-size: 12px; }
    .read-only svg { width: 13px; height: 13px; }
  `]

  constructor() {
    super()
    this.ticketId = null
    this.columns = null
    this.version = 0
    this.groups = new Map()
    this.latest = new Map()
    this.filter = { text: '', priority: '' }
    this.error = ''
    this.draggingId = null
    this.createOpen = false
    this.columnsOpen = false
    this.announcement = ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    // On the window: `n` and `/` work wherever the focus is (the page itself after a load or a click).
    window.addEventListener('keydown', this.onShortcut)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    window.removeEventListener('keydown', this.onShortcut)
  }

  protected override async updated(): Promise<void> {
    if (this.focusAfterUpdate === null) return
    const id = this.focusAfterUpdate
    this.focusAfterUpdate = null
    const ticket = findTicket(this.groups, id)
    const column = ticket && this.columnElement(ticket.column_id)
    if (!column) return
    await column.updateComplete
    column.focusTicket(id)
  }

  private columnElement(columnId: string): BoardColumn | null {
    return this.renderRoot.querySelector(`ta-board-column[data-column="${CSS.escape(columnId)}"]`)
  }

  async load(): Promise<void> {
    try {
      const started = performance.now()
      const [board, tickets] = await Promise.all([
        api.get<Board>(`/api/projects/${this.project.id}/board`),
        api.get<TicketView[]>(`/api/projects/${this.project.id}/tickets`),
      ])
      performance.mark('board:data')
      this.columns = board.columns
      this.version = board.version
      this.groups = groupTickets(board.columns, tickets)
      this.error = ''
      this.retry.succeeded()
      this.loadedAt = started
      void this.markRendered()
      void this.loadLatest(tickets.filter((ticket) => ticket.job?.status === 'running'))
    } catch (error) {
      this.retry.failed(error)
      this.error = errorText(error)
    }
  }

  /** Marks when the board (every column) is on screen: `board:render` in the performance timeline. */
  private async markRendered(): Promise<void> {
    await this.updateComplete
    await Promise.all([...this.renderRoot.querySelectorAll<BoardColumn>('ta-board-column')].map((column) => column.updateComplete))
    performance.mark('board:updated')
    // Count style, layout and paint too: mark after the next frame has been produced.
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))
    performance.mark('board:rendered')
    performance.measure('board:render', 'board:data', 'board:rendered')
    this.dataset.rendered = String(Math.round(performance.now() - this.loadedAt))
  }

  /** The latest event of each running ticket, for its card (newest first page of its log). */
  private async loadLatest(running: TicketView[]): Promise<void> {
    for (const ticket of running.slice(0, 20)) {
      try {
        const page = await api.get<{ events: JobEvent[] }>(`/api/projects/${this.project.id}/tickets/${ticket.id}/logs?limit=1000&job_id=${ticket.job!.job_id}`)
        const last = page.events[page.events.length - 1]
        if (last && !this.latest.has(ticket.id)) this.latest = new Map(this.latest).set(ticket.id, eventLine(last))
      } catch {
        // A card without its latest line is still a correct card.
      }
    }
  }

  private onEvent(type: string, data: any): void {
    if (!this.columns) return
    switch (type) {
      case 'ticket.created':
      case 'ticket.updated':
        this.groups = placeTicket(this.groups, data.ticket)
        break
      case 'ticket.deleted':
        this.groups = removeTicket(this.groups, data.ticket_id)
        break
      case 'board.updated':
        this.columns = data.board.columns
        this.version = data.board.version
        this.groups = groupTickets(this.columns!, [...this.groups.values()].flat())
        break
      case 'job.updated':
        this.groups = applyJob(this.groups, data)
        if (!isActive(data)) {
          const latest = new Map(this.latest)
          latest.delete(data.ticket_id)
          this.latest = latest
        }
        break
      case 'log': {
        const ticket = data.ticket_id ? findTicket(this.groups, data.ticket_id) : undefined
        if (ticket && (!ticket.job || ticket.job.job_id <= data.job_id)) {
          const line = eventLine(data)
          if (line) this.latest = new Map(this.latest).set(data.ticket_id, line)
        }
        break
      }
    }
  }

  private async move(id: number, columnId: string, beforeId: number | null, keyboard = false): Promise<void> {
    const ticket = findTicket(this.groups, id)
    if (!ticket) return
    const refused = denied('member', 'move tickets')
    if (refused) return notify(refused, 'error')
    const position = dropPosition(this.groups, id, columnId, beforeId)
    if (ticket.column_id === columnId && ticket.position === position) return
    const target = this.columns!.find((column) => column.id === columnId)!
    const localOnly = localRunDenied(this.project)
    if (localOnly && target.role === 'in_progress' && ticket.column_id !== columnId) return notify(localOnly, 'error')
    this.groups = placeTicket(this.groups, { ...ticket, column_id: columnId, position })
    if (keyboard) {
      this.focusAfterUpdate = id
      this.announcement = `Moved “${ticket.title}” to ${target.title}, position ${position + 1}`
    }
    try {
      const saved = await api.patch<TicketView>(`/api/projects/${this.project.id}/tickets/${id}`, { column_id: columnId, position })
      // A coordinator may claim the job this move queued before this answer arrives (its job.updated first): keep the later state.
      const now = findTicket(this.groups, id)?.job
      const job = now && saved.job && now.job_id === saved.job.job_id && now.attempt === saved.job.attempt && saved.job.status === 'pending' ? now : saved.job
      this.groups = placeTicket(this.groups, { ...saved, job })
      if (target.role === 'in_progress' && ticket.column_id !== columnId) notify(`Agent queued for “${ticket.title}”`, 'success')
    } catch (error) {
      notifyError(error, `Could not move “${ticket.title}”`)
      if (keyboard) this.focusAfterUpdate = id
      await this.load()
    }
  }

  private onMove = (event: CustomEvent<{ id: number; columnId: string; beforeId: number | null; keyboard?: boolean }>) => {
    const { id, columnId, beforeId, keyboard } = event.detail
    // The dragged card may have been re-rendered into another column; its dragend never arrives.
    this.draggingId = null
    void this.move(id, columnId, beforeId, keyboard)
  }

  private visible(columnId: string): TicketView[] {
    const group = this.groups.get(columnId) ?? []
    return this.filter.text || this.filter.priority ? group.filter((ticket) => matches(ticket, this.filter)) : group
  }

  private onMoveColumn = (event: CustomEvent<{ id: number; dir: number; index: number; columnId: string }>) => {
    const { id, dir, index, columnId } = event.detail
    const at = this.columns!.findIndex((column) => column.id === columnId)
    const target = this.columns![at + dir]
    if (!target) return
    const beforeId = this.visible(target.id)[index]?.id ?? null
    void this.move(id, target.id, beforeId, true)
  }

  private onNav = (event: CustomEvent<{ dir: number; index: number; columnId: string }>) => {
    const { dir, index, columnId } = event.detail
    let at = this.columns!.findIndex((column) => column.id === columnId) + dir
    // Skip empty columns so focus always lands on a card.
    while (this.columns![at] && !this.visible(this.columns![at]!.id).length) at += dir
    const target = this.columns![at]
    if (target) this.columnElement(target.id)?.focusTicket(null, index)
  }

  private open(id: number | null): void {
    replaceQuietly(id === null ? `/projects/${this.project.id}` : `/projects/${this.project.id}/tickets/${id}`)
  }

  private async run(id: number): Promise<void> {
    const ticket = findTicket(this.groups, id)
    try {
      const { ticket: saved } = await api.post<{ ticket: TicketView }>(`/api/projects/${this.project.id}/tickets/${id}/run`)
      this.groups = placeTicket(this.groups, saved)
      notify(saved.waiting ? `${ticketLabel(this.project, saved)} is waiting for its blockers; it starts by itself` : `Agent queued for ${ticketLabel(this.project, saved)} “${saved.title}”`, saved.waiting ? 'info' : 'success')
    } catch (error) {
      notifyError(error, 'Could not run the ticket')
    }
  }

  /** A disabled Run pressed: a waiting ticket says on what it waits, others why agents cannot run. */
  private explainBlocked(id: number, blocker: string | null): void {
    const ticket = findTicket(this.groups, id)
    const waiting = ticket && blockerLines(ticket).waiting
    if (waiting) notify(`${waiting}: it starts by itself`, 'info')
    else notify(blocker ?? '', 'error')
  }

  private async stop(id: number): Promise<void> {
    await stopTicketJob(this.project.id, id)
  }

  private onShortcut = (event: KeyboardEvent) => {
    const path = event.composedPath() as HTMLElement[]
    const target = path[0]
    const typing = !target || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || target.isContentEditable
    // Not while typing, nor under an open dialog (a modal, the shortcuts list).
    if (typing || path.some((node) => node.tagName === 'DIALOG') || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return
    if (event.key === 'n' && !this.ticketId && !denied('member', 'create tickets')) {
      event.preventDefault()
      this.createOpen = true
    } else if (event.key === '/') {
      event.preventDefault()
      this.renderRoot.querySelector<HTMLInputElement>('.search input')?.focus()
    }
  }

  private setFilter(patch: Partial<Filter>) {
    this.filter = { ...this.filter, ...patch }
  }

  override render() {
    if (this.error && !this.columns) {
      return html`<div class="alert error error" role="alert">${icons.alert()}<span class="grow">Could not load the board: ${this.error}
        ${this.retry.scheduled ? html`<span class="retrying">Trying again by itself…</span>` : ''}</span>
        <button class="btn small" @click=${() => this.load()}>Retry</button></div>`
    }
    const readOnly = denied('member', 'move tickets')
    const blocker = denied('member', 'run agents') ?? localRunDenied(this.project) ?? runBlocker(this.project, this.check.value)
    const ticket = this.ticketId === null ? undefined : findTicket(this.groups, this.ticketId)
    return html`
      <div class="bar">
        <button class="btn primary" @click=${() => (this.createOpen = true)} ?disabled=${!!readOnly}
          title=${denied('member', 'create tickets') ?? 'New ticket (N)'}>${icons.plus()} New ticket</button>
        <label class="search">${icons.search()}<input class="input" type="search" placeholder="Filter tickets  /" aria-label="Filter tickets by text"
          .value=${this.filter.text} @input=${(e: InputEvent) => this.setFilter({ text: (e.target as HTMLInputElement).value })}></label>
        <select class="input" aria-label="Filter by priority" .value=${this.filter.priority}
          @change=${(e: Event) => this.setFilter({ priority: (e.target as HTMLSelectElement).value as Filter['priority'] })}>
          <option value="">All priorities</option><option value="high">High</option><option value="medium">Medium</option><option value="low">Low</option>
        </select>
        <span class="grow"></span>
        ${readOnly ? html`<span class="badge read-only" role="note">${icons.info()} ${readOnly}: you can read this board</span>` : ''}
        <button class="btn ghost" @click=${() => (this.columnsOpen = true)} ?disabled=${!this.columns || !!readOnly}
          title=${denied('member', 'change the columns') ?? 'Rename, add, reorder and delete columns'}>${icons.columns()} Columns</button>
      </div>
      <ta-settings-banner .project=${this.project}></ta-settings-banner>
      ${this.columns
        ? html`<div class="columns" @ticket-move=${this.onMove} @ticket-move-column=${this.onMoveColumn} @ticket-nav=${this.onNav}
            @ticket-open=${(e: CustomEvent) => this.open(e.detail.id)} @ticket-run=${(e: CustomEvent) => this.run(e.detail.id)}
            @ticket-stop=${(e: CustomEvent) => this.stop(e.detail.id)} @ticket-blocked=${(e: CustomEvent) => this.explainBlocked(e.detail.id, blocker)}
            @ticket-drag=${(e: CustomEvent) => (this.draggingId = e.detail.id)}>
            ${repeat(this.columns, (column) => column.id, (column) => html`
              <ta-board-column data-column=${column.id} .column=${column} .tickets=${this.visible(column.id)}
                .total=${this.groups.get(column.id)?.length ?? 0} .latest=${this.latest} .runBlocker=${blocker} .readOnly=${readOnly}
                .draggingId=${this.draggingId}></ta-board-column>`)}
          </div>`
        : html`<div class="columns loading" aria-busy="true">${[0, 1, 2, 3].map(() => html`<div class="col skeleton"></div>`)}</div>`}
      <div class="sr-only" aria-live="polite">${this.announcement}</div>
      <ta-ticket-create .open=${loadWhen(this.createOpen, () => import('./ticket-create.ts'))} .project=${this.project} .columns=${this.columns ?? []}
        @close=${() => (this.createOpen = false)}
        @created=${(e: CustomEvent<TicketView>) => (this.groups = placeTicket(this.groups, e.detail))}></ta-ticket-create>
      <ta-columns-editor .open=${loadWhen(this.columnsOpen, () => import('./columns-editor.ts'))} .project=${this.project} .columns=${this.columns ?? []} .version=${this.version}
        .counts=${new Map([...this.groups].map(([id, group]) => [id, group.length]))}
        @close=${() => (this.columnsOpen = false)}
        @saved=${(e: CustomEvent<Board>) => { this.columns = e.detail.columns; this.version = e.detail.version; this.groups = groupTickets(e.detail.columns, [...this.groups.values()].flat()) }}></ta-columns-editor>
      ${this.ticketId !== null
        ? html`<ta-ticket-view .project=${this.project} .ticketId=${this.ticketId} .ticket=${ticket ?? null} .columns=${this.columns ?? []}
            .runBlocker=${blocker} @close=${() => this.closeDrawer()}></ta-ticket-view>`
        : ''}`
  }

  private closeDrawer() {
    const id = this.ticketId
    this.open(null)
    if (id !== null) {
      const ticket = findTicket(this.groups, id)
      if (ticket) void this.updateComplete.then(() => this.columnElement(ticket.column_id)?.focusTicket(id))
    }
  }
}
customElements.define('ta-board', BoardView)
