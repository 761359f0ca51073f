/**
 * The projects that take issues: a repository on a forge whose plugin has `issues`, a token, and
 * INTAKE_LABEL or INTAKE_START_LABEL set (the project's own, else the app's). Each comes with its
 * forge client (forge-actions.ts `projectForge`: the token, REPO_ALLOWLIST) and the writer check.
 */
import type { AppContext } from '../../context.ts'
import type { ForgeIssues } from '../../forge.ts'
import { projectForge, type ProjectForge } from '../forge-actions.ts'
import { getProject } from '../projects.ts'
import { resolveProjectSettings } from '../project-settings-resolve.ts'
import { hasWriteAccess } from '../review/forge.ts'
import type { IntakeLabels } from './decide.ts'

export interface IntakeTarget {
  projectId: number
  forge: ProjectForge
  issues: ForgeIssues
  labels: IntakeLabels
  /** True when `login` may push to the repository (cached briefly, as for review comments). */
  canWrite(login: string): Promise<boolean>
}

/** The project's intake labels; both null: intake is off. */
export async function intakeLabels(ctx: AppContext, projectId: number): Promise<IntakeLabels> {
  const { values } = await resolveProjectSettings(ctx, projectId)
  return { label: values.INTAKE_LABEL?.trim() || null, startLabel: values.INTAKE_START_LABEL?.trim() || null }
}

/** The project as an intake target, or null when its intake is off (or its forge has no issues). */
export async function intakeTarget(ctx: AppContext, projectId: number): Promise<IntakeTarget | null> {
  const labels = await intakeLabels(ctx, projectId)
  if (!labels.label && !labels.startLabel) return null
  const forge = await projectForge(ctx, await getProject(ctx.sql, projectId))
  const issues = forge.client.issues
  if (!issues) return null
  const access = { settings: { forge: forge.forge, kind: forge.kind, token: forge.token, apiUrl: forge.apiUrl, pollIntervalSec: 60, allowedAuthors: new Set<string>() }, client: forge.client }
  return { projectId, forge, issues, labels, canWrite: (login) => hasWriteAccess(access, forge.repo, login) }
}

/** Ids of the projects with a repository and intake labels set (at the project or the app level). */
export async function intakeProjectIds(ctx: AppContext): Promise<number[]> {
  const rows = await ctx.sql<{ id: number }[]>`select id from projects where repo_url is not null order by id`
  const ids: number[] = []
  for (const { id } of rows) {
    const labels = await intakeLabels(ctx, id)
    if (labels.label || labels.startLabel) ids.push(id)
  }
  return ids
}
