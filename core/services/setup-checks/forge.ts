/**
 * "Test" for the forge token (identity, scopes, push permission to a project's repository) and the
 * repository check a project save runs. Plain `fetch` against GITHUB_API_URL with the token the app
 * would use for the project (forge-token.ts); only statuses and the few fields named here are read.
 */
import type { AppContext } from '../../context.ts'
import { badRequest, isAppError } from '../../errors.ts'
import { parseRepo } from '../../github-client.ts'
import { forgeToken } from '../forge-token.ts'
import { forgeGitHost } from '../git-relay.ts'
import { getProject } from '../projects.ts'
import { resolveSettings } from '../settings.ts'
import { CHECK_TIMEOUT_MS, discard, hostOf, outcome, unreachable, type CheckOutcome } from './outcome.ts'

const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/
const GITHUB_SCOPES = /^[a-z:_, ]{0,200}$/

interface Answer {
  status: number
  data: any
  scopes: string | null
}

async function githubGet(apiUrl: string, token: string, path: string): Promise<Answer> {
  const res = await fetch(`${apiUrl}${path}`, {
    headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${token}`, 'x-github-api-version': '2022-11-28', 'user-agent': 'terarchitect' },
    redirect: 'manual',
    signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
  })
  const scopes = res.headers.get('x-oauth-scopes')
  if (!res.ok) {
    await discard(res)
    return { status: res.status, data: null, scopes }
  }
  const data = await res.json().catch(() => null)
  return { status: res.status, data, scopes }
}

/** The push permission of the token on `repo` (`owner/name`), as an outcome; null when it may push. */
async function repositoryAccess(apiUrl: string, token: string, repo: string): Promise<CheckOutcome | null> {
  let answer: Answer
  try {
    answer = await githubGet(apiUrl, token, `/repos/${repo}`)
  } catch (error) {
    return unreachable('GitHub', apiUrl, error)
  }
  if (answer.status === 404) return outcome('not_found', 404, `repository ${repo} not found or no access with this token.`)
  if (answer.status === 401 || answer.status === 403) return outcome('wrong_key', answer.status, `GitHub refused the token for ${repo} (${answer.status}): check GITHUB_TOKEN.`)
  if (answer.status !== 200) return outcome('rejected', answer.status, `GitHub answered ${answer.status} for ${repo}.`)
  if (answer.data?.permissions?.push !== true) {
    return outcome('no_push', 200, `the token can read ${repo} but cannot push to it: agents could not push their branch. Give the token write access (contents: read and write, pull requests: read and write).`)
  }
  return null
}

/** Tests the forge token: who it is, its scopes when GitHub says them, and push to the project's repository. */
export async function testForge(ctx: AppContext, projectId?: number): Promise<CheckOutcome> {
  let token: string | null
  let apiUrl: string
  let repo: string | null = null
  try {
    if (projectId !== undefined) {
      const project = await getProject(ctx.sql, projectId)
      ;({ token, apiUrl } = await forgeToken(ctx, project))
      repo = parseRepo(null, project.repo_url)
      if (!repo) return outcome('not_configured', null, `project ${project.name} has no repository URL naming owner/name.`)
    } else {
      const settings = await resolveSettings(ctx)
      token = settings.GITHUB_TOKEN ?? null
      apiUrl = (settings.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '')
    }
  } catch (error) {
    if (isAppError(error) && error.status === 403) return outcome('rejected', null, error.message)
    throw error
  }
  if (!token) return outcome('not_configured', null, 'GITHUB_TOKEN is not set (and no coordinator serving this project handed one): agents cannot clone, push or open pull requests.')
  let user: Answer
  try {
    user = await githubGet(apiUrl, token, '/user')
  } catch (error) {
    return unreachable('GitHub', apiUrl, error)
  }
  if (user.status === 401 || user.status === 403) return outcome('wrong_key', user.status, `GitHub at ${hostOf(apiUrl)} refused the token (${user.status}): check GITHUB_TOKEN.`)
  // Only a login shaped like GitHub's is repeated (and scopes like GitHub's): an API URL pointed at
  // another service must not get its answer read back through this check.
  if (user.status === 404 || (user.status >= 300 && user.status < 400) || (user.status === 200 && !GITHUB_LOGIN.test(String(user.data?.login)))) {
    return outcome('wrong_url', user.status, `${hostOf(apiUrl)} does not answer like the GitHub API (${user.status} for /user): GITHUB_API_URL should be https://api.github.com or, on GitHub Enterprise, https://host/api/v3.`)
  }
  if (user.status !== 200) return outcome('rejected', user.status, `GitHub answered ${user.status} for /user.`)
  const login = String(user.data.login)
  const scopes = user.scopes === null || !GITHUB_SCOPES.test(user.scopes) ? '' : user.scopes.trim() ? `, scopes ${user.scopes.trim()}` : ', no scopes'
  const who = `the token works as ${login}${scopes}`
  if (!repo) return outcome('ok', 200, `${who}.`)
  const access = await repositoryAccess(apiUrl, token, repo)
  if (access) return { ...access, reason: `${who}, but ${access.reason}` }
  return outcome('ok', 200, `${who} and can push to ${repo}.`)
}

/**
 * The repository check of a project save: with a token and a repository on the forge's host, the
 * repository must exist and be visible to the token (400 naming the field otherwise). What the
 * check cannot settle (no token, GitHub unreachable, no push) comes back as warnings.
 */
export async function checkRepository(ctx: AppContext, repoUrl: string, field: 'repo_url' | 'github_url', projectId?: number): Promise<string[]> {
  const repo = parseRepo(null, repoUrl)
  if (!repo) return []
  const { token, apiUrl } = projectId !== undefined
    ? await forgeToken(ctx, { id: projectId, repo_url: repoUrl })
    : await settingsToken(ctx)
  if (!token) return ['No forge token is set (GITHUB_TOKEN): the repository was not checked, and runs are refused until one is set.']
  let host: string
  try {
    host = new URL(repoUrl).hostname.toLowerCase()
  } catch {
    host = /@([^:]+):/.exec(repoUrl)?.[1]?.toLowerCase() ?? ''
  }
  // Another host gets no token from the app (git-relay.ts): there is nothing to check it with.
  if (host !== forgeGitHost(apiUrl)) return []
  const access = await repositoryAccess(apiUrl, token, repo)
  if (access?.kind === 'not_found') throw badRequest(`${field}: repository ${repo} not found or no access with the forge token`, [{ path: `/body/${field}`, message: 'not found or no access' }])
  return access ? [access.reason.replace(/^./, (first) => first.toUpperCase())] : []
}

async function settingsToken(ctx: AppContext): Promise<{ token: string | null; apiUrl: string }> {
  const settings = await resolveSettings(ctx)
  return { token: settings.GITHUB_TOKEN ?? null, apiUrl: (settings.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '') }
}
