/**
 * `<ta-review-list>`: the project's Review tab. Every tracked pull request with its ticket, state
 * (a PR closed without merging is no longer tracked), approval and how many review comments are
 * still pending or were addressed. Reloads when tickets, jobs or PRs change.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, errorText } from './api.ts'
import { ticketLabel, timeAgo } from './format.ts'
import { forgeName, prHref, requestLabel } from './pr-link.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { shared } from './styles.ts'
import type { PrState, Project, ReviewPr } from './types.ts'

export const PR_LOOK: Record<PrState, { cls: string; label: string; title: string }> = {
  open: { cls: 'accent', label: 'Open', title: 'Open: new comments are addressed by review jobs' },
  merged: { cls: 'success', label: 'Merged', title: 'Merged: the ticket moved to Done' },
  closed: { cls: 'danger', label: 'Closed · tracking stopped', title: 'Closed without merging: comments are no longer addressed' },
}

const RELOAD_ON = new Set(['ticket.created', 'ticket.updated', 'ticket.deleted', 'job.updated', 'pr.updated'])

export class ReviewList extends LitElement {
  static override properties = {
    project: { attribute: false },
    prs: { state: true },
    error: { state: true },
  }
  declare project: Project
  declare prs: ReviewPr[] | null
  /** The project's forge kind, from the review API. */
  forge = 'github'
  declare error: string
  private live = new LiveController(this, {
    project: () => this.project.id,
    onEvent: (type) => {
      if (!RELOAD_ON.has(type)) return
      clearTimeout(this.timer)
      this.timer = window.setTimeout(() => void this.load(), 200)
    },
    reset: () => { this.prs = null; this.error = '' },
    load: () => this.load(),
    loadAtOnce: true,
  })
  private timer = 0

  static override styles = [shared, css`
    :host { display: block; overflow: auto; padding: 20px 24px 32px; }
    .wrap { max-width: 980px; margin: 0 auto; }
    .head { display: flex; align-items: baseline; gap: 10px; margin-bottom: 14px; }
    .head h2 { font-size: 16px; }
    ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; }
    li {
      display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 6px 16px; align-items: center;
      background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-lg); padding: 12px 14px;
    }
    .title { display: flex; gap: 8px; align-items: baseline; min-width: 0; }
    .title a.ticket { color: var(--text); font-weight: 500; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .tid { color: var(--text-3); }
    .badges { display: flex; gap: 6px; flex-wrap: wrap; justify-content: flex-end; }
    .sub { display: flex; gap: 10px; align-items: center; color: var(--text-3); font-size: 12.5px; flex-wrap: wrap; }
    .sub a { display: inline-flex; align-items: center; gap: 4px; font-family: var(--mono); font-size: 12px; }
    .sub svg { width: 13px; height: 13px; }
    .counts { display: flex; gap: 6px; justify-content: flex-end; }
    .err { grid-column: 1 / -1; color: var(--danger); font-size: 12.5px; }
    .sk { height: 64px; }
  `]

  constructor() {
    super()
    this.prs = null
    this.error = ''
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    clearTimeout(this.timer)
  }

  async load() {
    try {
      const { prs, forge } = await api.get<{ prs: ReviewPr[]; forge: string }>(`/api/projects/${this.project.id}/review`)
      this.forge = forge
      this.prs = prs
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private row(pr: ReviewPr) {
    const look = PR_LOOK[pr.state]
    const c = pr.comments
    const pending = c.queued + c.in_progress + c.undecided
    return html`<li data-pr=${pr.number} data-ticket=${pr.ticket_id}>
      <div class="title">
        <span class="tid">${ticketLabel(this.project, { id: pr.ticket_id, number: pr.ticket_number })}</span>
        <a class="ticket" href="/projects/${this.project.id}/tickets/${pr.ticket_id}" title=${pr.ticket_title}>${pr.ticket_title}</a>
      </div>
      <div class="badges">
        <span class="badge ${look.cls}" title=${look.title}><span class="dot"></span>${look.label}</span>
        ${pr.approved ? html`<span class="badge success" title="Approved on ${forgeName(this.forge)}">${icons.check()} Approved</span>` : nothing}
      </div>
      <div class="sub">
        ${prHref(pr.url) ? html`<a href=${prHref(pr.url)!} target="_blank" rel="noopener" aria-label=${requestLabel(this.forge, pr.number)}>${icons.pr()} ${requestLabel(this.forge, pr.number, true)}</a>`
          : html`<span>${icons.pr()} ${requestLabel(this.forge, pr.number, true)}</span>`}
        ${pr.repo ? html`<span class="mono">${pr.repo}</span>` : nothing}
        ${pr.title ? html`<span>${pr.title}</span>` : nothing}
        <span>updated ${timeAgo(pr.updated_at)}</span>
      </div>
      <div class="counts">
        <span class="badge ${pending ? 'warning' : ''}" title="Comments not addressed yet (queued, in progress or awaiting a decision)">${pending} pending</span>
        <span class="badge ${c.addressed ? 'success' : ''}" title="Comments an agent addressed">${c.addressed} addressed</span>
        ${c.failed ? html`<span class="badge danger" title="Comments the review agent failed to address">${c.failed} failed</span>` : nothing}
        ${c.ignored ? html`<span class="badge" title="Comments ignored (author without write access, or the app's own)">${c.ignored} ignored</span>` : nothing}
      </div>
      ${pr.last_error ? html`<div class="err">${pr.last_error}</div>` : nothing}
    </li>`
  }

  override render() {
    const prs = this.prs
    return html`<div class="wrap">
      <div class="head"><h2>${this.forge === 'gitlab' ? 'Merge requests' : 'Pull requests'}</h2>${prs ? html`<span class="faint">${prs.length}</span>` : nothing}</div>
      ${this.error ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load the pull requests: ${this.error}</span>
        <button class="btn small" @click=${() => void this.load()}>Retry</button></div>` : nothing}
      ${prs === null
        ? (this.error ? nothing : html`<ul aria-busy="true" aria-label="Loading pull requests"><li class="skeleton sk"></li><li class="skeleton sk"></li></ul>`)
        : prs.length === 0
          ? html`<div class="empty" role="status">${icons.review()}<h3>No pull requests yet</h3>
              <p>When an agent opens a pull request for a ticket it appears here. Comments on it become review jobs that address them on the same branch.</p></div>`
          : html`<ul aria-label=${this.forge === 'gitlab' ? 'Merge requests' : 'Pull requests'}>${prs.map((pr) => this.row(pr))}</ul>`}
    </div>`
  }
}
customElements.define('ta-review-list', ReviewList)
