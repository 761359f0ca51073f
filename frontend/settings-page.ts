/**
 * `<ta-settings-page>`: every app setting from `GET /api/settings`, grouped. Secrets are
 * write-only (the page only knows set/unset). Non-secret settings export to and import from JSON;
 * an import fills the form for review and is saved like any edit. The settings check sits on top
 * and says why Run is disabled, if it is.
 */
import { LitElement, css, html, nothing } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { SettingsCheckController, refreshSettingsCheck } from './settings-check.ts'
import { denied, session } from './session.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import type { SettingView } from './types.ts'
import './first-account.ts'
import './check-button.ts'
import { settingHint, settingLabel } from './setting-labels.ts'

/** `check`: the setup Test of the group (`POST /api/checks/<check>`, core/api/checks.ts). */
const GROUPS: { title: string; about: string; test: (key: string) => boolean; check?: { path: string; label: string } }[] = [
  { title: 'Worker', about: 'The coding-agent CLI and the model it uses.', test: (key) => key.startsWith('WORKER_'), check: { path: 'worker-llm', label: 'Test worker LLM' } },
  { title: 'Director', about: 'The planning model that drives the worker. Unset = single-shot mode.', test: (key) => /^(AGENT_|DIRECTOR_|DRAFT_PR)/.test(key), check: { path: 'director-llm', label: 'Test Director LLM' } },
  { title: 'GitHub', about: 'Clone, push and pull requests, and the repositories the token may be used for.', test: (key) => key.startsWith('GITHUB_') || key === 'REPO_ALLOWLIST', check: { path: 'forge', label: 'Test GitHub token' } },
  { title: 'Coordinators', about: 'How coordinators run agents.', test: (key) => key === 'MAX_CONCURRENT_AGENTS' },
  { title: 'Memory', about: 'Embeddings for project memory.', test: (key) => /^(EMBEDDING_|MEMORY_)/.test(key), check: { path: 'embeddings', label: 'Test embedding service' } },
  { title: 'Review', about: 'Turning PR comments into review jobs.', test: (key) => key.startsWith('REVIEW_') },
  { title: 'Issue intake', about: 'Forge issues a writer labels become tickets (best set per project).', test: (key) => key.startsWith('INTAKE_') },
]

const SOURCE_LABEL: Record<string, string> = { app: 'Set here', env: 'From environment', default: 'Default', unset: 'Not set' }

export class SettingsPage extends LitElement {
  static override properties = {
    settings: { state: true },
    edits: { state: true },
    errors: { state: true },
    formError: { state: true },
    error: { state: true },
    saving: { state: true },
  }
  declare settings: SettingView[] | null
  /** Pending changes: a value, or null to unset. */
  declare edits: Record<string, string | null>
  declare errors: Record<string, string>
  declare formError: string
  declare error: string
  declare saving: boolean
  private check = new SettingsCheckController(this)
  private live = new LiveController(this, { project: () => null, onEvent: (type) => type === 'settings.updated' && this.onRemote(), load: () => this.load() })

  static override styles = [shared, css`
    :host { display: block; max-width: 980px; margin: 0 auto; padding: 32px 28px 120px; }
    .head { display: flex; align-items: flex-end; gap: 12px; margin-bottom: 18px; }
    .head h1 { font-size: 24px; }
    .head p { color: var(--text-2); margin-top: 4px; }
    .check { margin-bottom: 22px; }
    .check ul { margin: 4px 0 0; padding-left: 18px; }
    section { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-lg); margin-bottom: 18px; }
    section > header { padding: 14px 18px 10px; border-bottom: 1px solid var(--border); }
    section h2 { font-size: 15px; }
    section header p { font-size: 12.5px; color: var(--text-2); margin-top: 2px; }
    .setting { display: grid; grid-template-columns: minmax(0, 1fr) 340px; gap: 20px; padding: 14px 18px; border-bottom: 1px solid var(--border); align-items: start; }
    .setting:last-child { border-bottom: 0; }
    .key { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
    .key label { font-weight: 600; }
    .key code.var { font-size: 11.5px; color: var(--text-3); }
    .cli-hint { color: var(--text-3); }
    section > header ta-check-button { margin-top: 8px; }
    .desc { font-size: 12.5px; color: var(--text-2); margin-top: 4px; }
    .control { display: grid; gap: 6px; }
    .control .row .input { flex: 1; }
    .changed .input { border-color: var(--accent); }
    .savebar {
      position: fixed; left: 50%; bottom: 20px; transform: translateX(-50%); z-index: 20; display: flex; align-items: center; gap: 12px;
      background: var(--surface); border: 1px solid var(--border); border-radius: 12px; box-shadow: var(--shadow-3); padding: 10px 12px 10px 18px;
    }
    .tools { display: flex; gap: 8px; }
    .formerror { margin-bottom: 16px; }
    .readonly { margin-bottom: 18px; }
    fieldset.plain { border: 0; padding: 0; margin: 0; min-width: 0; }
    @media (max-width: 900px) { .setting { grid-template-columns: 1fr; } }
  `]

