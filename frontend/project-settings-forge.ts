/**
 * `<ta-project-forge-kind>`: the Forge field of the project form. The kind is detected from the
 * repository URL (github.com → github; gitlab.com or a GitLab-style `/-/` path → gitlab; any other
 * host keeps the app's FORGE_KIND), with a select to override it. After the project is saved,
 * `apply` stores the kind as the project's FORGE_KIND setting when it differs from what the project
 * has (admins only: project settings are theirs to write).
 */
import { LitElement, html, nothing, type PropertyValues } from 'lit'
import { api } from './api.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import type { SettingView } from './types.ts'
import { detectForgeKind } from './project-settings-detect.ts'

export class ProjectForgeKind extends LitElement {
  static override properties = {
    repoUrl: { attribute: false },
    projectId: { attribute: false },
    override: { state: true },
    appKind: { state: true },
    projectKind: { state: true },
    choices: { state: true },
  }
  declare repoUrl: string
  declare projectId: number | null
  /** '' = use the detected kind. */
  declare override: string
  declare appKind: string
  /** The project's own FORGE_KIND, when it sets one. */
  declare projectKind: string | null
  declare choices: string[]

  static override styles = [shared]

  constructor() {
    super()
    this.repoUrl = ''
    this.projectId = null
    this.override = ''
    this.appKind = 'github'
    this.projectKind = null
    this.choices = []
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('projectId')) void this.load().catch(() => {})
  }

  private async load() {
    const app = (await api.get<{ settings: SettingView[] }>('/api/settings')).settings.find((s) => s.key === 'FORGE_KIND')
    this.appKind = app?.value ?? 'github'
    this.choices = app?.choices ?? ['github']
    if (this.projectId) {
      const own = (await api.get<{ settings: (Omit<SettingView, 'source'> & { source: string })[] }>(`/api/projects/${this.projectId}/settings`)).settings.find((s) => s.key === 'FORGE_KIND')
      this.projectKind = own?.source === 'project' ? own.value : null
    }
  }

  /** The kind the project will use: the override, else the detected kind, else what it has now. */
  chosen(): string {
    return this.override || detectForgeKind(this.repoUrl) || this.projectKind || this.appKind
  }

  /** Stores the chosen kind on the saved project when it differs from what the project has. */
  async apply(projectId: number): Promise<void> {
    const kind = this.chosen()
    if (kind === (this.projectKind ?? this.appKind) || denied('admin', 'change project settings')) return
    await api.put(`/api/projects/${projectId}/settings`, { values: { FORGE_KIND: kind === this.appKind ? null : kind } })
    this.projectKind = kind === this.appKind ? null : kind
  }

  override render() {
    const detected = detectForgeKind(this.repoUrl)
    const refused = denied('admin', 'change a project\'s forge')
    return html`<label class="field"><span class="label-row">Forge</span>
      <select class="input" name="forge_kind" ?disabled=${!!refused} title=${refused ?? nothing} .value=${this.override}
        @change=${(e: Event) => (this.override = (e.target as HTMLSelectElement).value)}>
        <option value="">${detected ? `Detected: ${detected}` : `As now: ${this.projectKind ?? this.appKind}`}</option>
        ${this.choices.map((kind) => html`<option value=${kind}>${kind}</option>`)}
      </select></label>`
  }
}
customElements.define('ta-project-forge-kind', ProjectForgeKind)
