/**
 * `<ta-review-panel>`: a ticket's pull/merge request in the ticket view, read live from its forge through
 * the review API: state, changed files, commits and every comment with what the app did about it;
 * a form to comment (optionally asking the agent to address it) and Merge with a method.
 * The forge's refusals (4xx, or 502 for a token problem) are shown where the action was taken, named
 * by the forge kind the review API answers (`forge`: "Merge request !7" on GitLab, "PR #7" elsewhere).
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { confirmDialog } from './confirm-dialog.ts'
import { timeAgo } from './format.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { safeHref } from './linkify.ts'
import { markdown, markdownStyles } from './markdown.ts'
import { forgeName, requestLabel, requestNoun } from './pr-link.ts'
import { PR_LOOK } from './review-list.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import type { ReviewComment, ReviewCommentStatus, TicketReview } from './types.ts'

/** What the API adds to a comment: whether the app wrote it, and which comment it answers. */
type ShownComment = ReviewComment & { from_app?: boolean; reply_to?: number | null }

const COMMENT_LOOK: Record<ReviewCommentStatus, { cls: string; label: string }> = {
  addressed: { cls: 'success', label: 'Addressed' },
  in_progress: { cls: 'accent', label: 'Being addressed' },
  queued: { cls: 'warning', label: 'Not addressed yet' },
  undecided: { cls: 'warning', label: 'Not addressed yet' },
  failed: { cls: 'danger', label: 'Agent failed' },
  ignored: { cls: '', label: 'Ignored' },
  not_stored: { cls: '', label: 'Not addressed' },
}

type Method = 'merge' | 'squash' | 'rebase'

/** An error as a person should read it, saying when the forge (not the app) refused. */
function describe(error: unknown, doing: string, forge: string | null | undefined): string {
  if (error instanceof ApiError) {
    const settings = !forge || forge === 'github' ? 'GITHUB_TOKEN and GITHUB_API_URL' : 'FORGE_TOKEN and FORGE_API_URL'
    if (error.status === 502) return `${forgeName(forge)} refused to ${doing}: ${error.describe()}. Check ${settings} in the settings.`
    if (error.code.startsWith(`${forge ?? 'github'}_`) || error.status === 404 || error.status === 409 || error.status === 422) {
      return `Could not ${doing} (${error.status}): ${error.describe()}`
    }
  }
  return `Could not ${doing}: ${errorText(error)}`
}

export class ReviewPanel extends LitElement {
  static override properties = {
    projectId: { type: Number },
    ticketId: { type: Number },
    prNumber: { type: Number },
    review: { state: true },
    loadError: { state: true },
    commentError: { state: true },
    mergeError: { state: true },
    body: { state: true },
    trigger: { state: true },
    method: { state: true },
    posting: { state: true },
    merging: { state: true },
  }
  declare projectId: number
  declare ticketId: number
  declare prNumber: number | null
  declare review: TicketReview | null
  declare loadError: string
  declare commentError: string
  declare mergeError: string
  declare body: string
  declare trigger: boolean
  declare method: Method
  declare posting: boolean
  declare merging: boolean
  private live = new LiveController(this, {
    project: () => this.projectId,
    subject: () => `${this.projectId}/${this.ticketId}`,
    onEvent: (type, data) => {
      const mine = (type === 'pr.updated' && data.pr?.ticket_id === this.ticketId) || (type === 'job.updated' && data.ticket_id === this.ticketId)
      if (mine) this.scheduleLoad()
    },
    reset: () => { this.review = null; this.loadError = '' },
    load: () => this.load(),
    loadAtOnce: true,
  })
  private timer = 0

  static override styles = [shared, markdownStyles, css`
    :host { display: grid; gap: 18px; }
    section h3 { font-size: 13px; color: var(--text-2); text-transform: uppercase; letter-spacing: .04em; margin-bottom: 8px; display: flex; gap: 6px; align-items: center; }
    section h3 .n { color: var(--text-3); font-weight: 500; }
    .pr { display: grid; gap: 6px; }
    .pr .line { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
    .pr .name { font-weight: 600; font-size: 15px; }
    .pr a svg { width: 14px; height: 14px; }
    .branch { font-family: var(--mono); font-size: 12px; color: var(--text-2); }
    ul { list-style: none; margin: 0; padding: 0; }
    .files li { display: flex; gap: 8px; align-items: center; padding: 4px 0; border-bottom: 1px solid var(--border); font-size: 12.5px; }
    .files .fname { font-family: var(--mono); flex: 1; overflow-wrap: anywhere; }
    .add { color: var(--success); font-family: var(--mono); }
    .del { color: var(--danger); font-family: var(--mono); }
    .commits li { font-size: 12.5px; padding: 3px 0; display: flex; gap: 8px; }
    .commits .sha { font-family: var(--mono); color: var(--text-3); }
    .comments { display: grid; gap: 8px; }
    .comment { border: 1px solid var(--border); border-radius: var(--radius); padding: 10px 12px; background: var(--surface); }
    .comment.addressed { border-left: 3px solid var(--success); }
    .comment .who { display: flex; gap: 8px; align-items: center; font-size: 12.5px; color: var(--text-3); flex-wrap: wrap; }
    .comment .who strong { color: var(--text); }
    .comment .text { overflow-wrap: anywhere; margin-top: 6px; font-size: 13px; }
    .comment.reply { margin-left: 24px; border-left: 3px solid var(--accent); }
    .comment .why { margin-top: 4px; font-size: 12px; color: var(--text-3); }
    .comment .why.failed { color: var(--danger); }
    form { display: grid; gap: 8px; }
    .check { display: flex; gap: 6px; align-items: center; font-size: 13px; }
    .actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
    .merge select { width: auto; height: 32px; }
    .none { color: var(--text-3); font-size: 13px; }
  `]

