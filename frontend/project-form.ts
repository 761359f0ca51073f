/**
 * `<ta-project-form>`: create or edit a project in a dialog. Server validation errors land next to
 * the field they name (`/body/repo_url` → the Repository URL input), the message on top.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit'
import { api, ApiError, errorText } from './api.ts'
import { type ProjectForgeKind } from './project-settings-forge.ts'
import './project-settings-forge.ts'
import { counter, counterStyles } from './char-counter.ts'
import { icons } from './icons.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import type { Project } from './types.ts'
import './modal-dialog.ts'
import './check-button.ts'
import { pathCheckText, waitForPathCheck } from './project-form-path-check.ts'

type Saved = Project & { warnings?: string[] }

const WORKER_MODES = ['opencode', 'claude-code', 'codex', 'gemini', 'aider']

interface Values {
  name: string
  key: string
  description: string
  repo_url: string
  execution_mode: 'docker' | 'local'
  project_path: string
  default_branch: string
  worker_mode: string
  setup_command: string
  test_command: string
}

const EMPTY: Values = {
  name: '', key: '', description: '', repo_url: '', execution_mode: 'docker', project_path: '',
  default_branch: '', worker_mode: '', setup_command: '', test_command: '',
}

export class ProjectForm extends LitElement {
  static override properties = {
    open: { type: Boolean },
    focusField: { attribute: false },
    project: { attribute: false },
    values: { state: true },
    errors: { state: true },
    formError: { state: true },
    saving: { state: true },
    checking: { state: true },
    pathProblem: { state: true },
  }
  declare open: boolean
  /** A field to focus when the form opens (a failure reason's fix: `/projects/:id?edit=repo_url`). */
  declare focusField: string | null
  declare project: Project | null
  declare values: Values
  declare errors: Record<string, string>
  declare formError: string
  declare saving: boolean
  /** Waiting for a coordinator to check the saved path (project-form-path-check.ts). */
  declare checking: boolean
  /** What the coordinator found wrong with the saved path: the form stays open on it. */
  declare pathProblem: string | null
  /** A save whose `saved` event waits for the form to close (the path problem is in view). */
  private held: Saved | null = null

  static override styles = [shared, counterStyles, css`
    .modes { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
    .mode {
      display: grid; gap: 2px; align-content: start; padding: 10px 12px; border: 1px solid var(--border-strong); border-radius: 9px; cursor: pointer;
      background: var(--surface);
    }
    .mode:has(input:checked) { border-color: var(--accent); background: var(--accent-soft); box-shadow: inset 0 0 0 1px var(--accent); }
    .mode:has(input:focus-visible) { box-shadow: var(--focus); }
    .mode:has(input:disabled) { opacity: .55; cursor: not-allowed; }
    .mode input { position: absolute; opacity: 0; pointer-events: none; }
    .mode b { font-weight: 600; font-size: 13px; }
    .mode span { font-size: 12px; color: var(--text-3); }
    details { margin: 4px 0 10px; }
    summary { cursor: pointer; color: var(--text-2); font-weight: 500; margin-bottom: 12px; }
    .two { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
    .alert { margin-bottom: 14px; }
    fieldset { border: 0; padding: 0; margin: 0 0 14px; }
    legend { font-weight: 500; font-size: 13px; margin-bottom: 6px; padding: 0; }
    .repo-check { margin: -6px 0 14px; }
  `]

  constructor() {
    super()
    this.open = false
    this.project = null
    this.values = { ...EMPTY }
    this.errors = {}
    this.formError = ''
    this.saving = false
    this.checking = false
    this.pathProblem = null
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('open') && this.open) {
      const p = this.project
      this.values = p
        ? {
            name: p.name, key: p.key ?? '', description: p.description, repo_url: p.repo_url ?? '', execution_mode: p.execution_mode,
            project_path: p.project_path ?? '', default_branch: p.default_branch ?? '', worker_mode: p.worker_mode ?? '',
            setup_command: p.setup_command ?? '', test_command: p.test_command ?? '',
          }
        : { ...EMPTY }
      this.errors = {}
      this.formError = ''
      this.pathProblem = null
      this.held = null
    }
  }

  protected override async updated(changed: PropertyValues<this>): Promise<void> {
    if (!changed.has('open') || !this.open || !this.focusField) return
    const input = this.renderRoot.querySelector<HTMLElement>(`#f-${CSS.escape(this.focusField)}`)
    const folded = input?.closest('details')
    if (folded) folded.open = true
    await this.updateComplete
    input?.focus()
  }

  private set(key: keyof Values, value: string) {
    this.values = { ...this.values, [key]: value }
    if (this.errors[key]) this.errors = { ...this.errors, [key]: '' }
  }

  /** What the browser can tell before asking the server. */
  private localErrors(): Record<string, string> {
    const errors: Record<string, string> = {}
    const v = this.values
    if (!v.name.trim()) errors.name = 'Give the project a name.'
    if (v.key && !/^[A-Z]{2,6}$/.test(v.key)) errors.key = 'Use 2 to 6 capital letters A–Z, like SHOP.'
    if (v.execution_mode === 'local' && v.project_path.trim() && !v.project_path.trim().startsWith('/')) {
      errors.project_path = 'Use an absolute path, like /home/me/shop.'
    }
    return errors
  }

  private async submit(event: Event) {
    event.preventDefault()
    const local = this.localErrors()
    if (Object.keys(local).length) {
      this.errors = local
      this.formError = 'Please fix the highlighted fields.'
      return
    }
    const v = this.values
    const body: Record<string, unknown> = {
      name: v.name.trim(), description: v.description, repo_url: v.repo_url.trim() || null, execution_mode: v.execution_mode,
      project_path: v.project_path.trim() || null, default_branch: v.default_branch.trim() || null,
      worker_mode: v.worker_mode || null, setup_command: v.setup_command.trim() || null, test_command: v.test_command.trim() || null,
    }
    // Left empty, a new project's key comes from its name; an existing one keeps its key.
    if (v.key && v.key !== this.project?.key) body.key = v.key
    this.saving = true
    this.formError = ''
    try {
      const project = this.project
        ? await api.patch<Project>(`/api/projects/${this.project.id}`, body)
        : await api.post<Project>('/api/projects', body)
      await this.renderRoot.querySelector<ProjectForgeKind>('ta-project-forge-kind')?.apply(project.id)
      await this.afterSave(project)
    } catch (error) {
      this.errors = error instanceof ApiError ? error.fields() : {}
      this.formError = errorText(error)
    } finally {
      this.saving = false
    }
  }

  /**
   * A local project's path is checked by a coordinator serving it: wait a few seconds for its
   * answer. A problem keeps the form open on it (the save stands); otherwise the answer joins the
   * save's warnings, in place of the API's general note on path checks.
   */
  private async afterSave(project: Saved) {
    this.pathProblem = null
    let saved = project
    if (project.execution_mode === 'local' && project.project_path) {
      this.checking = true
      const check = await waitForPathCheck(project.id).finally(() => (this.checking = false))
      const text = pathCheckText(check)
      if (check?.status === 'problem' && text) {
        this.project = project
        this.held = project
        this.pathProblem = text
        return
      }
      const warnings = (project.warnings ?? []).filter((warning) => !warning.startsWith('The path is checked where it lives'))
      saved = { ...project, warnings: text ? [...warnings, text] : warnings }
    }
    this.held = null
    this.dispatchEvent(new CustomEvent('saved', { detail: saved }))
    this.open = false
  }

  /** Closes the form; a save held back for its path problem is announced now. */
  private close() {
    if (this.held) this.dispatchEvent(new CustomEvent('saved', { detail: this.held }))
    this.held = null
    this.open = false
  }

  private input(key: keyof Values, label: string, options: { hint?: string; placeholder?: string; mono?: boolean; area?: boolean; refused?: string | null; max?: number; upper?: boolean } = {}) {
    const error = this.errors[key]
    const hint = options.refused ?? options.hint
    const common = {
      id: `f-${key}`,
      invalid: error ? 'true' : 'false',
    }
    return html`
      <label class="field">
        <span class="label-row">${label}${options.max ? counter(this.values[key].length, options.max) : ''}</span>
        ${options.area
          ? html`<textarea class="input" id=${common.id} name=${key} aria-invalid=${common.invalid} rows="3" placeholder=${options.placeholder ?? ''}
              .value=${this.values[key]} @input=${(e: InputEvent) => this.set(key, (e.target as HTMLTextAreaElement).value)}></textarea>`
          : html`<input class="input ${options.mono ? 'mono' : ''}" id=${common.id} name=${key} aria-invalid=${common.invalid} autocomplete="off"
              spellcheck="false" placeholder=${options.placeholder ?? ''} aria-describedby=${`e-${key}`} ?disabled=${!!options.refused} maxlength=${options.max ?? nothing}
              .value=${this.values[key]} @input=${(e: InputEvent) => this.set(key, options.upper ? (e.target as HTMLInputElement).value.toUpperCase() : (e.target as HTMLInputElement).value)}>`}
        ${error ? html`<span class="field-error" id=${`e-${key}`} role="alert">${error}</span>` : hint ? html`<span class="hint">${hint}</span>` : ''}
      </label>`
  }

  override render() {
    const v = this.values
    // What runs on a host (local mode, its path, setup and test commands) is for admins to decide.
    const hostOnly = denied('admin', 'choose what runs on a host (local mode, path, commands)')
    return html`
      <ta-modal heading=${this.project ? `Edit ${this.project.name}` : 'New project'} .open=${this.open}
        @close=${() => { this.close(); this.dispatchEvent(new Event('close')) }}>
        <form id="project" novalidate @submit=${this.submit}>
          ${this.formError ? html`<div class="alert error" role="alert">${icons.alert()}<span>${this.formError}</span></div>` : ''}
          ${this.input('name', 'Name', { placeholder: 'Shop API', max: 200 })}
          ${this.input('key', 'Key', { placeholder: this.project ? '' : 'From the name', max: 6, upper: true, hint: 'Shown before ticket numbers, like SHOP-12: 2 to 6 capital letters.' })}
          ${this.input('description', 'Description', { area: true, placeholder: 'What the system does, for the agents and for you' })}
          ${this.input('repo_url', 'Repository URL', { mono: true, placeholder: 'https://github.com/acme/shop.git', hint: 'Agents clone this, push a branch and open the pull request here.',
            refused: this.project ? denied('admin', 'change the repository of an existing project (the app\'s GitHub token is used there)') : null })}
          <ta-project-forge-kind .repoUrl=${v.repo_url} .projectId=${this.project?.id ?? null}></ta-project-forge-kind>
          ${this.project?.repo_url ? html`<ta-check-button class="repo-check" check="forge" label="Test push access" .body=${{ project_id: this.project.id }}
            .refused=${denied('admin', 'run setup tests')}></ta-check-button>` : ''}
          <fieldset>
            <legend>Execution</legend>
            <div class="modes" role="radiogroup">
              ${(['docker', 'local'] as const).map((mode) => html`
                <label class="mode" title=${mode === 'local' && hostOnly ? hostOnly : ''}>
                  <input type="radio" name="execution_mode" value=${mode} .checked=${v.execution_mode === mode} ?disabled=${mode === 'local' && !!hostOnly}
                    @change=${() => this.set('execution_mode', mode)}>
                  <b>${mode === 'docker' ? 'Docker' : 'Local'}</b>
                  <span>${mode === 'docker' ? 'One isolated container per job' : 'Run on the coordinator host, in a folder'}</span>
                </label>`)}
            </div>
            ${hostOnly ? html`<span class="hint">${hostOnly}.</span>` : ''}
          </fieldset>
          ${v.execution_mode === 'local' ? this.input('project_path', 'Project path', { mono: true, placeholder: '/home/me/shop', hint: 'Absolute path of the checkout on the coordinator host. Checked there at save when a coordinator serving the project is online, and before each run: it must exist and be a git checkout whose origin is the repository URL (an empty folder is cloned into).', refused: hostOnly }) : ''}
          ${v.execution_mode === 'local' && this.pathProblem ? html`<div class="alert warning path-problem" role="status">${icons.alert()}<span>Saved. The path check found a problem: ${this.pathProblem}</span></div>` : ''}
          <details ?open=${!!(v.default_branch || v.worker_mode || v.setup_command || v.test_command || this.errors.default_branch)}>
            <summary>Advanced</summary>
            <div class="two">
              ${this.input('default_branch', 'Default branch', { mono: true, placeholder: 'detected' })}
              <label class="field">
                <span>Worker</span>
                <select class="input" name="worker_mode" .value=${v.worker_mode} @change=${(e: Event) => this.set('worker_mode', (e.target as HTMLSelectElement).value)}>
                  <option value="" ?selected=${!v.worker_mode}>From settings</option>
                  ${WORKER_MODES.map((mode) => html`<option value=${mode} ?selected=${v.worker_mode === mode}>${mode}</option>`)}
                </select>
              </label>
            </div>
            ${this.input('setup_command', 'Setup command', { mono: true, placeholder: 'npm ci', refused: hostOnly })}
            ${this.input('test_command', 'Test command', { mono: true, placeholder: 'npm test', hint: 'The Director runs it to judge each turn.', refused: hostOnly })}
          </details>
        </form>
        <button slot="footer" class="btn" type="button" @click=${() => this.close()}>${this.held ? 'Close' : 'Cancel'}</button>
        <button slot="footer" class="btn primary" type="submit" form="project" ?disabled=${this.saving}>
          ${this.saving ? html`<span class="spinner"></span>` : ''}${this.checking ? 'Checking the path…' : this.project ? 'Save changes' : 'Create project'}
        </button>
      </ta-modal>`
  }
}
customElements.define('ta-project-form', ProjectForm)
