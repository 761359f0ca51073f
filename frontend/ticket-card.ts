/**
 * A ticket on the board, as a template (not an element): a board of 500 tickets is 500 of these,
 * and plain templates inside the column's shadow root render several times faster than 500
 * shadow roots. Events are delegated to the column through `data-id` and `data-action`.
 */
import { css, html, nothing, unsafeCSS } from 'lit'
import { ticketLabel } from './format.ts'
import { icons } from './icons.ts'
import { logHref, reasonLine, reasonOf, reasonStyles } from './job-reason.ts'
import { prHref } from './pr-link.ts'
import { STATUS_LOOK } from './styles.ts'
import { blockerLines } from './ticket-blockers.ts'
import { issueChip } from './ticket-issue.ts'
import { isActive, type TicketView } from './types.ts'

export interface CardContext {
  latest: string | undefined
  runBlocker: string | null
  /** Why this person cannot move or stop tickets (a viewer), or null. */
  readOnly: string | null
  dragging: boolean
}

const svgUrl = (body: string) =>
  unsafeCSS(`url("data:image/svg+xml,${encodeURIComponent(`<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='black' stroke-width='2' stroke-linecap='round'>${body}</svg>`)}")`)
const PLAY = svgUrl("<path d='M7 4.5v15l12-7.5z' fill='black' stroke='none'/>")
const GRAPH = svgUrl("<circle cx='5' cy='6' r='2.5'/><circle cx='19' cy='6' r='2.5'/><circle cx='12' cy='18' r='2.5'/><path d='M7.5 6h9M6.2 8.2l4.6 7.6M17.8 8.2l-4.6 7.6'/>")

const PRIORITY_LABEL = { high: 'High', medium: 'Medium', low: 'Low' } as const

