/**
 * Setup problems that refuse a run (checked with the job's insert, in its transaction): the errors
 * of the project's settings check (no forge token for the project: every job clones and pushes
 * through the app's git relay, which needs one; a secret withheld by the same-level rule), and a
 * local path another project uses too (two boards would drive one checkout).
 */
import type { AppContext } from '../../context.ts'
import type { TransactionSql } from '../../db/index.ts'
import type { ErrorDetail } from '../../errors.ts'
import type { Project } from '../../types.ts'
import { checkProjectSettings } from '../project-settings.ts'
import { projectsSharingPath } from './shared-path.ts'

/** Appends to `details` what stops `project` from running, unless a detail already names it. */
export async function addRunBlockers(ctx: AppContext, tx: TransactionSql, project: Project, details: ErrorDetail[]): Promise<void> {
  const named = new Set(details.map((detail) => detail.path))
  // Errors of the project's settings check: unreadable secrets, WORKER_* unset, no forge token for
  // the project's forge, a token or key the same-level rule withholds (project-settings.ts).
  for (const problem of (await checkProjectSettings(ctx, project.id, tx)).problems) {
    const path = `/settings/${problem.key}`
    if (problem.severity === 'error' && !named.has(path)) details.push({ path, message: problem.message })
  }
  if (project.execution_mode === 'local' && project.project_path) {
    const sharing = await projectsSharingPath(tx, project.project_path, project.id)
    if (sharing.length) {
      details.push({ path: '/project/project_path', message: `project ${sharing.map((other) => other.name).join(', ')} uses the same local path; give each project its own checkout` })
    }
  }
}
