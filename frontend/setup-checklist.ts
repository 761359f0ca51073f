/**
 * `<ta-setup-checklist>`: the first-run checklist (`GET /api/setup/checklist`): settings → project →
 * graph → ticket → pull request, each done or with the way to do it, until the first pull request
 * exists. "New project" asks the page for its form (`new-project` event).
 */
import { LitElement, css, html, nothing } from 'lit'
import { api } from './api.ts'
import { icons } from './icons.ts'
import { LiveController } from './live-controller.ts'
import { shared } from './styles.ts'
import type { Checklist, ChecklistStep } from '../core/services/setup-checks/checklist.ts'

type Step = ChecklistStep

const STEPS: Record<Step['key'], { title: string; about: string; action: string }> = {
  settings: { title: 'Settings', about: 'The coding-agent CLI, its LLM URL, key and model, and a GitHub token. Test each with its Test button.', action: 'Open settings' },
  project: { title: 'A project', about: 'One repository the agents clone and open pull requests on.', action: 'Create a project' },
  graph: { title: 'Its architecture graph', about: 'The services, databases and queues, and how they talk: every run gets it as context.', action: 'Draw the graph' },
  ticket: { title: 'A ticket', about: 'What to change, in words. New tickets link the whole graph.', action: 'Write a ticket' },
  pull_request: { title: 'The first pull request', about: 'Run the ticket: an agent works on a branch and opens a pull request.', action: 'Open the board' },
}

export class SetupChecklist extends LitElement {
  static override properties = { checklist: { state: true } }
  declare checklist: Checklist | null
  private timer = 0
  private live = new LiveController(this, {
    project: () => null,
    onEvent: (type) => type !== 'log' && this.schedule(),
    load: () => this.load(),
  })

  static override styles = [shared, css`
    :host { display: block; }
    :host([hidden]) { display: none; }
    section { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-lg); padding: 18px 20px; margin-bottom: 20px; }
    h2 { font-size: 16px; }
    ol { list-style: none; margin: 12px 0 0; padding: 0; display: grid; gap: 10px; }
    li { display: grid; grid-template-columns: 24px minmax(0, 1fr) auto; gap: 10px; align-items: center; }
    .mark { width: 22px; height: 22px; border-radius: 50%; display: grid; place-items: center; font-size: 12px; font-weight: 600; border: 1px solid var(--border-strong); color: var(--text-2); }
    .mark svg { width: 14px; height: 14px; }
    li[data-done] .mark { background: var(--success-soft); color: var(--success); border-color: transparent; }
    li[data-done] b { color: var(--text-2); text-decoration: line-through; }
    .about { font-size: 12.5px; color: var(--text-2); }
  `]

  constructor() {
    super()
    this.checklist = null
  }

  private schedule() {
    clearTimeout(this.timer)
    this.timer = window.setTimeout(() => void this.load(), 300)
  }

  async load() {
    try {
      this.checklist = await api.get<Checklist>('/api/setup/checklist')
    } catch {
      // A checklist that cannot load is left out: the page works without it.
      this.checklist = null
    }
  }

  private action(step: Step, next: boolean) {
    const spec = STEPS[step.key]
    const look = next ? 'btn small primary' : 'btn small'
    if (step.key === 'settings') return html`<a class=${look} href="/settings">${spec.action}</a>`
    if (step.key === 'project') return html`<button class=${look} type="button" @click=${() => this.dispatchEvent(new CustomEvent('new-project', { bubbles: true, composed: true }))}>${spec.action}</button>`
    if (step.project_id === undefined) return nothing
    const href = step.key === 'graph' ? `/projects/${step.project_id}/graph` : `/projects/${step.project_id}`
    return html`<a class=${look} href=${href}>${spec.action}</a>`
  }

  override render() {
    const checklist = this.checklist
    this.hidden = !checklist || checklist.complete
    if (!checklist || checklist.complete) return nothing
    const next = checklist.steps.find((step) => !step.done)
    return html`<section aria-labelledby="checklist-title">
      <h2 id="checklist-title">Get started</h2>
      <p class="about">From an empty app to an agent's first pull request; this list goes away once there is one.</p>
      <ol>${checklist.steps.map((step, index) => html`<li data-step=${step.key} ?data-done=${step.done}>
        <span class="mark" aria-hidden="true">${step.done ? icons.check() : index + 1}</span>
        <div><b>${STEPS[step.key].title}</b>${step.done ? html`<span class="faint"> · done</span>` : nothing}
          <div class="about">${step.key === 'settings' && step.detail ? `Missing: ${step.detail}. ` : ''}${STEPS[step.key].about}</div></div>
        ${step.done ? nothing : this.action(step, step === next)}
      </li>`)}</ol>
    </section>`
  }
}
customElements.define('ta-setup-checklist', SetupChecklist)
