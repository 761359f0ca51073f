/** `<ta-setup-page>`: the first visit off the local machine, while no account exists: create the first admin. */
import { LitElement, html } from 'lit'
import { authCard, authCardStyles } from './auth-card.ts'
import { shared } from './styles.ts'
import './setup-form.ts'

export class SetupPage extends LitElement {
  static override styles = [shared, authCardStyles]

  override render() {
    return authCard('Create the first admin', 'No account exists yet. The first one is an admin: it can invite the others.',
      html`<ta-setup-form codeRequired @created=${() => this.dispatchEvent(new Event('signed-in'))}></ta-setup-form>`)
  }
}
customElements.define('ta-setup-page', SetupPage)
