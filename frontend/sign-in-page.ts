/**
 * `<ta-sign-in>`: the password form, and a button per single sign-on method the server offers.
 * Fires `signed-in` once the session cookie is set. A throttled sign-in (429) says when to retry.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { authCard, authCardStyles } from './auth-card.ts'
import { icons } from './icons.ts'
import type { Me } from './session.ts'
import { shared } from './styles.ts'

/** "too many failed sign-ins: try again in 42 s (…)" → a sentence with the wait. */
function throttled(message: string): string {
  const seconds = Number(/in (\d+) s/.exec(message)?.[1])
  return seconds ? `Too many failed sign-ins. Try again in ${seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`}.` : 'Too many failed sign-ins. Try again later.'
}

export class SignInPage extends LitElement {
  static override properties = {
    methods: { attribute: false },
    notice: {},
    error: { state: true },
    busy: { state: true },
  }
  declare methods: Me['methods']
  declare notice: string
  declare error: string
  declare busy: boolean

  static override styles = [shared, authCardStyles, css`
    .sso { display: grid; gap: 8px; margin-top: 16px; padding-top: 16px; border-top: 1px solid var(--border); }
    .sso .btn { height: 36px; }
  `]

  constructor() {
    super()
    this.methods = { password: true, oidc: false, github: false }
    this.notice = ''
    this.error = ''
    this.busy = false
  }

  private async submit(event: SubmitEvent) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value
    this.busy = true
    this.error = ''
    try {
      await api.post('/api/auth/login', { login: value('login').trim(), password: value('password') })
      this.dispatchEvent(new Event('signed-in'))
    } catch (error) {
      this.error = error instanceof ApiError && error.status === 401 ? 'Wrong login or password.' : error instanceof ApiError && error.status === 429 ? throttled(error.message) : errorText(error)
    } finally {
      this.busy = false
    }
  }

  override render() {
    const sso = this.methods.oidc || this.methods.github
    return authCard('Sign in', 'Use your Terarchitect account.', html`
      ${this.notice && !this.error ? html`<div class="alert info" role="status">${icons.info()}<span>${this.notice}</span></div>` : nothing}
      ${this.error ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.error}</span></div>` : nothing}
      <form @submit=${this.submit}>
        <label class="field"><span>Login</span><input class="input" name="login" autocomplete="username" required autofocus></label>
        <label class="field"><span>Password</span><input class="input" name="password" type="password" autocomplete="current-password" required></label>
        <button class="btn primary submit" type="submit" ?disabled=${this.busy}>${this.busy ? html`<span class="spinner"></span>` : nothing}Sign in</button>
      </form>
      ${sso ? html`<div class="sso">
        ${this.methods.oidc ? html`<a class="btn" href="/api/auth/oidc/start">Sign in with single sign-on</a>` : nothing}
        ${this.methods.github ? html`<a class="btn" href="/api/auth/github/start">${icons.git()} Sign in with GitHub</a>` : nothing}
      </div>` : nothing}`)
  }
}
customElements.define('ta-sign-in', SignInPage)
