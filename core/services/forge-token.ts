/**
 * The one place that answers "this project's forge, connection and repository path": the forge
 * plugin (FORGE_KIND among the registered kinds, default `github`), its API URL (FORGE_API_URL, else
 * GITHUB_API_URL for GitHub, else the plugin's default) and the token (FORGE_TOKEN, else for GitHub
 * GITHUB_TOKEN, else the token a coordinator serving the project handed over: coordinator-forge-
 * token.ts). The forge actions, the git relay, the review side and the setup checks all ask here,
 * so REPO_ALLOWLIST is enforced here too: no token is handed out for a repository it does not list
 * (a project made before the list was set included). A project's own settings come first
 * (project-settings-resolve.ts, with its same-level rule for secrets).
 */
import type { AppContext } from '../context.ts'
import { unprocessable } from '../errors.ts'
import type { Forge } from '../forge.ts'
import { coordinatorForgeToken } from './coordinator-forge-token.ts'
import { resolveSettings } from './settings.ts'
import { resolveProjectSettings } from './project-settings-resolve.ts'
import { assertForgeRepoAllowed } from './repo-allowlist.ts'

type ProjectRepo = { id: number; repo_url: string | null }

/** A forge as configured: its plugin, API URL and token (null: none set). */
export interface ForgeAccess {
  forge: Forge
  kind: string
  apiUrl: string
  token: string | null
}

/** GitHub reads its historical setting names when the FORGE_ ones are unset. */
const aliasOf = (kind: string, key: 'TOKEN' | 'API_URL' | 'WEBHOOK_SECRET') => (kind === 'github' ? `GITHUB_${key}` : null)

/** The webhook secret `settings` (one level's values: alias groups come whole) hold for `kind`, or null. */
export function webhookSecretOf(kind: string, settings: Record<string, string>): string | null {
  const alias = aliasOf(kind, 'WEBHOOK_SECRET')
  return settings.FORGE_WEBHOOK_SECRET || (alias ? settings[alias] : undefined) || null
}

/** The setting that names the token of `kind` in messages and error details. */
export const tokenSetting = (kind: string) => aliasOf(kind, 'TOKEN') ?? 'FORGE_TOKEN'

/** The registered plugin of `kind`, or a 422 naming FORGE_KIND. */
export function forgeOfKind(ctx: AppContext, kind: string): Forge {
  const forge = ctx.forges.get(kind)
  if (!forge) {
    const known = [...ctx.forges.keys()].join(', ') || 'none'
    throw unprocessable(`FORGE_KIND ${kind} is not a forge this app has (registered: ${known})`, [{ path: '/settings/FORGE_KIND', message: 'unknown forge kind' }])
  }
  return forge
}

/** The forge that `settings` (an app's or a project's effective values) name: plugin, API URL and token. */
export function forgeFrom(ctx: AppContext, settings: Record<string, string>): ForgeAccess {
  const kind = settings.FORGE_KIND || 'github'
  const forge = forgeOfKind(ctx, kind)
  const alias = (key: 'TOKEN' | 'API_URL') => {
    const name = aliasOf(kind, key)
    return name ? settings[name] : undefined
  }
  const apiUrl = settings.FORGE_API_URL || alias('API_URL') || forge.defaultApiUrl
  if (!apiUrl) throw unprocessable(`FORGE_API_URL is not set: a ${kind} forge has no default API URL`, [{ path: '/settings/FORGE_API_URL', message: 'not set' }])
  return { forge, kind, apiUrl: apiUrl.replace(/\/+$/, ''), token: settings.FORGE_TOKEN || alias('TOKEN') || null }
}

/** The app-level forge: plugin, API URL and the app's token setting (no coordinator token). */
export async function appForge(ctx: AppContext): Promise<ForgeAccess> {
  return forgeFrom(ctx, await resolveSettings(ctx))
}

/** The forge plugin a project's repository is on (no token, no allowlist: for reading its URLs). */
export async function projectForgePlugin(ctx: AppContext, projectId: number): Promise<Forge> {
  return forgeOfKind(ctx, (await resolveProjectSettings(ctx, projectId)).values.FORGE_KIND || 'github')
}

/**
 * The forge of `project` (a row the caller already read, or its id): its own settings before the
 * app's; a coordinator's token only for GitHub and only when the project did not move its forge
 * (the same-level rule: project-settings-resolve.ts).
 */
export async function forgeAccess(ctx: AppContext, project: number | ProjectRepo): Promise<ForgeAccess> {
  const row = typeof project === 'number'
    ? (await ctx.sql<ProjectRepo[]>`select id, repo_url from projects where id = ${project}`)[0]
    : project
  if (row) await assertForgeRepoAllowed(ctx, row)
  const projectId = typeof project === 'number' ? project : project.id
  const resolved = await resolveProjectSettings(ctx, projectId)
  const access = forgeFrom(ctx, resolved.values)
  // A token a coordinator handed over is a GitHub token (the coordinator's GITHUB_TOKEN) for the app's GitHub.
  const token = access.token || (access.kind === 'github' && !resolved.forgeMoved ? await coordinatorForgeToken(ctx, projectId) : null)
  return { ...access, token: token || null }
}

/** The token and API URL for a project (forgeAccess without the plugin). */
export async function forgeToken(ctx: AppContext, project: number | ProjectRepo): Promise<{ token: string | null; apiUrl: string }> {
  const { token, apiUrl } = await forgeAccess(ctx, project)
  return { token, apiUrl }
}