export function ticketCard(ticket: TicketView, context: CardContext) {
  const job = ticket.job
  const active = isActive(job)
  const look = job ? STATUS_LOOK[job.status] : undefined
  const stopping = active && job!.cancel_requested
  const blockers = blockerLines(ticket)
  const runBlocker = blockers.waiting ? `${blockers.waiting}: it starts by itself` : context.runBlocker
  const links = ticket.associated_node_ids.includes('*') ? 'Whole graph' : ticket.associated_node_ids.length + ticket.associated_edge_ids.length
  return html`
    <article class="card ${active ? `is-${job!.status}` : ''} ${context.dragging ? 'dragging' : ''}" tabindex="0" draggable=${context.readOnly ? 'false' : 'true'} title=${context.readOnly ?? nothing}
      data-id=${ticket.id} role="listitem" aria-roledescription="ticket"
      aria-label="${ticket.title}, ${PRIORITY_LABEL[ticket.priority]} priority${look ? `, ${look.label}` : ''}">
      <div class="card-top">
        <span class="tid ${ticket.priority}" title="${PRIORITY_LABEL[ticket.priority]} priority">${ticketLabel(null, ticket)}</span>
        ${blockers.open.length ? html`<span class="badge warning status blocked" title="Blocked by ${blockers.open.join(', ')}">Blocked</span>` : nothing}
        ${look ? html`<span class="badge ${look.cls} status">${active && job!.status === 'running' ? html`<span class="spinner"></span>` : html`<span class="dot"></span>`}${stopping ? 'Stopping…' : look.label}</span>` : nothing}
        ${active
          ? html`<button class="stop" data-action="stop" title=${context.readOnly ?? 'Stop the agent'} aria-label="Stop ${ticket.title}" ?disabled=${stopping || !!context.readOnly}>${icons.stop()}Stop</button>`
          : html`<button class="run" data-action="run" aria-label="Run ${ticket.title}"
              title=${runBlocker ?? 'Run an agent on this ticket'} aria-disabled=${runBlocker ? 'true' : 'false'}></button>`}
      </div>
      <div class="card-title">${ticket.title}</div>
      ${blockers.waiting ? html`<div class="waiting" data-testid="waiting">${blockers.waiting}</div>` : nothing}
      ${blockers.problems.map((problem) => html`<div class="waiting problem">${problem}</div>`)}
      ${active && context.latest ? html`<div class="latest" title=${context.latest}>${context.latest}</div>` : nothing}
      ${reasonOf(job) ? html`<a class="card-reason" data-action="reason" href=${job!.reason_event_id ? logHref(ticket.project_id, ticket.id, job!.reason_event_id) : `/projects/${ticket.project_id}/tickets/${ticket.id}`}
        title="Show in the ticket's log">${reasonLine(job, { projectId: ticket.project_id, ticketId: ticket.id, plain: true })}</a>` : nothing}
      ${links || prHref(ticket.pr_url) || ticket.issue ? html`<div class="card-meta">
        ${links ? html`<span class="chip links" title="Linked architecture">${links}</span>` : nothing}
        ${issueChip(ticket.issue)}
        ${prHref(ticket.pr_url) ? html`<a class="chip pr" href=${prHref(ticket.pr_url)!} target="_blank" rel="noopener" data-action="pr">${icons.pr()} PR${ticket.pr_number ? ` #${ticket.pr_number}` : ''}</a>` : nothing}
      </div>` : nothing}
    </article>`
}

export const cardStyles = css`
  ${reasonStyles}
  .card {
    position: relative; display: grid; gap: 6px; padding: 10px 10px 10px 12px; background: var(--surface);
    border: 1px solid var(--border); border-radius: 9px; box-shadow: var(--shadow-1); cursor: grab;
    transition: border-color .12s, box-shadow .12s, opacity .12s;
    /* Cards scrolled out of a column skip layout and paint: what keeps a 500-ticket board fast. */
    content-visibility: auto; contain-intrinsic-size: auto 78px;
  }
  .card:hover { border-color: var(--border-strong); }
  .card:focus-visible { outline: none; box-shadow: var(--focus); border-color: var(--accent); }
  .card.dragging { opacity: .4; }
  .card.is-running { border-color: color-mix(in srgb, var(--accent) 55%, var(--border)); }
  .card.is-running::before {
    content: ''; position: absolute; inset: -1px; border-radius: inherit; pointer-events: none;
    box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 22%, transparent); animation: pulse 1.6s ease-in-out infinite;
  }
  .card-top { display: flex; align-items: center; gap: 6px; min-height: 22px; }
  /* The priority swatch and the play icon are pseudo-elements: two fewer nodes (and no SVG) per card. */
  .tid { font-size: 11.5px; color: var(--text-3); font-variant-numeric: tabular-nums; display: inline-flex; align-items: center; gap: 6px; }
  .tid::before { content: ''; width: 8px; height: 8px; border-radius: 2px; background: var(--text-3); opacity: .6; }
  .tid.high::before { background: var(--danger); opacity: 1; }
  .tid.medium::before { background: var(--warning); opacity: 1; }
  .status { height: 18px; font-size: 11px; }
  .status .spinner { width: 10px; height: 10px; border-width: 1.5px; }
  .card-title { font-weight: 500; line-height: 1.35; overflow-wrap: anywhere; display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }
  .latest {
    font-family: var(--mono); font-size: 11.5px; color: var(--text-2); background: var(--surface-2); border-radius: 5px;
    padding: 4px 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  }
  /* Why the last job ended: one line, the whole of it a link to its log line. */
  .card-reason { display: block; text-decoration: none; border-radius: 5px; padding: 3px 6px; background: var(--surface-2); }
  .card-reason:has(.danger) { background: var(--danger-soft); }
  .card-reason:focus-visible { outline: none; box-shadow: var(--focus); }
  .card-reason .reason { display: flex; align-items: baseline; font-size: 11.5px; }
  .card-reason .reason-kind { background: transparent; padding: 0; }
  .card-reason .reason-text { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .card-meta { display: flex; gap: 6px; flex-wrap: wrap; }
  /* A ticket waiting for its blockers: what it waits on, and what went wrong with them. */
  .waiting { font-size: 11.5px; color: var(--warning); background: var(--warning-soft); border-radius: 5px; padding: 3px 6px; }
  .waiting.problem { color: var(--danger); background: var(--danger-soft); }
  .chip { display: inline-flex; align-items: center; gap: 4px; font-size: 11.5px; color: var(--text-2); }
  .chip svg { width: 13px; height: 13px; }
  .chip.links::before { content: ''; width: 13px; height: 13px; background: currentColor; -webkit-mask: ${GRAPH} center / contain no-repeat; mask: ${GRAPH} center / contain no-repeat; }
  .chip.pr { color: var(--success); font-weight: 500; }
  .run {
    margin-left: auto; width: 24px; height: 24px; border: 0; border-radius: 6px; padding: 0; background: transparent; cursor: pointer;
    color: var(--accent); opacity: 0; display: grid; place-items: center;
  }
  .run::before { content: ''; width: 11px; height: 11px; background: currentColor; -webkit-mask: ${PLAY} center / contain no-repeat; mask: ${PLAY} center / contain no-repeat; }
  .run:hover { background: var(--accent-soft); }
  .run:focus-visible { outline: none; box-shadow: var(--focus); opacity: 1; }
  .card:hover .run, .card:focus-within .run, .card:focus .run { opacity: 1; }
  .run[aria-disabled='true'] { color: var(--text-3); cursor: not-allowed; }
  .run[aria-disabled='true']:hover { background: var(--surface-2); }
  .stop {
    margin-left: auto; display: inline-flex; align-items: center; gap: 4px; height: 22px; padding: 0 8px 0 6px; border-radius: 999px; cursor: pointer;
    border: 1px solid color-mix(in srgb, var(--danger) 35%, transparent); background: var(--surface); color: var(--danger); font: 500 11.5px var(--font);
  }
  .stop svg { width: 10px; height: 10px; }
  .stop:hover { background: var(--danger-soft); }
  .stop:disabled { opacity: .5; cursor: default; }
  .run[aria-disabled='true'] { color: var(--text-3); cursor: not-allowed; }
`
