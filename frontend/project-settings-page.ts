/**
 * `<ta-project-settings>`: the project's Settings tab. Each setting a project may override, its
 * effective value and where it comes from (this project, the app, the environment, a coordinator,
 * the default); admins override or clear it per key. Secrets are write-only. The project's check
 * (`GET /api/projects/:id/settings/check`) sits on top and says what stops the project; its Test
 * buttons (`POST /api/projects/:id/settings/test`) test the project's effective forge and LLMs.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { icons } from './icons.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import type { Project } from './types.ts'
import { settingHint, settingLabel } from './setting-labels.ts'
import './check-button.ts'

interface ProjectSetting {
  key: string
  type: string
  secret: boolean
  description: string
  choices?: string[]
  value: string | null
  set: boolean
  source: 'project' | 'app' | 'env' | 'coordinator' | 'default' | 'unset'
  status: 'set' | 'unset' | 'unreadable' | 'withheld'
  fix?: string
}
interface Check { ok: boolean; problems: { key: string; severity: 'error' | 'warning'; message: string }[] }

/** The project's setup tests: each with the values this page shows (saved ones). */
const TESTS = [
  { check: 'forge', label: 'Test forge token' },
  { check: 'worker-llm', label: 'Test worker LLM' },
  { check: 'director-llm', label: 'Test Director LLM' },
]

export const SOURCE_LABEL: Record<ProjectSetting['source'], string> = {
  project: 'This project', app: 'App settings', env: 'Environment', coordinator: 'Coordinator', default: 'Default', unset: 'Not set',
}

export class ProjectSettingsPage extends LitElement {
  static override properties = {
    project: { attribute: false },
    settings: { state: true },
    check: { state: true },
    drafts: { state: true },
    error: { state: true },
    busy: { state: true },
  }
  declare project: Project
  declare settings: ProjectSetting[] | null
  declare check: Check | null
  declare drafts: Record<string, string>
  declare error: string
  declare busy: string

  static override styles = [shared, css`
    :host { display: block; overflow: auto; padding: 24px 28px 80px; }
    .wrap { max-width: 980px; margin: 0 auto; }
    .about { color: var(--text-2); margin-bottom: 16px; }
    .check { margin-bottom: 18px; }
    .check ul { margin: 4px 0 0; padding-left: 18px; }
    table { width: 100%; border-collapse: collapse; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-lg); }
    th, td { text-align: left; padding: 10px 12px; border-bottom: 1px solid var(--border); vertical-align: top; font-size: 13px; }
    td code { font-size: 11.5px; color: var(--text-3); }
    .desc { font-size: 12px; color: var(--text-2); margin-top: 2px; }
    .value { font-family: var(--mono); font-size: 12px; word-break: break-all; }
    .controls { display: flex; gap: 6px; align-items: center; }
    .controls .input { width: 200px; }
    .fix { font-size: 12px; color: var(--danger, #b42318); margin-top: 4px; }
    .tests { display: flex; flex-wrap: wrap; gap: 12px 20px; margin-bottom: 18px; }
  `]