  constructor() {
    super()
    this.prNumber = null
    this.review = null
    this.loadError = ''
    this.commentError = ''
    this.mergeError = ''
    this.body = ''
    this.trigger = true
    this.method = 'merge'
    this.posting = false
    this.merging = false
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('ticketId') && !changed.has('projectId') && changed.has('prNumber') && changed.get('prNumber') !== undefined) {
      this.scheduleLoad()
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    clearTimeout(this.timer)
  }

  private get base() {
    return `/api/projects/${this.projectId}/tickets/${this.ticketId}/review`
  }

  private scheduleLoad() {
    clearTimeout(this.timer)
    this.timer = window.setTimeout(() => void this.load(), 300)
  }

  async load() {
    try {
      this.review = await api.get<TicketReview>(this.base)
      this.loadError = ''
    } catch (error) {
      this.loadError = describe(error, 'read the request from the forge', this.review?.forge)
    }
  }

  private async post(event: Event) {
    event.preventDefault()
    const body = this.body.trim()
    if (!body) {
      this.commentError = 'Write a comment first.'
      return
    }
    this.posting = true
    this.commentError = ''
    try {
      const res = await api.post<{ job_id: number | null; ignored_reason: string | null }>(`${this.base}/comment`, { body, trigger_review: this.trigger })
      this.body = ''
      notify(res.job_id ? 'Comment posted; an agent will address it' : 'Comment posted', 'success')
      await this.load()
    } catch (error) {
      this.commentError = describe(error, 'post the comment', this.review?.forge)
    } finally {
      this.posting = false
    }
  }

  private async merge() {
    const number = this.review?.github.number ?? 0
    const forge = this.review?.forge
    const ok = await confirmDialog({
      title: `Merge ${requestLabel(forge, number, true)}?`,
      message: `The ${requestNoun(forge)} is merged on ${forgeName(forge)} (${this.method}) and the ticket moves to Done.`,
      confirm: 'Merge',
    })
    if (!ok) return
    this.merging = true
    this.mergeError = ''
    try {
      await api.post(`${this.base}/merge`, { method: this.method })
      notify(`${requestLabel(forge, number, true)} merged`, 'success')
      await this.load()
    } catch (error) {
      this.mergeError = describe(error, 'merge', forge)
    } finally {
      this.merging = false
    }
  }

  private comments(review: TicketReview) {
    if (!review.comments.length) return html`<p class="none">No comments yet.</p>`
    const authors = new Map(review.comments.map((c) => [c.id, c.author]))
    return html`<ul class="comments" aria-label="Comments">${(review.comments as ShownComment[]).map((comment) => {
      const look = COMMENT_LOOK[comment.status] ?? COMMENT_LOOK.not_stored
      const reply = comment.from_app
      return html`<li class="comment ${comment.status} ${reply ? 'reply' : ''}" data-comment=${comment.id} data-reply-to=${comment.reply_to ?? nothing}>
        <div class="who">
          <strong>${comment.author ?? 'unknown'}</strong>
          <span>${reply ? (comment.reply_to ? `replied to ${authors.get(comment.reply_to) ?? 'a comment'}` : 'replied')
            : comment.kind === 'review' ? `review${comment.review_state ? ` (${comment.review_state.toLowerCase().replace('_', ' ')})` : ''}`
            : comment.path ? html`on <span class="mono">${comment.path}${comment.line ? `:${comment.line}` : ''}</span>` : 'commented'}</span>
          <span title=${comment.created_at}>${timeAgo(comment.created_at)}</span>
          <span class="grow"></span>
          ${reply ? html`<span class="badge accent" title="Written by Terarchitect (an agent's reply or a note posted from the app)">${icons.message()}Reply</span>`
            : html`<span class="badge ${look.cls}">${comment.status === 'addressed' ? icons.check() : nothing}${look.label}</span>`}
          ${comment.html_url && safeHref(comment.html_url) ? html`<a href=${safeHref(comment.html_url)!} target="_blank" rel="noopener" title="Open on ${forgeName(this.review?.forge)}" aria-label="Open comment on ${forgeName(this.review?.forge)}">${icons.external()}</a>` : nothing}
        </div>
        ${comment.body ? html`<div class="text md">${markdown(comment.body)}</div>` : nothing}
        ${comment.ignored_reason && !reply ? html`<div class="why">Ignored: ${comment.ignored_reason}</div>` : nothing}
        ${comment.error ? html`<div class="why failed">${comment.error}</div>` : nothing}
      </li>`
    })}</ul>`
  }

