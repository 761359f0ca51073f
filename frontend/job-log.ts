/**
 * `<ta-job-log>`: a ticket's execution log, live. Loads every page of `GET …/logs?after=`, then
 * appends `log` feed events (deduplicated by seq), grouped by job; a tool call is one row that
 * updates in place when it ends. Follows the tail while the person is at the bottom; scrolling up
 * stops following.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import { api, errorText } from './api.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { foldToolCalls, logEntry, logStyles, type LogEvent } from './log-entry.ts'
import { shared, STATUS_LOOK } from './styles.ts'
import type { JobSummary } from './types.ts'

const PAGE = 1000

export class JobLog extends LitElement {
  static override properties = {
    projectId: { type: Number },
    ticketId: { type: Number },
    job: { attribute: false },
    highlight: { attribute: false },
    events: { state: true },
    loading: { state: true },
    error: { state: true },
  }
  declare projectId: number
  declare ticketId: number
  declare job: JobSummary | null
  /** The seq of an event to scroll to and mark (a job reason's "Show in log"), once it is loaded. */
  declare highlight: number | null
  declare events: LogEvent[]
  declare loading: boolean
  declare error: string
  private live = new LiveController(this, {
    project: () => this.projectId,
    subject: () => `${this.projectId}/${this.ticketId}`,
    onEvent: (type, data) => type === 'log' && data.ticket_id === this.ticketId && this.addEvents([data]),
    reset: () => { this.events = []; this.seqs.clear() },
    load: () => this.load(),
  })
  private seqs = new Set<number>()
  private follow = true
  private highlighted: number | null = null

  static override styles = [shared, ...logStyles, css`
    :host { display: block; }
    ol { list-style: none; margin: 0; padding: 0; }
    .job-head { display: flex; align-items: center; gap: 8px; margin: 14px 0 4px; font-size: 12px; color: var(--text-3); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
    .job-head:first-child { margin-top: 0; }
    .job-head::after { content: ''; flex: 1; height: 1px; background: var(--border); }
    .waiting { display: flex; gap: 10px; align-items: center; color: var(--text-2); padding: 14px 0; }
    .waiting .spinner { color: var(--accent); }
    .entry[data-highlight] { background: var(--accent-soft); box-shadow: inset 3px 0 0 var(--accent); }
  `]

  constructor() {
    super()
    this.job = null
    this.highlight = null
    this.events = []
    this.loading = true
    this.error = ''
  }

  private async load(): Promise<void> {
    this.loading = true
    try {
      let after = 0
      for (;;) {
        const page = await api.get<{ events: LogEvent[]; next_after: number }>(
          `/api/projects/${this.projectId}/tickets/${this.ticketId}/logs?after=${after}&limit=${PAGE}`)
        this.addEvents(page.events)
        if (page.events.length < PAGE) break
        after = page.next_after
      }
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    } finally {
      this.loading = false
    }
  }

  private addEvents(incoming: LogEvent[]): void {
    const fresh = incoming.filter((event) => !this.seqs.has(event.seq))
    if (!fresh.length) return
    for (const event of fresh) this.seqs.add(event.seq)
    const scroller = this.scroller()
    this.follow = !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40
    const merged = this.events.concat(fresh)
    if (fresh.some((event, i) => i === 0 ? this.events.length > 0 && event.seq < this.events[this.events.length - 1]!.seq : event.seq < fresh[i - 1]!.seq)) {
      merged.sort((a, b) => a.seq - b.seq)
    }
    this.events = merged
  }

  /** The drawer body that scrolls (this element sits inside it). */
  private scroller(): HTMLElement | null {
    let node: Node | null = this
    while (node) {
      node = (node as Element).parentNode ?? (node as ShadowRoot).host ?? null
      if (node instanceof HTMLElement && node.dataset.scroller !== undefined) return node
    }
    return null
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (this.highlight && this.highlight !== this.highlighted && this.seqs.has(this.highlight)) {
      const entry = this.renderRoot.querySelector<HTMLElement>(`[data-seq="${this.highlight}"]`)
      for (const marked of this.renderRoot.querySelectorAll('[data-highlight]')) marked.removeAttribute('data-highlight')
      entry?.setAttribute('data-highlight', '')
      entry?.scrollIntoView({ block: 'center' })
      this.highlighted = this.highlight
      this.follow = false
      return
    }
    if (changed.has('events') && this.follow) {
      const scroller = this.scroller()
      if (scroller) scroller.scrollTop = scroller.scrollHeight
    }
  }

  override render() {
    if (this.error) return html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load the log: ${this.error}</span>
      <button class="btn small" @click=${() => this.load()}>Retry</button></div>`
    if (this.loading && !this.events.length) return html`<div class="waiting"><span class="spinner"></span> Loading the log…</div>`
    const active = this.job && (this.job.status === 'pending' || this.job.status === 'running')
    if (!this.events.length && !active) {
      return html`<div class="empty">${icons.terminal()}<h3>No activity yet</h3><p>Run the ticket and the agent's steps, tool calls, commands and diffs stream here live.</p></div>`
    }
    let lastJob = -1
    return html`
      <ol aria-live="polite" aria-label="Job log">
        ${repeat(foldToolCalls(this.events), (event) => event.seq, (event) => {
          const head = event.job_id !== lastJob ? html`<li class="job-head">Job #${event.job_id}</li>` : nothing
          lastJob = event.job_id
          return html`${head}${logEntry(event)}`
        })}
      </ol>
      ${active ? html`<div class="waiting"><span class="spinner"></span>${this.job!.cancel_requested ? 'Stopping the agent…' : this.job!.status === 'pending'
        ? 'Queued: waiting for a coordinator to pick the job up…' : `${STATUS_LOOK.running!.label}: the agent is working…`}</div>` : nothing}`
  }
}
customElements.define('ta-job-log', JobLog)
