/**
 * Setup problems that refuse a run (checked with the job's insert, in its transaction): no forge
 * token for the project (every job clones and pushes through the app's git relay, which needs
 * one), and a local path another project uses too (two boards would drive one checkout).
 */
import type { AppContext } from '../../context.ts'
import type { TransactionSql } from '../../db/index.ts'
import type { ErrorDetail } from '../../errors.ts'
import type { Project } from '../../types.ts'
import { settingValue } from '../settings.ts'
import { projectsSharingPath } from './shared-path.ts'

/** Appends to `details` what stops `project` from running, unless a detail already names it. */
export async function addRunBlockers(ctx: AppContext, tx: TransactionSql, project: Project, details: ErrorDetail[]): Promise<void> {
  const named = new Set(details.map((detail) => detail.path))
  // GitHub reads FORGE_TOKEN, else GITHUB_TOKEN, else a coordinator's; another forge FORGE_TOKEN only (forge-token.ts).
  const github = ((await settingValue(ctx, 'FORGE_KIND', tx)) ?? 'github') === 'github'
  const setting = github ? 'GITHUB_TOKEN' : 'FORGE_TOKEN'
  const token = (await settingValue(ctx, 'FORGE_TOKEN', tx)) ?? (github ? await settingValue(ctx, 'GITHUB_TOKEN', tx) : null)
  if (!named.has(`/settings/${setting}`) && !token) {
    const [handed] = github ? await tx`select 1 from forge_tokens where project_ids is null or ${project.id} = any(project_ids) limit 1` : []
    if (!handed) details.push({ path: `/settings/${setting}`, message: `${setting} is not set${github ? ' (and no coordinator serving this project handed one)' : ''}: agents clone and push through the app, which needs a forge token` })
  }
  if (project.execution_mode === 'local' && project.project_path) {
    const sharing = await projectsSharingPath(tx, project.project_path, project.id)
    if (sharing.length) {
      details.push({ path: '/project/project_path', message: `project ${sharing.map((other) => other.name).join(', ')} uses the same local path; give each project its own checkout` })
    }
  }
}
