/** A unified diff as coloured lines (a template, used inside the job log). */
import { css, html } from 'lit'

const MAX_LINES = 400

export function diffView(diff: string) {
  const lines = diff.replace(/\n$/, '').split('\n')
  const shown = lines.slice(0, MAX_LINES)
  return html`<pre class="diff">${shown.map((line) => {
    const cls = line.startsWith('+++') || line.startsWith('---') ? 'file'
      : line.startsWith('@@') ? 'hunk'
      : line.startsWith('+') ? 'add'
      : line.startsWith('-') ? 'del'
      : ''
    return html`<span class=${cls}>${line || ' '}</span>`
  })}${lines.length > MAX_LINES ? html`<span class="hunk">… ${lines.length - MAX_LINES} more lines</span>` : ''}</pre>`
}

export const diffStyles = css`
  .diff { margin: 0; padding: 6px 0; font: 12px/1.5 var(--mono); background: var(--surface); border: 1px solid var(--border); border-radius: 7px; overflow: auto; max-height: 420px; }
  .diff span { display: block; padding: 0 10px; white-space: pre; }
  .diff .add { background: color-mix(in srgb, var(--success) 14%, transparent); color: color-mix(in srgb, var(--success) 70%, var(--text)); }
  .diff .del { background: color-mix(in srgb, var(--danger) 12%, transparent); color: color-mix(in srgb, var(--danger) 70%, var(--text)); }
  .diff .hunk { color: var(--accent); background: var(--accent-soft); }
  .diff .file { color: var(--text-3); font-weight: 600; }
`
