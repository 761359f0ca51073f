/** `<ta-priority-picker>`: low / medium / high as a segmented radio group; fires `change` with the value. */
import { LitElement, css, html } from 'lit'
import { shared } from './styles.ts'
import type { Priority } from './types.ts'

const OPTIONS: { value: Priority; label: string }[] = [
  { value: 'low', label: 'Low' },
  { value: 'medium', label: 'Medium' },
  { value: 'high', label: 'High' },
]

export class PriorityPicker extends LitElement {
  static override properties = { value: {} }
  declare value: Priority

  static override styles = [shared, css`
    :host { display: inline-flex; }
    .group { display: inline-flex; padding: 2px; gap: 2px; background: var(--surface-2); border-radius: 8px; border: 1px solid var(--border); }
    label { position: relative; display: inline-flex; align-items: center; gap: 6px; height: 28px; padding: 0 11px; border-radius: 6px; cursor: pointer; font-weight: 500; font-size: 13px; color: var(--text-2); }
    input { position: absolute; opacity: 0; pointer-events: none; }
    label:has(input:checked) { background: var(--surface); color: var(--text); box-shadow: var(--shadow-1); }
    label:has(input:focus-visible) { box-shadow: var(--focus); }
    .sw { width: 8px; height: 8px; border-radius: 2px; }
    .high { background: var(--danger); } .medium { background: var(--warning); } .low { background: var(--text-3); }
  `]

  constructor() {
    super()
    this.value = 'medium'
  }

  override render() {
    return html`<div class="group" role="radiogroup" aria-label="Priority">
      ${OPTIONS.map((option) => html`<label><input type="radio" name="priority" value=${option.value} .checked=${this.value === option.value}
        @change=${() => { this.value = option.value; this.dispatchEvent(new CustomEvent('change', { detail: option.value })) }}>
        <span class="sw ${option.value}"></span>${option.label}</label>`)}
    </div>`
  }
}
customElements.define('ta-priority-picker', PriorityPicker)
