/** `<ta-job-history>`: every job of a ticket with status, attempt, timing, error, usage (its own report and the LLM relay's count); cancel and retry. */
import { LitElement, css, html, nothing } from 'lit'
import { api } from './api.ts'
import { duration, timeAgo, usageText } from './format.ts'
import { fallbackBadge } from './fallback-badge.ts'
import { icons } from './icons.ts'
import { denied } from './session.ts'
import { shared, STATUS_LOOK } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import { isActive, type Job } from './types.ts'

export class JobHistory extends LitElement {
  static override properties = { jobs: { attribute: false }, busy: { state: true } }
  declare jobs: Job[] | null
  declare busy: number | null

  static override styles = [shared, css`
    :host { display: block; }
    ol { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; }
    li { border: 1px solid var(--border); border-radius: 10px; padding: 12px 14px; background: var(--surface); display: grid; gap: 8px; }
    .head { display: flex; align-items: center; gap: 8px; }
    .head b { font-weight: 600; }
    dl { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 6px 16px; margin: 0; font-size: 12.5px; }
    dt { color: var(--text-3); font-size: 11.5px; }
    dd { margin: 0; overflow-wrap: anywhere; }
    .error { color: var(--danger); background: var(--danger-soft); border-radius: 7px; padding: 8px 10px; font-size: 12.5px; white-space: pre-wrap; overflow-wrap: anywhere; }
    pre { margin: 0; max-height: 200px; overflow: auto; background: var(--surface-2); border-radius: 7px; padding: 8px 10px; font: 12px/1.45 var(--mono); white-space: pre-wrap; }
    details summary { cursor: pointer; font-size: 12px; color: var(--text-2); }
  `]

  constructor() {
    super()
    this.jobs = null
    this.busy = null
  }

  private async act(job: Job, action: 'cancel' | 'retry') {
    this.busy = job.id
    try {
      await api.post(`/api/jobs/${job.id}/${action}`)
      notify(action === 'retry' ? `Job #${job.id} queued again` : `Stop requested for job #${job.id}`, 'success')
      this.dispatchEvent(new Event('changed'))
    } catch (error) {
      notifyError(error, action === 'retry' ? 'Could not retry' : 'Could not cancel')
    } finally {
      this.busy = null
    }
  }

  override render() {
    if (!this.jobs) return html`<div class="row faint"><span class="spinner"></span> Loading jobs…</div>`
    if (!this.jobs.length) return html`<div class="empty">${icons.jobs()}<h3>No jobs yet</h3><p>Each run of this ticket is listed here with its outcome.</p></div>`
    return html`<ol>${this.jobs.map((job, i) => {
      const look = STATUS_LOOK[job.status]!
      const latest = i === 0
      return html`<li data-job=${job.id}>
        <div class="head">
          <b>Job #${job.id}</b>
          <span class="badge ${look.cls}">${job.status === 'running' ? html`<span class="spinner small"></span>` : html`<span class="dot"></span>`}${job.cancel_requested && isActive(job) ? 'Stopping…' : look.label}</span>
          <span class="faint">${job.kind === 'review' ? 'review' : 'ticket'} · ${timeAgo(job.created_at)}</span>
          <span class="grow"></span>
          ${isActive(job) ? html`<button class="btn small danger-ghost" ?disabled=${this.busy === job.id || job.cancel_requested || !!denied('member', 'stop jobs')} title=${denied('member', 'stop jobs') ?? nothing} @click=${() => this.act(job, 'cancel')}>${icons.stop()} Cancel</button>` : nothing}
          ${latest && (job.status === 'failed' || job.status === 'cancelled') ? html`<button class="btn small" ?disabled=${this.busy === job.id || !!denied('member', 'retry jobs')} title=${denied('member', 'retry jobs') ?? nothing} @click=${() => this.act(job, 'retry')}>${icons.retry()} Retry</button>` : nothing}
        </div>
        <dl>
          ${job.started_by ? html`<div><dt>Started by</dt><dd data-started-by>${job.started_by}</dd></div>` : nothing}
          <div><dt>Attempt</dt><dd>${job.attempt} of ${job.max_attempts}</dd></div>
          <div><dt>Duration</dt><dd>${duration(job.started_at, job.finished_at)}</dd></div>
          <div><dt>Coordinator</dt><dd>${job.claimed_by ?? '—'}</dd></div>
          <div><dt>Executor</dt><dd>${job.executor ?? '—'} ${fallbackBadge(job, { reason: true })}</dd></div>
          ${job.exit_code !== null ? html`<div><dt>Exit code</dt><dd>${job.exit_code}</dd></div>` : nothing}
          ${job.usage ? html`<div><dt>Usage</dt><dd>${usageText(job.usage)}</dd></div>` : nothing}
          ${job.relay_usage ? html`<div><dt>Through the LLM relay</dt><dd data-relay-usage>${usageText(job.relay_usage)} · ${job.relay_usage.calls} ${job.relay_usage.calls === 1 ? 'call' : 'calls'}</dd></div>` : nothing}
          ${job.pr_number ? html`<div><dt>Pull request</dt><dd>#${job.pr_number}</dd></div>` : nothing}
        </dl>
        ${job.error ? html`<div class="error">${job.error}</div>` : nothing}
        ${job.output_tail ? html`<details><summary>Output tail</summary><pre>${job.output_tail}</pre></details>` : nothing}
      </li>`
    })}</ol>`
  }
}
customElements.define('ta-job-history', JobHistory)