  constructor() {
    super()
    this.settings = null
    this.check = null
    this.drafts = {}
    this.error = ''
    this.busy = ''
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('project') && this.project) void this.load()
  }

  private base() {
    return `/api/projects/${this.project.id}/settings`
  }

  async load() {
    try {
      const [list, check] = await Promise.all([api.get<{ settings: ProjectSetting[] }>(this.base()), api.get<Check>(`${this.base()}/check`)])
      this.settings = list.settings
      this.check = check
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  /** Saves one key: a value overrides it for this project, null clears the override. */
  private async save(key: string, value: string | null) {
    this.busy = key
    try {
      this.settings = (await api.put<{ settings: ProjectSetting[] }>(this.base(), { values: { [key]: value } })).settings
      this.check = await api.get<Check>(`${this.base()}/check`)
      const drafts = { ...this.drafts }
      delete drafts[key]
      this.drafts = drafts
      notify(value === null ? `${settingLabel(key)} now inherits` : `${settingLabel(key)} saved for this project`, 'success')
    } catch (error) {
      notify(error instanceof ApiError ? error.message : errorText(error), 'error')
    } finally {
      this.busy = ''
    }
  }

  private shown(setting: ProjectSetting) {
    if (setting.status === 'withheld') return html`<span class="badge">withheld</span>`
    if (setting.secret) return html`<span class="badge">${setting.set ? 'set' : 'not set'}</span>`
    return setting.value === null ? html`<span class="faint">—</span>` : html`<span class="value">${setting.value}</span>`
  }

  private input(setting: ProjectSetting, readOnly: boolean) {
    const draft = this.drafts[setting.key] ?? ''
    const set = (value: string) => (this.drafts = { ...this.drafts, [setting.key]: value })
    if (setting.choices?.length) {
      return html`<select class="input" aria-label=${`${setting.key} override`} ?disabled=${readOnly} .value=${draft} @change=${(e: Event) => set((e.target as HTMLSelectElement).value)}>
        <option value="">Override…</option>${setting.choices.map((choice) => html`<option value=${choice}>${choice}</option>`)}</select>`
    }
    return html`<input class="input" aria-label=${`${setting.key} override`} ?disabled=${readOnly} type=${setting.secret ? 'password' : 'text'} autocomplete="off"
      placeholder=${setting.secret ? 'New secret' : 'Override…'} .value=${draft} @input=${(e: Event) => set((e.target as HTMLInputElement).value)}>`
  }

  override render() {
    if (this.error) return html`<div class="wrap"><div class="alert error" role="alert">${icons.alert()}<span>${this.error}</span></div></div>`
    if (!this.settings || !this.project) return html`<div class="wrap"><span class="spinner"></span> Loading settings…</div>`
    const readOnly = denied('admin', 'change project settings')
    const problems = this.check?.problems ?? []
    const workerMode = this.settings.find((setting) => setting.key === 'WORKER_MODE')?.value ?? 'opencode'
    const refusedTests = denied('admin', 'run setup tests')
    return html`<div class="wrap">
      <p class="about">Values this project uses, and where each comes from. A project that sets its own forge or LLM URL must set its own token or key: the app's are never sent to a URL a project sets.</p>
      ${problems.length ? html`<div class="alert ${this.check?.ok ? 'warning' : 'error'} check" role="status" data-check>
        <strong>${this.check?.ok ? 'Runs, with warnings' : 'This project cannot run'}</strong>
        <ul>${problems.map((problem) => html`<li>${problem.message}</li>`)}</ul></div>` : nothing}
      <div class="tests" data-tests>${TESTS.map((item) => html`<ta-check-button data-check=${item.check} path=${`${this.base()}/test`} .body=${{ check: item.check }}
        label=${item.label} .refused=${refusedTests} title="Tests this project's saved settings"></ta-check-button>`)}</div>
      <table>
        <thead><tr><th>Setting</th><th>Value</th><th>Source</th><th>${readOnly ? nothing : 'Override'}</th></tr></thead>
        <tbody>${this.settings.map((setting) => html`<tr data-key=${setting.key}>
          <td><strong>${settingLabel(setting.key)}</strong> <code>${setting.key}</code><div class="desc">${setting.description}</div>
            ${settingHint(setting.key, workerMode) ? html`<div class="desc" data-hint>${settingHint(setting.key, workerMode)}</div>` : nothing}
            ${setting.fix ? html`<div class="fix">${setting.fix}</div>` : nothing}</td>
          <td>${this.shown(setting)}</td>
          <td><span class="badge" data-source>${SOURCE_LABEL[setting.source]}</span></td>
          <td>${readOnly ? nothing : html`<div class="controls">${this.input(setting, false)}
            <button class="btn small primary" ?disabled=${!this.drafts[setting.key] || this.busy === setting.key} @click=${() => this.save(setting.key, this.drafts[setting.key]!)}>Save</button>
            ${setting.source === 'project' ? html`<button class="btn small" ?disabled=${this.busy === setting.key} @click=${() => this.save(setting.key, null)}>Clear</button>` : nothing}</div>`}</td>
        </tr>`)}</tbody>
      </table></div>`
  }
}
customElements.define('ta-project-settings', ProjectSettingsPage)
