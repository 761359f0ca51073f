/** `<ta-project-home>`: a project's header and tabs (Board, Graph, Notes, Jobs, Review, Project settings). */
import { LitElement, css, html, nothing } from 'lit'
import { api, errorText } from './api.ts'
import { shortRepo } from './format.ts'
import { icons } from './icons.ts'
import { lazy, loadWhen } from './lazy.ts'
import { LiveController } from './live-controller.ts'
import { navigate, replaceQuietly, type ProjectTab } from './router.ts'
import { refreshSettingsCheck } from './settings-check.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import { notify } from './toast-host.ts'
import type { Project } from './types.ts'
import './board-view.ts'

const TABS: { id: ProjectTab; label: string; icon: () => unknown }[] = [
  { id: 'board', label: 'Board', icon: icons.board },
  { id: 'graph', label: 'Graph', icon: icons.graph },
  { id: 'notes', label: 'Notes', icon: icons.notes },
  { id: 'jobs', label: 'Jobs', icon: icons.jobs },
  { id: 'review', label: 'Review', icon: icons.review },
  { id: 'settings', label: 'Project settings', icon: icons.settings },
]

export class ProjectHome extends LitElement {
  static override properties = {
    projectId: { type: Number },
    tab: {},
    ticketId: { type: Number },
    project: { state: true },
    error: { state: true },
    editOpen: { state: true },
    editField: { state: true },
  }
  declare projectId: number
  declare tab: ProjectTab
  declare ticketId: number | null
  declare project: Project | null
  declare error: string
  declare editOpen: boolean
  declare editField: string | null
  private live = new LiveController(this, {
    project: () => this.projectId,
    onEvent: (type, data) => this.onEvent(type, data),
    reset: () => { this.project = null; this.error = '' },
    load: () => this.load(),
    loadAtOnce: true,
  })

  static override styles = [shared, css`
    :host { display: flex; flex-direction: column; flex: 1; min-height: 0; }
    .head { flex: none; padding: 16px 24px 0; background: var(--surface); border-bottom: 1px solid var(--border); }
    .crumbs { display: flex; align-items: center; gap: 6px; font-size: 12.5px; color: var(--text-3); margin-bottom: 4px; }
    .crumbs a { color: var(--text-3); }
    .crumbs svg { width: 12px; height: 12px; }
    .title { display: flex; align-items: center; gap: 12px; }
    .title h1 { font-size: 20px; }
    .meta { display: flex; gap: 8px; align-items: center; color: var(--text-2); font-size: 12.5px; margin-top: 4px; flex-wrap: wrap; }
    .meta .repo { font-family: var(--mono); font-size: 12px; display: inline-flex; gap: 5px; align-items: center; }
    .meta svg { width: 14px; height: 14px; }
    .tabs { display: flex; gap: 4px; margin-top: 12px; align-items: flex-end; }
    .tab {
      display: inline-flex; align-items: center; gap: 7px; padding: 8px 12px 10px; color: var(--text-2); font-weight: 500;
      border-bottom: 2px solid transparent; margin-bottom: -1px; border-radius: 6px 6px 0 0;
    }
    .tab svg { width: 16px; height: 16px; }
    .tab:hover { color: var(--text); text-decoration: none; background: var(--surface-2); }
    .tab[aria-current='page'] { color: var(--text); border-bottom-color: var(--accent); }
    .tabs .settings { margin-left: auto; }
    .content { flex: 1; min-height: 0; display: flex; flex-direction: column; }
    .content > * { flex: 1; min-height: 0; }
    .state { padding: 48px; }
    .loading { display: flex; gap: 10px; align-items: center; color: var(--text-3); padding: 32px 24px; }
  `]

  constructor() {
    super()
    this.ticketId = null
    this.project = null
    this.error = ''
    this.editOpen = false
    this.editField = null
  }

