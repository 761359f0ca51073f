/**
 * A modal on the native <dialog> (focus trap, Esc and the top layer come free). Content goes in
 * the default slot, buttons in `footer`. Fires `close` whenever it closes, however it was closed.
 */
import { LitElement, css, html, type PropertyValues } from 'lit'
import { icons } from './icons.ts'
import { shared } from './styles.ts'

export class ModalDialog extends LitElement {
  static override properties = {
    open: { type: Boolean },
    heading: {},
    size: {},
  }
  declare open: boolean
  declare heading: string
  declare size: 'small' | 'medium' | 'large'

  static override styles = [shared, css`
    dialog {
      padding: 0; border: 1px solid var(--border); border-radius: 14px; background: var(--surface); color: var(--text);
      box-shadow: var(--shadow-3); width: min(520px, calc(100vw - 32px)); max-height: calc(100vh - 48px);
    }
    dialog.small { width: min(420px, calc(100vw - 32px)); }
    dialog.large { width: min(760px, calc(100vw - 32px)); }
    dialog[open] { display: flex; flex-direction: column; animation: pop .16s ease-out; }
    dialog::backdrop { background: rgba(10, 14, 22, .45); backdrop-filter: blur(2px); }
    header { display: flex; align-items: center; gap: 12px; padding: 18px 56px 6px 20px; }
    /* Last in the DOM so opening the dialog focuses its first field, not the close button. */
    .close { position: absolute; top: 13px; right: 14px; }
    header h2 { flex: 1; font-size: 17px; }
    .body { padding: 10px 20px 4px; overflow: auto; }
    footer { display: flex; justify-content: flex-end; gap: 8px; padding: 14px 20px 18px; }
    @keyframes pop { from { transform: translateY(6px) scale(.98); opacity: 0; } }
  `]

  constructor() {
    super()
    this.open = false
    this.heading = ''
    this.size = 'medium'
  }

  private get dialog(): HTMLDialogElement | null {
    return this.renderRoot.querySelector('dialog')
  }

  protected override updated(changed: PropertyValues<this>): void {
    const dialog = this.dialog
    if (!dialog || !changed.has('open')) return
    if (this.open && !dialog.open) dialog.showModal()
    if (!this.open && dialog.open) dialog.close()
  }

  private onClose = () => {
    this.open = false
    this.dispatchEvent(new Event('close'))
  }

  override render() {
    return html`
      <dialog class=${this.size} aria-label=${this.heading} @close=${this.onClose}
        @mousedown=${(event: MouseEvent) => event.target === this.dialog && this.dialog?.close()}>
        <header><h2>${this.heading}</h2></header>
        <div class="body"><slot></slot></div>
        <footer><slot name="footer"></slot></footer>
        <button class="icon-btn close" aria-label="Close" @click=${() => this.dialog?.close()}>${icons.x()}</button>
      </dialog>`
  }
}
customElements.define('ta-modal', ModalDialog)
