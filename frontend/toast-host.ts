/**
 * Toasts: how the UI tells the person what happened (errors above all: nothing is left only in
 * the console). `notify()` works from anywhere; the host mounts itself on first use.
 */
import { LitElement, css, html } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import { errorText } from './api.ts'
import { icons } from './icons.ts'
import { shared } from './styles.ts'

export type ToastKind = 'error' | 'success' | 'info'
interface Toast {
  id: number
  kind: ToastKind
  message: string
}

let nextId = 1

export class ToastHost extends LitElement {
  static override properties = { toasts: { state: true } }
  declare toasts: Toast[]

  static override styles = [shared, css`
    :host { position: fixed; right: 20px; bottom: 20px; z-index: 1000; display: grid; gap: 8px; width: min(420px, calc(100vw - 40px)); }
    .toast {
      display: flex; gap: 10px; align-items: flex-start; padding: 11px 12px; border-radius: 10px;
      background: var(--surface); color: var(--text); border: 1px solid var(--border); box-shadow: var(--shadow-2);
      animation: rise .18s ease-out; font-size: 13.5px;
    }
    .toast > svg { width: 18px; height: 18px; flex: none; margin-top: 1px; }
    .toast.error > svg { color: var(--danger); }
    .toast.success > svg { color: var(--success); }
    .toast.info > svg { color: var(--accent); }
    .toast.error { border-left: 3px solid var(--danger); }
    .msg { flex: 1; overflow-wrap: anywhere; }
    .icon-btn { width: 22px; height: 22px; margin: -2px -4px 0 0; }
    @keyframes rise { from { transform: translateY(8px); opacity: 0; } }
  `]

  constructor() {
    super()
    this.toasts = []
  }

  /** Shows a toast; `sticky` ones stay until `settle` (or the person) ends them. */
  show(kind: ToastKind, message: string, sticky = false): number {
    const toast = { id: nextId++, kind, message }
    this.toasts = [...this.toasts.slice(-3), toast]
    if (!sticky) this.expire(toast)
    return toast.id
  }

  /** Replaces a sticky toast's text with how it ended, then lets it go like any toast. */
  settle(id: number, kind: ToastKind, message: string): void {
    const toast = { id, kind, message }
    if (!this.toasts.some((shown) => shown.id === id)) return
    this.toasts = this.toasts.map((shown) => (shown.id === id ? toast : shown))
    this.expire(toast)
  }

  private expire(toast: Toast) {
    setTimeout(() => this.dismiss(toast.id), toast.kind === 'error' ? 9000 : 3500)
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((toast) => toast.id !== id)
  }

  override render() {
    return repeat(this.toasts, (toast) => toast.id, (toast) => html`
      <div class="toast ${toast.kind}" role=${toast.kind === 'error' ? 'alert' : 'status'}>
        ${toast.kind === 'error' ? icons.alert() : toast.kind === 'success' ? icons.check() : icons.info()}
        <div class="msg">${toast.message}</div>
        <button class="icon-btn" aria-label="Dismiss" @click=${() => this.dismiss(toast.id)}>${icons.x()}</button>
      </div>`)
  }
}
customElements.define('ta-toasts', ToastHost)

function host(): ToastHost {
  return document.querySelector('ta-toasts') ?? document.body.appendChild(new ToastHost())
}

export function notify(message: string, kind: ToastKind = 'info'): void {
  host().show(kind, message)
}

/**
 * A toast for something under way ("Stopping the agent…") that stays until `until` settles, then
 * says how it ended (the resolved text; a rejection as an error).
 */
export function notifyUntil(message: string, until: Promise<string>): void {
  const toasts = host()
  const id = toasts.show('info', message, true)
  until.then((done) => toasts.settle(id, 'success', done), (error) => toasts.settle(id, 'error', errorText(error)))
}

/** Shows an error (an ApiError with its field paths, or anything thrown) to the person. */
export function notifyError(error: unknown, prefix = ''): void {
  host().show('error', prefix ? `${prefix}: ${errorText(error)}` : errorText(error))
}
