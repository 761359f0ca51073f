/**
 * "Test" for the forge token (identity, and push permission to a project's repository) and the
 * repository check a project save runs, through the project's forge plugin (`whoami`,
 * `repository`) with the token the app would use (forge-token.ts). Only statuses and the plugin's
 * normalized fields are read: a plugin's errors never carry the forge's answer.
 */
import type { AppContext } from '../../context.ts'
import { badRequest, isAppError } from '../../errors.ts'
import { ForgeError, type ForgeClient } from '../../forge.ts'
import { appForge, forgeAccess, tokenSetting, type ForgeAccess } from '../forge-token.ts'
import { getProject } from '../projects.ts'
import { CHECK_TIMEOUT_MS, hostOf, outcome, unreachable, type CheckOutcome } from './outcome.ts'

/** Settings named in hints, by the forge kind they are read for. */
const apiSetting = (kind: string) => (kind === 'github' ? 'GITHUB_API_URL (or FORGE_API_URL)' : 'FORGE_API_URL')

/** A failed forge call as an outcome (never its body: ForgeError carries none). */
function failure(access: ForgeAccess, what: string, error: unknown): CheckOutcome {
  if (!(error instanceof ForgeError)) throw error
  const status = error.forgeStatus
  if (status === null) return unreachable(`The ${access.kind} API`, access.apiUrl, error.cause ?? error)
  if (status === 401 || status === 403) return outcome('wrong_key', status, `${access.kind} at ${hostOf(access.apiUrl)} refused the token for ${what} (${status}): check ${tokenSetting(access.kind)}.`)
  if (status === 404 || (status >= 300 && status < 400) || error.code === 'forge_unexpected_answer') {
    const fallback = access.forge.defaultApiUrl ? ` (default ${access.forge.defaultApiUrl})` : ''
    return outcome('wrong_url', status, `${hostOf(access.apiUrl)} does not answer like the ${access.kind} API (${status} for ${what}): ${apiSetting(access.kind)} should be the forge's API base URL${fallback}; see docs/forges.md.`)
  }
  return outcome('rejected', status, `${access.kind} answered ${status} for ${what}.`)
}

/** The push permission of the token on `repo`, as an outcome; null when it may push. */
async function repositoryAccess(access: ForgeAccess, client: ForgeClient, repo: string): Promise<CheckOutcome | null> {
  let found: Awaited<ReturnType<ForgeClient['repository']>>
  try {
    found = await client.repository(repo)
  } catch (error) {
    return failure(access, repo, error)
  }
  if (!found) return outcome('not_found', 404, `repository ${repo} not found or no access with this token.`)
  if (!found.canPush) {
    return outcome('no_push', 200, `the token can read ${repo} but cannot push to it: agents could not push their branch. Give the token write access (see docs/forges.md for the scopes of ${access.kind}).`)
  }
  return null
}

/** Tests the forge token: who it is, its scopes when the forge says them, and push to the project's repository. */
export async function testForge(ctx: AppContext, projectId?: number): Promise<CheckOutcome> {
  let access: ForgeAccess
  let repo: string | null = null
  try {
    if (projectId !== undefined) {
      const project = await getProject(ctx.sql, projectId)
      access = await forgeAccess(ctx, project)
      repo = project.repo_url ? access.forge.parseRepo(project.repo_url, access.apiUrl) : null
      if (!repo) return outcome('not_configured', null, `project ${project.name} has no repository URL naming a repository on the forge.`)
    } else {
      access = await appForge(ctx)
    }
  } catch (error) {
    if (isAppError(error) && error.status === 403) return outcome('rejected', null, error.message)
    if (isAppError(error) && error.status === 422) return outcome('not_configured', null, error.message)
    throw error
  }
  if (!access.token) return outcome('not_configured', null, `${tokenSetting(access.kind)} is not set (and no coordinator serving this project handed one): agents cannot clone, push or open pull requests.`)
  const client = access.forge.connect({ apiUrl: access.apiUrl, token: access.token, timeoutMs: CHECK_TIMEOUT_MS })
  let who: { login: string; scopes?: string | null }
  try {
    who = await client.whoami()
  } catch (error) {
    return failure(access, 'the token\'s user', error)
  }
  const scopes = who.scopes === undefined || who.scopes === null ? '' : who.scopes ? `, scopes ${who.scopes}` : ', no scopes'
  const works = `the token works as ${who.login}${scopes}`
  if (!repo) return outcome('ok', 200, `${works}.`)
  const refused = await repositoryAccess(access, client, repo)
  if (refused) return { ...refused, reason: `${works}, but ${refused.reason}` }
  return outcome('ok', 200, `${works} and can push to ${repo}.`)
}

/**
 * The repository check of a project save: with a token and a repository on the forge's host, the
 * repository must exist and be visible to the token (400 naming the field otherwise). What the
 * check cannot settle (no token, the forge unreachable, no push) comes back as warnings.
 */
export async function checkRepository(ctx: AppContext, repoUrl: string, field: 'repo_url' | 'github_url', projectId?: number): Promise<string[]> {
  const access = projectId !== undefined ? await forgeAccess(ctx, { id: projectId, repo_url: repoUrl }) : await appForge(ctx)
  const repo = access.forge.parseRepo(repoUrl, access.apiUrl)
  if (!repo) return []
  if (!access.token) return [`No forge token is set (${tokenSetting(access.kind)}): the repository was not checked, and runs are refused until one is set.`]
  let host: string
  try {
    host = new URL(repoUrl).hostname.toLowerCase()
  } catch {
    host = /@([^:]+):/.exec(repoUrl)?.[1]?.toLowerCase() ?? ''
  }
  // Another host gets no token from the app (git-relay.ts): there is nothing to check it with.
  if (host !== access.forge.gitHost(access.apiUrl).toLowerCase()) return []
  const client = access.forge.connect({ apiUrl: access.apiUrl, token: access.token, timeoutMs: CHECK_TIMEOUT_MS })
  const refused = await repositoryAccess(access, client, repo)
  if (refused?.kind === 'not_found') throw badRequest(`${field}: repository ${repo} not found or no access with the forge token`, [{ path: `/body/${field}`, message: 'not found or no access' }])
  return refused ? [refused.reason.replace(/^./, (first) => first.toUpperCase())] : []
}
