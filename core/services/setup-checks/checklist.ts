/**
 * The first-run checklist the projects page shows until the first pull request exists: settings →
 * project → graph → ticket → pull request, each step done or not, computed from the database.
 */
import type { AppContext } from '../../context.ts'
import { checkSettings } from '../settings.ts'

export interface ChecklistStep {
  key: 'settings' | 'project' | 'graph' | 'ticket' | 'pull_request'
  done: boolean
  /** Why a step is not done yet, when the app can say more than its title. */
  detail?: string
  /** The project the next steps happen in (the first one), when there is one. */
  project_id?: number
}

export interface Checklist {
  /** True once a pull request exists: the page stops showing the checklist. */
  complete: boolean
  steps: ChecklistStep[]
}

export async function setupChecklist(ctx: AppContext): Promise<Checklist> {
  const [check, [counts]] = await Promise.all([
    checkSettings(ctx),
    ctx.sql`select
      (select min(id) from projects) as first_project,
      exists (select 1 from graphs where jsonb_array_length(nodes) > 0) as graph,
      exists (select 1 from tickets) as ticket,
      exists (select 1 from prs) or exists (select 1 from tickets where pr_url is not null) as pull_request`,
  ])
  const errors = check.problems.filter((problem) => problem.severity === 'error')
  const projectId = counts!.first_project === null ? undefined : Number(counts!.first_project)
  const at = projectId === undefined ? {} : { project_id: projectId }
  const steps: ChecklistStep[] = [
    { key: 'settings', done: errors.length === 0, ...(errors.length ? { detail: errors.map((problem) => problem.key).join(', ') } : {}) },
    { key: 'project', done: projectId !== undefined, ...at },
    { key: 'graph', done: Boolean(counts!.graph), ...at },
    { key: 'ticket', done: Boolean(counts!.ticket), ...at },
    { key: 'pull_request', done: Boolean(counts!.pull_request), ...at },
  ]
  return { complete: Boolean(counts!.pull_request), steps }
}
