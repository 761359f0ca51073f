/**
 * "ran on the host": a docker-mode job its coordinator ran on its host because the container could
 * not start (AGENT_FALLBACK_TO_HOST), with the reason. The job then had none of the container's
 * confinement, so the Jobs page and the ticket's job history show it plainly.
 */
import { html, nothing } from 'lit'
import type { Job } from './types.ts'

export function fallbackBadge(job: Pick<Job, 'fallback_reason'>, options: { reason?: boolean } = {}) {
  if (!job.fallback_reason) return nothing
  return html`<span class="badge warning" data-fallback title="The container could not start: ${job.fallback_reason}">ran on the host</span>${
    options.reason ? html` <span class="faint" data-fallback-reason>${job.fallback_reason}</span>` : nothing}`
}