  private onEvent(type: string, data: any) {
    if (type === 'project.updated' && data.project?.id === this.projectId) this.project = data.project
    if (type === 'project.deleted' && data.project_id === this.projectId) {
      notify(`${this.project?.name ?? 'This project'} was deleted`, 'info')
      void navigate('/', { replace: true })
    }
    if (type === 'settings.updated') void refreshSettingsCheck()
  }

  async load() {
    try {
      this.project = await api.get<Project>(`/api/projects/${this.projectId}`)
    } catch (error) {
      this.error = errorText(error)
    }
    this.openLinkedEdit()
  }

  /** A failure reason's fix links to `/projects/:id?edit=<field>`: the Edit form opens on that field. */
  private openLinkedEdit() {
    const field = new URLSearchParams(location.search).get('edit')
    if (!field || !this.project || denied('member', 'edit projects')) return
    this.editField = field
    this.editOpen = true
    replaceQuietly(location.pathname, false)
  }

  private content(project: Project) {
    switch (this.tab) {
      case 'graph':
        return lazy(import('./graph-editor.ts'), html`<ta-graph-editor .project=${project}></ta-graph-editor>`)
      case 'notes':
        return lazy(import('./notes-panel.ts'), html`<ta-notes-panel .project=${project}></ta-notes-panel>`)
      case 'jobs':
        return lazy(import('./jobs-view.ts'), html`<ta-jobs-view .project=${project}></ta-jobs-view>`)
      case 'review':
        return lazy(import('./review-list.ts'), html`<ta-review-list .project=${project}></ta-review-list>`)
      case 'settings':
        return lazy(import('./project-settings-page.ts'), html`<ta-project-settings .project=${project}></ta-project-settings>`)
      default:
        return html`<ta-board .project=${project} .ticketId=${this.ticketId}></ta-board>`
    }
  }

  override render() {
    if (this.error) {
      return html`<div class="state"><div class="alert error" role="alert">${icons.alert()}<span class="grow">${this.error}</span>
        <a class="btn small" href="/">All projects</a></div></div>`
    }
    const project = this.project
    if (!project) return html`<div class="loading"><span class="spinner"></span> Loading project…</div>`
    return html`
      <div class="head">
        <div class="crumbs"><a href="/">Projects</a>${icons.chevronRight()}<span>${project.name}</span></div>
        <div class="title">
          <h1>${project.name}</h1>
          <span class="badge">${project.execution_mode === 'docker' ? 'Docker' : 'Local'}</span>
          <span class="grow"></span>
          <button class="btn small" ?disabled=${!!denied('member', 'edit projects')} title=${denied('member', 'edit projects') ?? nothing} @click=${() => (this.editOpen = true)}>${icons.edit()} Edit project</button>
        </div>
        <div class="meta">
          ${project.repo_url ? html`<span class="repo" title=${project.repo_url}>${icons.git()} ${shortRepo(project.repo_url)}</span>` : html`<span class="faint">No repository</span>`}
          ${project.default_branch ? html`<span>· ${project.default_branch}</span>` : ''}
          ${project.execution_mode === 'local' && project.project_path ? html`<span class="repo">· ${project.project_path}</span>` : ''}
        </div>
        <nav class="tabs" aria-label="Project">
          ${TABS.map((tab) => html`<a class="tab" href="/projects/${project.id}/${tab.id}" aria-current=${this.tab === tab.id ? 'page' : 'false'}>${tab.icon()} ${tab.label}</a>`)}
          <a class="tab settings" href="/settings">${icons.settings()} App settings</a>
        </nav>
      </div>
      <div class="content">${this.content(project)}</div>
      <ta-project-form .open=${loadWhen(this.editOpen, () => import('./project-form.ts'))} .project=${project} .focusField=${this.editField} @close=${() => { this.editOpen = false; this.editField = null }}
        @saved=${(event: CustomEvent<Project>) => { this.project = event.detail; notify('Project saved', 'success') }}></ta-project-form>`
  }
}
customElements.define('ta-project-home', ProjectHome)
