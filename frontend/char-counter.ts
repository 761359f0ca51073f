/** The counter an input shows near its limit: "245 / 300", from 80 % of the limit on (styled by `counterStyles`). */
import { css, html, nothing } from 'lit'

/** The API's limits on text (core/types.ts: TicketFields, NoteFields, Column), carried by the inputs. */
export const TITLE_MAX = 300
export const DESCRIPTION_MAX = 50000
export const NOTE_TITLE_MAX = 300
export const NOTE_CONTENT_MAX = 100000
export const COLUMN_TITLE_MAX = 100

export function counter(length: number, max: number) {
  return length >= max * 0.8 ? html`<span class="counter ${length >= max ? 'full' : ''}" aria-live="polite">${length.toLocaleString()} / ${max.toLocaleString()}</span>` : nothing
}

export const counterStyles = css`
  .label-row { display: flex; align-items: baseline; gap: 8px; }
  .counter { margin-left: auto; font-size: 12px; font-weight: 400; color: var(--text-3); font-variant-numeric: tabular-nums; }
  .counter.full { color: var(--danger); }
`
