/**
 * `<ta-project-forge-kind>`: the Forge field of the project form. The kind is detected from the
 * repository URL (project-settings-detect.ts: github.com; gitlab.com, hosts named gitlab or a `/-/`
 * path; codeberg.org and hosts named gitea or forgejo; any other host keeps what the project has),
 * and, for what the URL does not say, by asking its host whether it runs Gitea or Forgejo
 * (`POST /api/checks/forge-kind`, admins); a select overrides it, always offered and said so when
 * nothing was detected. After the project is saved,
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
    probed: { state: true },
  }
  declare repoUrl: string
  declare projectId: number | null
  /** '' = use the detected kind. */
  declare override: string
  declare appKind: string
  /** The project's own FORGE_KIND, when it sets one. */
  declare projectKind: string | null
  declare choices: string[]
  /** What the host of `url` said it runs (null: not Gitea or Forgejo, or not asked). */
  declare probed: { url: string; kind: string | null } | null
  private probeTimer: ReturnType<typeof setTimeout> | undefined

  static override styles = [shared]

  constructor() {
    super()
    this.repoUrl = ''
    this.projectId = null
    this.override = ''
    this.appKind = 'github'
    this.projectKind = null
    this.choices = []
    this.probed = null
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('projectId')) void this.load().catch(() => {})
    if (changed.has('repoUrl')) this.scheduleProbe()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    clearTimeout(this.probeTimer)
  }

  /** Asks the URL's host (once typing pauses) when the URL does not name the forge; admins only, as the route. */
  private scheduleProbe() {
    clearTimeout(this.probeTimer)
    const url = this.repoUrl.trim()
    if (!url || detectForgeKind(url) || this.probed?.url === url || denied('admin', 'ask a forge which it is')) return
    this.probeTimer = setTimeout(async () => {
      try {
        const answer = await api.post<{ kind: string | null }>('/api/checks/forge-kind', { repo_url: url })
        this.probed = { url, kind: answer.kind }
      } catch {
        this.probed = { url, kind: null }
      }
    }, 600)
  }

  /** The kind the URL's host said it runs, for the URL as it is now. */
  private probedKind(): string | null {
    return this.probed?.url === this.repoUrl.trim() ? this.probed.kind : null
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
    return this.override || detectForgeKind(this.repoUrl) || this.probedKind() || this.projectKind || this.appKind
  }

  /** Stores the chosen kind on the saved project when it differs from what the project has. */
  async apply(projectId: number): Promise<void> {
    const kind = this.chosen()
    if (kind === (this.projectKind ?? this.appKind) || denied('admin', 'change project settings')) return
    await api.put(`/api/projects/${projectId}/settings`, { values: { FORGE_KIND: kind === this.appKind ? null : kind } })
    this.projectKind = kind === this.appKind ? null : kind
  }

  override render() {
    const fromUrl = detectForgeKind(this.repoUrl)
    const detected = fromUrl ?? this.probedKind()
    const refused = denied('admin', 'change a project\'s forge')
    return html`<label class="field"><span class="label-row">Forge</span>
      <select class="input" name="forge_kind" ?disabled=${!!refused} title=${refused ?? nothing} .value=${this.override}
        @change=${(e: Event) => (this.override = (e.target as HTMLSelectElement).value)}>
        <option value="">${detected ? `Detected: ${detected}${fromUrl ? '' : ' (asked the host)'}` : `As now: ${this.projectKind ?? this.appKind}`}</option>
        ${this.choices.map((kind) => html`<option value=${kind}>${kind}</option>`)}
      </select>
      ${this.repoUrl.trim() && !detected && !this.override ? html`<span class="hint" data-forge-hint>The URL does not say which forge this is: pick it here if it is not ${this.projectKind ?? this.appKind} (Gitea and Forgejo are gitea).</span>` : nothing}</label>`
  }
}
customElements.define('ta-project-forge-kind', ProjectForgeKind)
