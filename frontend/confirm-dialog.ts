/**
 * `confirmDialog()`: an in-app confirmation (replaces window.confirm). With `typeToConfirm` the
 * person must type that exact text first (deleting a project asks for its name).
 */
import { LitElement, css, html } from 'lit'
import './modal-dialog.ts'
import { shared } from './styles.ts'

export interface ConfirmOptions {
  title: string
  message: string
  confirm?: string
  danger?: boolean
  typeToConfirm?: string
}

export class ConfirmDialog extends LitElement {
  static override properties = { options: { attribute: false }, typed: { state: true }, open: { state: true } }
  declare options: ConfirmOptions
  declare typed: string
  declare open: boolean
  resolve: (ok: boolean) => void = () => {}
  private answered = false

  static override styles = [shared, css`
    p { color: var(--text-2); margin-bottom: 12px; white-space: pre-line; }
    b { color: var(--text); }
  `]

  constructor() {
    super()
    this.typed = ''
    this.open = true
  }

  private finish(ok: boolean) {
    if (this.answered) return
    this.answered = true
    this.resolve(ok)
    this.open = false
    setTimeout(() => this.remove(), 200)
  }

  override render() {
    const { title, message, confirm = 'Confirm', danger, typeToConfirm } = this.options
    const blocked = typeToConfirm !== undefined && this.typed !== typeToConfirm
    return html`
      <ta-modal size="small" .open=${this.open} heading=${title} @close=${() => this.finish(false)}>
        <p>${message}</p>
        ${typeToConfirm === undefined ? '' : html`
          <label class="field">
            <span>Type <b>${typeToConfirm}</b> to confirm</span>
            <input class="input" autocomplete="off" spellcheck="false" .value=${this.typed}
              @input=${(event: InputEvent) => (this.typed = (event.target as HTMLInputElement).value)}
              @keydown=${(event: KeyboardEvent) => event.key === 'Enter' && !blocked && this.finish(true)}>
          </label>`}
        <button slot="footer" class="btn" @click=${() => this.finish(false)}>Cancel</button>
        <button slot="footer" class="btn ${danger ? 'danger' : 'primary'}" ?disabled=${blocked} @click=${() => this.finish(true)}>${confirm}</button>
      </ta-modal>`
  }
}
customElements.define('ta-confirm', ConfirmDialog)

export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = new ConfirmDialog()
    dialog.options = options
    dialog.resolve = resolve
    document.body.appendChild(dialog)
  })
}
