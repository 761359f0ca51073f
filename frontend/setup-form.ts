/**
 * `<ta-setup-form>`: creates the first admin (`POST /api/auth/setup`), which also signs them in.
 * Off loopback the server wants the one-time setup code the app printed when it started
 * (`codeRequired`); on the local machine it does not. Fires `created` on success.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { icons } from './icons.ts'
import { shared } from './styles.ts'

type Field = 'login' | 'display_name' | 'password' | 'setup_code'

export class SetupForm extends LitElement {
  static override properties = {
    codeRequired: { type: Boolean },
    errors: { state: true },
    formError: { state: true },
    busy: { state: true },
  }
  declare codeRequired: boolean
  declare errors: Partial<Record<Field, string>>
  declare formError: string
  declare busy: boolean

  static override styles = [shared, css`
    :host { display: block; }
    .alert { margin-bottom: 14px; }
    .submit { width: 100%; height: 36px; margin-top: 4px; }
  `]

  constructor() {
    super()
    this.codeRequired = false
    this.errors = {}
    this.formError = ''
    this.busy = false
  }

  private async submit(event: SubmitEvent) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const value = (name: Field) => (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? ''
    const body: Record<string, string> = { login: value('login'), password: (form.elements.namedItem('password') as HTMLInputElement).value }
    if (value('display_name')) body.display_name = value('display_name')
    if (this.codeRequired) body.setup_code = value('setup_code')
    const errors: Partial<Record<Field, string>> = {}
    if (!body.login) errors.login = 'Choose a login.'
    if (body.password!.length < 8) errors.password = 'Use at least 8 characters.'
    if (this.codeRequired && !body.setup_code) errors.setup_code = 'Paste the setup code the app printed.'
    this.errors = errors
    if (Object.keys(errors).length) return
    this.busy = true
    this.formError = ''
    try {
      await api.post('/api/auth/setup', body)
      this.dispatchEvent(new Event('created'))
    } catch (error) {
      this.errors = error instanceof ApiError ? error.fields() : {}
      this.formError = errorText(error)
    } finally {
      this.busy = false
    }
  }

  private field(name: Field, label: string, options: { type?: string; autocomplete: string; hint?: string; mono?: boolean }) {
    const error = this.errors[name]
    return html`<label class="field"><span>${label}</span>
      <input class="input ${options.mono ? 'mono' : ''}" name=${name} type=${options.type ?? 'text'} autocomplete=${options.autocomplete}
        spellcheck="false" aria-invalid=${error ? 'true' : 'false'}>
      ${error ? html`<span class="field-error" role="alert">${error}</span>` : options.hint ? html`<span class="hint">${options.hint}</span>` : nothing}
    </label>`
  }

  override render() {
    return html`
      ${this.formError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : nothing}
      <form novalidate @submit=${this.submit}>
        ${this.field('login', 'Login', { autocomplete: 'username', hint: 'Letters, digits, dots, dashes, @ and _.' })}
        ${this.field('display_name', 'Display name', { autocomplete: 'name', hint: 'Shown on the board and in the audit log.' })}
        ${this.field('password', 'Password', { type: 'password', autocomplete: 'new-password', hint: 'At least 8 characters.' })}
        ${this.codeRequired ? this.field('setup_code', 'Setup code', { autocomplete: 'off', mono: true,
          hint: 'The app printed it when it started: "First-admin setup code: xxxx-xxxx-xxxx-xxxx" (also in its log).' }) : nothing}
        <button class="btn primary submit" type="submit" ?disabled=${this.busy}>${this.busy ? html`<span class="spinner"></span>` : nothing}Create the admin account</button>
      </form>`
  }
}
customElements.define('ta-setup-form', SetupForm)
