/**
 * What a project save checks beyond the shape of its fields (projects.ts): the repository exists
 * and the token reaches it (forge.ts), and a local path is not another project's. Problems that do
 * not make the save wrong come back as warnings the API returns with the project. The path itself
 * is checked on the coordinator's host, asked in the save's transaction (../path-checks.ts).
 */
import type { AppContext } from '../../context.ts'
import { checkRepository } from './forge.ts'
import { projectsSharingPath } from './shared-path.ts'

/**
 * Warnings for a project's new field values (`fields` as normalized by projects.ts); throws the
 * 400 of `checkRepository` for a repository the token cannot find. Runs outside any transaction.
 */
export async function checkProjectSetup(ctx: AppContext, fields: Record<string, unknown>, field: 'repo_url' | 'github_url', projectId?: number): Promise<string[]> {
  const warnings: string[] = []
  if (typeof fields.repo_url === 'string') warnings.push(...(await checkRepository(ctx, fields.repo_url, field, projectId)))
  if (typeof fields.project_path === 'string') {
    const sharing = await projectsSharingPath(ctx.sql, fields.project_path, projectId ?? null)
    if (sharing.length) {
      warnings.push(`${sharing.map((other) => other.name).join(', ')} already use${sharing.length === 1 ? 's' : ''} this path: runs are refused while two projects share one checkout.`)
    }
    warnings.push('The path is checked where it lives: now by a coordinator serving the project when one is online (GET /api/projects/:id/path-check), and by the coordinator before each run: it must exist and be a git checkout whose origin is the repository URL.')
  }
  return warnings
}
