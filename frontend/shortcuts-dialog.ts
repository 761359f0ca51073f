/** `<ta-shortcuts>`: the keyboard shortcuts, opened with `?` anywhere outside a text field. */
import { LitElement, css, html } from 'lit'
import { shared } from './styles.ts'
import './modal-dialog.ts'

const GROUPS: [string, [string, string][]][] = [
  ['Anywhere', [['?', 'Show these shortcuts']]],
  ['Board', [
    ['N', 'New ticket'],
    ['/', 'Filter tickets'],
    ['Tab', 'Reach the tickets'],
    ['↑ ↓ ← →', 'Move focus between tickets and columns'],
    ['Alt (or Shift) + ← →', 'Move the ticket to the previous / next column'],
    ['Alt (or Shift) + ↑ ↓', 'Move the ticket up / down in its column'],
    ['Enter', 'Open the ticket'],
    ['Esc', 'Close the ticket'],
  ]],
  ['Graph', [
    ['Tab, Enter', 'Focus and select a node'],
    ['C', 'Connect: then pick the source and the target node'],
    ['← ↑ → ↓', 'Nudge the selected node (Shift: further)'],
    ['Delete', 'Delete the selected node or connection'],
    ['Esc', 'Leave Connect, clear the selection'],
    ['Ctrl/⌘ + S', 'Save the graph'],
  ]],
]

export class ShortcutsDialog extends LitElement {
  static override properties = { open: { type: Boolean } }
  declare open: boolean

  static override styles = [shared, css`
    h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--text-3); margin: 14px 0 6px; }
    h3:first-child { margin-top: 0; }
    dl { display: grid; grid-template-columns: 170px 1fr; gap: 6px 12px; margin: 0; font-size: 13px; }
    dt { text-align: right; }
    kbd { font: 11.5px var(--mono); padding: 1px 6px; border: 1px solid var(--border-strong); border-bottom-width: 2px; border-radius: 5px; background: var(--surface-2); white-space: nowrap; }
    dd { margin: 0; color: var(--text-2); }
  `]

  constructor() {
    super()
    this.open = false
  }

  override render() {
    return html`<ta-modal heading="Keyboard shortcuts" .open=${this.open} @close=${() => { this.open = false; this.dispatchEvent(new Event('close')) }}>
      ${GROUPS.map(([title, keys]) => html`<h3>${title}</h3><dl>${keys.map(([key, what]) => html`<dt><kbd>${key}</kbd></dt><dd>${what}</dd>`)}</dl>`)}
    </ta-modal>`
  }
}
customElements.define('ta-shortcuts', ShortcutsDialog)