  override render() {
    const review = this.review
    if (!review) {
      return this.loadError
        ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">${this.loadError}</span><button class="btn small" @click=${() => void this.load()}>Retry</button></div>`
        : html`<div class="row faint" aria-busy="true"><span class="spinner"></span> Reading the request from the forge…</div>`
    }
    const gh = review.github
    const state = review.pr.state
    const look = PR_LOOK[state]
    const open = state === 'open'
    return html`
      ${this.loadError ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">${this.loadError}</span></div>` : nothing}
      <section class="pr" aria-label=${review.forge === 'gitlab' ? 'Merge request' : 'Pull request'}>
        <div class="line">
          <a class="name" href=${gh.html_url} target="_blank" rel="noopener">${icons.pr()} ${requestLabel(review.forge, gh.number, true)}</a>
          <span class="badge ${look.cls}" title=${look.title}><span class="dot"></span>${look.label}</span>
          ${review.pr.approved ? html`<span class="badge success">${icons.check()} Approved</span>` : nothing}
          ${gh.draft ? html`<span class="badge">Draft</span>` : nothing}
          ${open && gh.mergeable === false ? html`<span class="badge danger">Has conflicts</span>` : nothing}
        </div>
        <div>${gh.title}</div>
        <div class="branch">${gh.head ?? '?'} → ${gh.base ?? '?'}${gh.author ? html` <span class="faint">· by ${gh.author}</span>` : nothing}</div>
      </section>

      <section aria-label="Changed files">
        <h3>Changed files <span class="n">${review.files.length}</span></h3>
        ${review.files.length ? html`<ul class="files">${review.files.map((file) => html`<li>
          <span class="fname">${file.filename}</span><span class="badge">${file.status}</span>
          <span class="add">+${file.additions}</span><span class="del">−${file.deletions}</span></li>`)}</ul>` : html`<p class="none">No changed files.</p>`}
      </section>

      ${review.commits.length ? html`<section aria-label="Commits">
        <h3>Commits <span class="n">${review.commits.length}</span></h3>
        <ul class="commits">${review.commits.map((commit) => html`<li><span class="sha">${commit.sha.slice(0, 7)}</span><span>${commit.message.split('\n')[0]}</span></li>`)}</ul>
      </section>` : nothing}

      <section aria-label="Review comments">
        <h3>Comments <span class="n">${review.comments.length}</span></h3>
        ${this.comments(review)}
      </section>

      ${open ? html`<section aria-label="Comment on the pull request">
        <form @submit=${this.post}>
          <label class="field m-0"><span>Comment</span>
            <textarea class="input" .value=${this.body} placeholder="Ask for a change, or leave a note on the pull request"
              aria-invalid=${this.commentError ? 'true' : 'false'} @input=${(e: Event) => (this.body = (e.target as HTMLTextAreaElement).value)}></textarea></label>
          <label class="check"><input type="checkbox" .checked=${this.trigger} @change=${(e: Event) => (this.trigger = (e.target as HTMLInputElement).checked)}>
            Ask the agent to address it</label>
          ${this.commentError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.commentError}</span></div>` : nothing}
          <div class="actions"><button class="btn primary" type="submit" ?disabled=${this.posting || !!denied('member', 'comment on pull requests')} title=${denied('member', 'comment on pull requests') ?? nothing}>${this.posting ? html`<span class="spinner"></span>` : icons.message()} Post comment</button></div>
        </form>
      </section>
      <section class="merge" aria-label="Merge">
        <div class="actions">
          <select class="input" aria-label="Merge method" .value=${this.method} @change=${(e: Event) => (this.method = (e.target as HTMLSelectElement).value as Method)}>
            <option value="merge">Merge commit</option><option value="squash">Squash and merge</option><option value="rebase">Rebase and merge</option>
          </select>
          <button class="btn" ?disabled=${this.merging || !!denied('admin', 'merge pull requests')} title=${denied('admin', 'merge pull requests') ?? nothing} @click=${() => void this.merge()}>${this.merging ? html`<span class="spinner"></span>` : icons.pr()} Merge</button>
        </div>
        ${this.mergeError ? html`<div class="alert error mt-8" role="alert">${icons.alert()}<span>${this.mergeError}</span></div>` : nothing}
      </section>` : html`<p class="none">${state === 'merged' ? 'This pull request is merged.' : 'This pull request was closed without merging; its comments are no longer tracked.'}</p>`}`
  }
}
customElements.define('ta-review-panel', ReviewPanel)
