/** `<ta-projects-page>`: every project as a card; create, edit and delete (typed confirmation). */
import { LitElement, css, html, nothing } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import { api, errorText } from './api.ts'
import { confirmDialog } from './confirm-dialog.ts'
import { shortRepo, timeAgo } from './format.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { navigate } from './router.ts'
import { cssProps } from './css-props.ts'
import { denied } from './session.ts'
import { shared } from './styles.ts'
import { notify, notifyError } from './toast-host.ts'
import type { Job, Project } from './types.ts'
import { lazy, loadWhen } from './lazy.ts'

export class ProjectsPage extends LitElement {
  static override properties = {
    projects: { state: true },
    error: { state: true },
    editing: { state: true },
    formOpen: { state: true },
    activity: { state: true },
  }
  declare projects: Project[] | null
  declare error: string
  declare editing: Project | null
  declare formOpen: boolean
  /** Running and queued jobs per project. */
  declare activity: Map<number, { running: number; pending: number }>
  private live = new LiveController(this, { project: () => null, onEvent: (type) => (type.startsWith('project.') || type === 'job.updated') && this.schedule(), load: () => this.load() })

  static override styles = [shared, css`
    :host { display: block; max-width: 1180px; margin: 0 auto; padding: 32px 28px 64px; }
    .head { display: flex; align-items: flex-end; gap: 16px; margin-bottom: 24px; }
    .head h1 { font-size: 24px; }
    .head p { color: var(--text-2); margin-top: 4px; }
    .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 16px; }
    .project {
      position: relative; display: flex; flex-direction: column; gap: 10px; min-height: 168px; padding: 18px;
      background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-lg); box-shadow: var(--shadow-1);
      transition: border-color .15s, box-shadow .15s, transform .15s;
    }
    .project:hover, .project:focus-within { border-color: var(--border-strong); box-shadow: var(--shadow-2); }
    .project h2 { font-size: 16px; padding-right: 64px; }
    .project h2 a { color: var(--text); }
    .project h2 a::after { content: ''; position: absolute; inset: 0; border-radius: inherit; }
    .project h2 a:focus-visible { outline: none; }
    .project:has(h2 a:focus-visible) { box-shadow: var(--focus); }
    .desc { color: var(--text-2); display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; min-height: 20px; }
    .meta { margin-top: auto; display: flex; align-items: center; gap: 8px; color: var(--text-3); font-size: 12.5px; flex-wrap: wrap; }
    .repo { display: inline-flex; align-items: center; gap: 5px; font-family: var(--mono); font-size: 12px; color: var(--text-2); min-width: 0; max-width: 100%; }
    .repo span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .repo svg { width: 14px; height: 14px; flex: none; }
    .warn { color: var(--warning); }
    .actions { position: absolute; top: 12px; right: 12px; display: flex; gap: 2px; z-index: 1; opacity: .0; transition: opacity .12s; }
    .project:hover .actions, .project:focus-within .actions { opacity: 1; }
    .logo {
      width: 36px; height: 36px; border-radius: 9px; display: grid; place-items: center; font-weight: 700; font-size: 15px;
      color: #fff; flex: none;
    }
    .title { display: flex; align-items: center; gap: 12px; }
    .skeleton { height: 168px; }
    .empty { background: var(--surface); border: 1px dashed var(--border-strong); border-radius: var(--radius-lg); padding: 64px 24px; }
    .empty p { max-width: 420px; }
  `]

  constructor() {
    super()
    this.projects = null
    this.error = ''
    this.editing = null
    this.formOpen = false
    this.activity = new Map()
  }

  private timer = 0
  private schedule() {
    clearTimeout(this.timer)
    this.timer = window.setTimeout(() => void this.load(), 250)
  }

