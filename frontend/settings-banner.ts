/**
 * `<ta-settings-banner>`: the settings check, where Run lives. An error says why Run is disabled
 * and links to the fix; warnings can be dismissed for this session.
 */
import { LitElement, css, html } from 'lit'
import { icons } from './icons.ts'
import { SettingsCheckController, runBlocker } from './settings-check.ts'
import { shared } from './styles.ts'
import type { Project } from './types.ts'

let warningsDismissed = false

export class SettingsBanner extends LitElement {
  static override properties = { project: { attribute: false }, dismissed: { state: true } }
  declare project: Project | null
  declare dismissed: boolean
  private check = new SettingsCheckController(this)

  static override styles = [shared, css`
    :host { display: block; }
    :host(:not([showing])) { display: none; }
    .alert { align-items: center; padding: 7px 10px 7px 12px; font-size: 12.5px; }
    .alert .btn.small { height: 24px; }
    .alert .icon-btn { width: 24px; height: 24px; }
    ul { margin: 4px 0 0; padding-left: 18px; }
    b { font-weight: 600; }
  `]

  constructor() {
    super()
    this.project = null
    this.dismissed = warningsDismissed
  }

  override render() {
    const check = this.check.value
    const blocker = runBlocker(this.project, check)
    const warnings = check?.problems.filter((problem) => problem.severity === 'warning') ?? []
    const showWarnings = !blocker && warnings.length > 0 && !this.dismissed
    this.toggleAttribute('showing', !!blocker || showWarnings)
    if (blocker) {
      const settingsProblem = check && !check.ok
      return html`<div class="alert error" role="alert">${icons.alert()}
        <div class="grow"><b>Run is disabled.</b> ${blocker}</div>
        ${settingsProblem ? html`<a class="btn small" href="/settings">Open settings</a>` : ''}
      </div>`
    }
    if (!showWarnings) return ''
    return html`<div class="alert warning" role="status">${icons.info()}
      <div class="grow">${warnings.length === 1 ? warnings[0]!.message : html`<ul>${warnings.map((problem) => html`<li>${problem.message}</li>`)}</ul>`}</div>
      <a class="btn small" href="/settings">Settings</a>
      <button class="icon-btn" aria-label="Dismiss" @click=${() => (this.dismissed = warningsDismissed = true)}>${icons.x()}</button>
    </div>`
  }
}
customElements.define('ta-settings-banner', SettingsBanner)
