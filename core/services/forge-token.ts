/**
 * The forge token for a project, the one place it is chosen: the app setting GITHUB_TOKEN, else the
 * token a coordinator serving the project handed over (coordinator-forge-token.ts). The forge
 * actions, the git relay and the review side (polling, webhooks, the review page) all ask here, so
 * REPO_ALLOWLIST is enforced here too: no token is handed out for a repository it does not list
 * (a project made before the list was set included).
 */
import type { AppContext } from '../context.ts'
import { coordinatorForgeToken } from './coordinator-forge-token.ts'
import { resolveSettings } from './settings.ts'
import { assertForgeRepoAllowed } from './repo-allowlist.ts'

/** `project` as a row the caller already read (id and repo_url), or its id (read here). */
export async function forgeToken(ctx: AppContext, project: number | ProjectRepo): Promise<{ token: string | null; apiUrl: string }> {
  const row = typeof project === 'number'
    ? (await ctx.sql<ProjectRepo[]>`select id, repo_url from projects where id = ${project}`)[0]
    : project
  if (row) await assertForgeRepoAllowed(ctx, row)
  const projectId = typeof project === 'number' ? project : project.id
  const settings = await resolveSettings(ctx)
  const token = settings.GITHUB_TOKEN || (await coordinatorForgeToken(ctx, projectId))
  return { token: token || null, apiUrl: (settings.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '') }
}

type ProjectRepo = { id: number; repo_url: string | null }
