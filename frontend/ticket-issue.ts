/**
 * The forge issue a ticket came from (services/intake/): on the ticket view, an element with the
 * issue's link, its state, who imported it and an edit on the forge that was not applied; on the
 * board card, `issueChip` (cards are plain templates, see ticket-card.ts). Only https links are
 * rendered (pr-link.ts).
 */
import { css, html, LitElement, nothing } from 'lit'
import { prHref } from './pr-link.ts'
import type { TicketIssue } from '../core/types.ts'

/** "Edited on the forge by rita, not applied" (the poller does not learn who edited: "by someone"). */
export const ignoredEditLine = (issue: TicketIssue) =>
  issue.ignored_edit ? `Edited on the forge by ${issue.ignored_edit.by ?? 'someone the forge did not name'}, not applied` : null

const label = (issue: TicketIssue) => `Issue #${issue.number}${issue.state === 'closed' ? ' (closed)' : ''}`

/** The card's chip: the issue's number, linked. */
export function issueChip(issue: TicketIssue | null | undefined) {
  if (!issue) return nothing
  const href = prHref(issue.url)
  const title = [`${issue.repo}#${issue.number}, imported from the label ${issue.imported_by} applied`, ignoredEditLine(issue)].filter(Boolean).join('. ')
  return href
    ? html`<a class="chip issue" href=${href} target="_blank" rel="noopener" title=${title} data-action="pr" data-testid="issue-chip">#${issue.number}</a>`
    : html`<span class="chip issue" title=${title} data-testid="issue-chip">#${issue.number}</span>`
}

export class TicketIssueElement extends LitElement {
  static override properties = { issue: { attribute: false } }
  declare issue: TicketIssue | null | undefined

  static override styles = css`
    :host { display: contents; }
    .badge { display: inline-flex; align-items: center; gap: 4px; font-size: 12px; padding: 2px 8px; border-radius: 999px; background: var(--surface-2, #f2f2f2); }
    .badge.closed { opacity: .75; }
    .badge.warning { color: var(--warning); background: var(--warning-soft); }
    a { color: inherit; }
  `

  override render() {
    const issue = this.issue
    if (!issue) return nothing
    const href = prHref(issue.url)
    const ignored = ignoredEditLine(issue)
    return html`<span class="badge ${issue.state}" data-testid="ticket-issue" title="Imported from ${issue.repo}#${issue.number}: ${issue.imported_by} applied the intake label">
        ${href ? html`<a href=${href} target="_blank" rel="noopener">${label(issue)}</a>` : label(issue)} · by ${issue.imported_by}</span>
      ${ignored ? html`<span class="badge warning" data-testid="ignored-edit">${ignored}</span>` : nothing}`
  }
}

customElements.define('ta-ticket-issue', TicketIssueElement)