  constructor() {
    super()
    this.settings = null
    this.edits = {}
    this.errors = {}
    this.formError = ''
    this.error = ''
    this.saving = false
  }

  private onRemote() {
    void refreshSettingsCheck()
    if (!Object.keys(this.edits).length) void this.load()
  }

  async load() {
    const first = this.settings === null
    try {
      this.settings = (await api.get<{ settings: SettingView[] }>('/api/settings')).settings
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
    if (first && this.settings) await this.showLinkedSetting()
  }

  /** A failure reason's fix links here as `/settings#s-<KEY>`: that setting is scrolled to and focused. */
  private async showLinkedSetting() {
    const key = /^#s-([A-Z0-9_]+)$/.exec(location.hash)?.[1]
    if (!key) return
    await this.updateComplete
    const input = this.renderRoot.querySelector<HTMLElement>(`#s-${key}`)
    input?.scrollIntoView({ block: 'center' })
    input?.focus({ preventScroll: true })
  }

  private edit(key: string, value: string | null) {
    const setting = this.settings!.find((candidate) => candidate.key === key)!
    const edits = { ...this.edits }
    const same = !setting.secret && (value ?? null) === (setting.source === 'app' ? setting.value : null)
    if (same || (setting.secret && value === '')) delete edits[key]
    else edits[key] = value
    this.edits = edits
    if (this.errors[key]) this.errors = { ...this.errors, [key]: '' }
  }

  private async save() {
    this.saving = true
    this.formError = ''
    try {
      const { settings } = await api.put<{ settings: SettingView[] }>('/api/settings', { values: this.edits })
      this.settings = settings
      this.edits = {}
      this.errors = {}
      notify('Settings saved', 'success')
      await refreshSettingsCheck()
    } catch (error) {
      const fields = error instanceof ApiError ? error.fields() : {}
      this.errors = Object.fromEntries(Object.entries(fields).map(([path, message]) => [path.replace(/^values\./, ''), message]))
      this.formError = errorText(error)
    } finally {
      this.saving = false
    }
  }

  private exportJson() {
    const values: Record<string, string> = {}
    for (const setting of this.settings ?? []) {
      if (!setting.secret && setting.value !== null && (setting.source === 'app' || setting.source === 'env')) values[setting.key] = setting.value
    }
    const blob = new Blob([`${JSON.stringify({ terarchitect_settings: 1, values }, null, 2)}\n`], { type: 'application/json' })
    const link = document.createElement('a')
    link.href = URL.createObjectURL(blob)
    link.download = 'terarchitect-settings.json'
    link.click()
    setTimeout(() => URL.revokeObjectURL(link.href), 1000)
  }

  private async importJson(event: Event) {
    const input = event.target as HTMLInputElement
    const file = input.files?.[0]
    input.value = ''
    if (!file) return
    let parsed: unknown
    try {
      parsed = JSON.parse(await file.text())
    } catch {
      this.formError = `${file.name} is not valid JSON.`
      return
    }
    const source = (parsed && typeof parsed === 'object' && 'values' in parsed ? (parsed as { values: unknown }).values : parsed) as Record<string, unknown>
    if (!source || typeof source !== 'object' || Array.isArray(source)) {
      this.formError = `${file.name} should hold an object of settings, like {"values": {"WORKER_MODEL": "…"}}.`
      return
    }
    const byKey = new Map(this.settings!.map((setting) => [setting.key, setting]))
    const unknown: string[] = []
    const secrets: string[] = []
    const edits = { ...this.edits }
    for (const [key, value] of Object.entries(source)) {
      const setting = byKey.get(key)
      if (!setting) unknown.push(key)
      else if (setting.secret) secrets.push(key)
      else edits[key] = value === null ? null : String(value)
    }
    this.edits = edits
    const notes = [
      unknown.length ? `unknown keys ignored: ${unknown.join(', ')}` : '',
      secrets.length ? `secrets are never imported: ${secrets.join(', ')}` : '',
    ].filter(Boolean)
    this.formError = ''
    notify(`Imported ${Object.keys(source).length - unknown.length - secrets.length} settings from ${file.name}; review and save.${notes.length ? ` (${notes.join('; ')})` : ''}`, notes.length ? 'info' : 'success')
  }

  private control(setting: SettingView) {
    const edited = setting.key in this.edits
    const value = edited ? this.edits[setting.key] : setting.source === 'app' ? setting.value : null
    const onInput = (event: Event) => this.edit(setting.key, (event.target as HTMLInputElement).value === '' && !setting.secret ? null : (event.target as HTMLInputElement).value)
    const placeholder = setting.source === 'env' ? `${setting.value} (environment)` : setting.default ? `${setting.default} (default)` : ''
    const id = `s-${setting.key}`
    let input
    if (setting.secret) {
      const cleared = edited && this.edits[setting.key] === null
      input = html`<div class="row">
        <input class="input" id=${id} type="password" autocomplete="new-password" name=${setting.key}
          placeholder=${cleared ? 'Will be cleared' : setting.status === 'unreadable' ? 'Unreadable (stored with another secret key): type it again' : setting.set ? '•••••••• set; type to replace' : 'Not set'}
          .value=${edited && this.edits[setting.key] !== null ? this.edits[setting.key]! : ''} @input=${onInput}>
        ${(setting.set || setting.status === 'unreadable') && setting.source === 'app' && !cleared ? html`<button class="btn" @click=${() => (this.edits = { ...this.edits, [setting.key]: null })}>Clear</button>` : nothing}
      </div>`
    } else if (setting.choices || setting.type === 'boolean') {
      const choices = setting.choices ?? ['true', 'false']
      input = html`<select class="input" id=${id} name=${setting.key} @change=${onInput}>
        <option value="" ?selected=${value === null}>${setting.source === 'env' ? `Environment (${setting.value})` : setting.default ? `Default (${setting.default})` : 'Not set'}</option>
        ${choices.map((choice) => html`<option value=${choice} ?selected=${value === choice}>${choice}</option>`)}
      </select>`
    } else {
      input = html`<input class="input ${setting.type === 'url' || setting.type === 'string' ? '' : ''}" id=${id} name=${setting.key}
        type=${setting.type === 'integer' ? 'number' : setting.type === 'url' ? 'url' : 'text'} min="0" autocomplete="off" spellcheck="false"
        placeholder=${placeholder} .value=${value ?? ''} @input=${onInput}>`
    }
    return html`<div class="control ${edited ? 'changed' : ''}">
      ${input}
      ${this.errors[setting.key] ? html`<span class="field-error" role="alert">${this.errors[setting.key]}</span>` : nothing}
    </div>`
  }

  /** The CLI the worker hints are for: the one being chosen, else the saved one. */
  private workerMode(): string {
    const saved = this.settings?.find((setting) => setting.key === 'WORKER_MODE')
    return this.edits.WORKER_MODE ?? saved?.value ?? saved?.default ?? 'opencode'
  }

  private row(setting: SettingView) {
    const look = setting.source === 'unset' ? '' : setting.source === 'app' ? 'accent' : setting.source === 'env' ? 'warning' : ''
    const hint = settingHint(setting.key, this.workerMode())
    return html`<div class="setting" data-key=${setting.key}>
      <div>
        <div class="key"><label for="s-${setting.key}">${settingLabel(setting.key)}</label> <code class="var">${setting.key}</code>
          ${setting.status === 'unreadable' ? html`<span class="badge danger" title=${setting.fix ?? ''}>unreadable: set it again</span>`
            : setting.secret ? html`<span class="badge ${setting.set ? 'success' : ''}">${setting.set ? 'secret · set' : 'secret · unset'}</span>`
            : html`<span class="badge ${look}">${SOURCE_LABEL[setting.source]}</span>`}</div>
        <div class="desc">${setting.description}</div>
        ${hint ? html`<div class="desc cli-hint">${hint}</div>` : nothing}
      </div>
      ${this.control(setting)}
    </div>`
  }

  private checkBanner() {
    const check = this.check.value
    if (!check) return nothing
    const errors = check.problems.filter((problem) => problem.severity === 'error')
    const warnings = check.problems.filter((problem) => problem.severity === 'warning')
    return html`<div class="check">
      ${errors.length ? html`<div class="alert error" role="alert">${icons.alert()}<div class="grow"><b>Run is disabled</b> until these are set:
        <ul>${errors.map((problem) => html`<li>${problem.message}</li>`)}</ul></div></div>`
        : html`<div class="alert success" role="status">${icons.check()}<div class="grow">Agents can run: every required setting is in place. The Test buttons below check that they work.</div></div>`}
      ${warnings.length ? html`<div class="alert warning mt-8">${icons.info()}<div class="grow"><ul class="m-0">${warnings.map((problem) => html`<li>${problem.message}</li>`)}</ul></div></div>` : nothing}
    </div>`
  }

  override render() {
    const settings = this.settings
    const grouped = new Set<string>()
    const count = Object.keys(this.edits).length
    const refused = denied('admin', 'change settings')
    const me = session()
    return html`
      <div class="head">
        <div class="grow"><h1>Settings</h1><p>Shared by every project and every coordinator. Unset values fall back to the app's environment.</p></div>
        <div class="tools">
          <button class="btn" @click=${this.exportJson} ?disabled=${!settings} title="Download the non-secret settings">${icons.download()} Export</button>
          <label class="btn" tabindex="0" ?hidden=${!!refused} @keydown=${(e: KeyboardEvent) => (e.key === 'Enter' || e.key === ' ') && (e.currentTarget as HTMLElement).querySelector('input')?.click()}>
            ${icons.upload()} Import<input type="file" accept="application/json,.json" hidden @change=${this.importJson}></label>
        </div>
      </div>
      ${this.checkBanner()}
      ${refused ? html`<div class="alert info readonly" role="note">${icons.info()}<span>${refused}. You can read them here; no one sees the values of secrets.</span></div>` : nothing}
      ${me?.local && me.setup_required ? html`<ta-first-account></ta-first-account>` : nothing}
      ${this.formError ? html`<div class="alert error formerror" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : nothing}
      ${this.error ? html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load settings: ${this.error}</span><button class="btn small" @click=${() => this.load()}>Retry</button></div>` : nothing}
      ${!settings ? (this.error ? nothing : html`<div class="row faint"><span class="spinner"></span> Loading settings…</div>`) : html`<fieldset class="plain" ?disabled=${!!refused}>
        ${GROUPS.map((group) => {
          const rows = settings.filter((setting) => !grouped.has(setting.key) && group.test(setting.key))
          rows.forEach((setting) => grouped.add(setting.key))
          const test = group.check && html`<ta-check-button check=${group.check.path} label=${group.check.label}
            .refused=${denied('admin', 'run setup tests')} title=${count ? 'Tests the saved settings: save first' : ''}></ta-check-button>`
          return rows.length ? html`<section data-group=${group.title}><header><h2>${group.title}</h2><p>${group.about}</p>${test || nothing}</header>${rows.map((setting) => this.row(setting))}</section>` : nothing
        })}
        ${(() => {
          const rest = settings.filter((setting) => !grouped.has(setting.key))
          return rest.length ? html`<section><header><h2>Other</h2></header>${rest.map((setting) => this.row(setting))}</section>` : nothing
        })()}</fieldset>`}
      ${count ? html`<div class="savebar" role="region" aria-label="Unsaved settings">
        <span>${count} unsaved change${count === 1 ? '' : 's'}</span>
        <button class="btn" @click=${() => { this.edits = {}; this.errors = {}; this.formError = '' }}>Discard</button>
        <button class="btn primary" ?disabled=${this.saving} @click=${this.save}>${this.saving ? html`<span class="spinner"></span>` : ''}Save settings</button>
      </div>` : nothing}`
  }
}
customElements.define('ta-settings-page', SettingsPage)