  async load() {
    try {
      const [projects, running, pending] = await Promise.all([
        api.get<Project[]>('/api/projects'),
        api.get<Job[]>('/api/jobs?status=running&limit=500'),
        api.get<Job[]>('/api/jobs?status=pending&limit=500'),
      ])
      const activity = new Map<number, { running: number; pending: number }>()
      for (const job of [...running, ...pending]) {
        const entry = activity.get(job.project_id) ?? { running: 0, pending: 0 }
        if (job.status === 'running') entry.running++
        else entry.pending++
        activity.set(job.project_id, entry)
      }
      this.projects = projects
      this.activity = activity
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  private openForm(project: Project | null) {
    this.editing = project
    this.formOpen = true
  }

  private async onSaved(event: CustomEvent<Project & { warnings?: string[] }>) {
    const created = !this.editing
    const warnings = event.detail.warnings ?? []
    notify(`${created ? 'Created' : 'Saved'} ${event.detail.name}${warnings.length ? `. ${warnings.join(' ')}` : ''}`, warnings.length ? 'info' : 'success')
    await this.load()
    if (created) void navigate(`/projects/${event.detail.id}`)
  }

  private async removeProject(project: Project) {
    const ok = await confirmDialog({
      title: `Delete ${project.name}?`,
      message: 'Its graph, board, tickets, notes and job history are deleted for good. Open pull requests stay on GitHub.',
      confirm: 'Delete project',
      danger: true,
      typeToConfirm: project.name,
    })
    if (!ok) return
    try {
      await api.del(`/api/projects/${project.id}?confirm=${encodeURIComponent(project.name)}`)
      notify(`Deleted ${project.name}`, 'success')
      await this.load()
    } catch (error) {
      notifyError(error, `Could not delete ${project.name}`)
    }
  }

  private card(project: Project) {
    const hue = (project.id * 67) % 360
    const activity = this.activity.get(project.id)
    return html`
      <article class="project" data-project=${project.id}>
        <div class="title">
          <div class="logo" ${cssProps({ background: `linear-gradient(135deg, hsl(${hue} 70% 58%), hsl(${(hue + 40) % 360} 70% 48%))` })}>${project.name.slice(0, 1).toUpperCase()}</div>
          <h2><a href="/projects/${project.id}">${project.name}</a></h2>
        </div>
        <p class="desc">${project.description || html`<span class="faint">No description</span>`}</p>
        <div class="meta">
          ${project.repo_url
            ? html`<span class="repo" title=${project.repo_url}>${icons.git()}<span>${shortRepo(project.repo_url)}</span></span>`
            : project.execution_mode === 'docker' ? html`<span class="repo warn">${icons.alert()}<span>No repository: agents cannot run</span></span>` : ''}
          ${project.execution_mode === 'local' && project.project_path ? html`<span class="repo" title=${project.project_path}>${icons.folder()}<span>${project.project_path}</span></span>` : ''}
        </div>
        <div class="meta">
          <span class="badge">${project.execution_mode === 'docker' ? 'Docker' : 'Local'}</span>
          ${activity?.running ? html`<span class="badge accent"><span class="spinner xsmall"></span>${activity.running} running</span>` : ''}
          ${activity?.pending ? html`<span class="badge warning">${activity.pending} queued</span>` : ''}
          <span>Updated ${timeAgo(project.updated_at)}</span>
        </div>
        <div class="actions">
          <button class="icon-btn" aria-label="Edit ${project.name}" title=${denied('member', 'edit projects') ?? 'Edit'} ?disabled=${!!denied('member', 'edit projects')} @click=${() => this.openForm(project)}>${icons.edit()}</button>
          <button class="icon-btn" aria-label="Delete ${project.name}" title=${denied('admin', 'delete projects') ?? 'Delete'} ?disabled=${!!denied('admin', 'delete projects')} @click=${() => this.removeProject(project)}>${icons.trash()}</button>
        </div>
      </article>`
  }

  private body() {
    if (this.error && !this.projects) {
      return html`<div class="alert error" role="alert">${icons.alert()}<span class="grow">Could not load projects: ${this.error}</span>
        <button class="btn small" @click=${() => this.load()}>Retry</button></div>`
    }
    if (!this.projects) return html`<div class="grid" aria-busy="true">${[0, 1, 2].map(() => html`<div class="skeleton"></div>`)}</div>`
    if (!this.projects.length) {
      return html`<div class="empty">
        ${icons.graph()}
        <h3>Start with a project</h3>
        <p>Agents need an LLM and a GitHub token (Settings). A project is one repository: model its architecture, write tickets, and let agents turn them into pull requests.</p>
        <button class="btn primary" ?disabled=${!!denied('member', 'create projects')} title=${denied('member', 'create projects') ?? nothing} @click=${() => this.openForm(null)}>${icons.plus()} New project</button>
      </div>`
    }
    return html`<div class="grid">${repeat(this.projects, (project) => project.id, (project) => this.card(project))}</div>`
  }

  override render() {
    return html`
      <div class="head">
        <div class="grow">
          <h1>Projects</h1>
          <p>Each project is a repository, its architecture and its board.</p>
        </div>
        ${this.projects?.length ? html`<button class="btn primary" ?disabled=${!!denied('member', 'create projects')} title=${denied('member', 'create projects') ?? nothing} @click=${() => this.openForm(null)}>${icons.plus()} New project</button>` : ''}
      </div>
      ${lazy(import('./setup-checklist.ts'), html`<ta-setup-checklist @new-project=${() => this.openForm(null)}></ta-setup-checklist>`)}
      ${this.body()}
      <ta-project-form .open=${loadWhen(this.formOpen, () => import('./project-form.ts'))} .project=${this.editing} @close=${() => (this.formOpen = false)} @saved=${this.onSaved}></ta-project-form>`
  }
}
customElements.define('ta-projects-page', ProjectsPage)
