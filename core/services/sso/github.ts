/**
 * "Sign in with GitHub": GitHub's OAuth app web flow, written over fetch because it is plain
 * OAuth 2 (https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps).
 * The user's access token is used for the two or three reads that say who they are and which
 * organizations they belong to, then dropped: it is never stored or logged.
 */
import { randomBytes } from 'node:crypto'
import type { ExternalIdentity } from '../users.ts'
import { describe, githubWebBase, ssoRefused, type GithubOAuthConfig } from './config.ts'

export interface GithubPending {
  state: string
  /** The web and API bases this sign-in started with: the callback must use the same. */
  web: string
  api: string
}

/** Requests to GitHub give up after this long; sign-in is interactive. */
const TIMEOUT_MS = 10_000
/** Organizations read for the allow rule: 10 pages of 100. */
const MAX_ORG_PAGES = 10

const under = (base: string, path: string) => new URL(path, base.endsWith('/') ? base : `${base}/`)

/** `apiUrl` is the GITHUB_API_URL setting at the time of the sign-in (Enterprise: https://host/api/v3). */
export function createGithubSignIn(settings: GithubOAuthConfig) {
  return {
    start(redirectUri: string, apiUrl: string): { url: URL; pending: GithubPending } {
      const web = (settings.webBase ?? githubWebBase(apiUrl)).href
      const pending = { state: randomBytes(24).toString('base64url'), web, api: apiUrl }
      const url = under(web, 'login/oauth/authorize')
      url.search = new URLSearchParams({
        client_id: settings.clientId,
        redirect_uri: redirectUri,
        // read:org lets /user/orgs list private memberships too.
        scope: settings.allowedOrgs.size ? 'read:user read:org' : 'read:user',
        state: pending.state,
        allow_signup: 'false',
      }).toString()
      return { url, pending }
    },

    /** Exchanges the code, reads the user (and their organizations when a rule needs them), applies the allow rules. */
    async finish(code: string, redirectUri: string, pending: GithubPending): Promise<ExternalIdentity> {
      const token = await exchange(settings, pending.web, code, redirectUri)
      const user = await read(pending.api, 'user', token) as { id?: unknown; login?: unknown; name?: unknown; email?: unknown }
      if (typeof user.id !== 'number' || typeof user.login !== 'string') throw ssoRefused('GitHub did not say who you are')
      const login = user.login
      let allowed = settings.allowedUsers.has(login.toLowerCase())
      if (!allowed && settings.allowedOrgs.size) {
        const orgs = await organizations(pending.api, token)
        allowed = orgs.some((org) => settings.allowedOrgs.has(org))
      }
      if (!allowed) {
        throw ssoRefused(`GitHub user ${login} is not allowed to sign in here: not in GITHUB_OAUTH_ALLOWED_USERS nor a member of GITHUB_OAUTH_ALLOWED_ORGS (an organization may also need to approve this OAuth app)`)
      }
      const host = new URL(pending.web).host
      return {
        // GitHub Enterprise ids are their own number space.
        provider: host === 'github.com' ? 'github' : `github:${host}`,
        subject: String(user.id),
        login,
        displayName: typeof user.name === 'string' && user.name ? user.name : undefined,
        email: typeof user.email === 'string' ? user.email : null,
        role: settings.defaultRole,
      }
    },
  }
}

async function exchange(settings: GithubOAuthConfig, web: string, code: string, redirectUri: string): Promise<string> {
  let body: { access_token?: unknown; error?: unknown; error_description?: unknown }
  try {
    const res = await fetch(under(web, 'login/oauth/access_token'), {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: settings.clientId, client_secret: settings.clientSecret, code, redirect_uri: redirectUri }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
    if (!res.ok) throw new Error(`GitHub answered ${res.status}`)
    body = await res.json() as typeof body
  } catch (error) {
    throw ssoRefused(`the sign-in code could not be exchanged at GitHub (${describe(error)})`)
  }
  // GitHub reports a bad or used code with 200 and an `error` field.
  if (typeof body.access_token !== 'string' || !body.access_token) {
    throw ssoRefused(`GitHub refused the sign-in code (${String(body.error ?? 'no access token')}${body.error_description ? `: ${String(body.error_description)}` : ''})`)
  }
  return body.access_token
}

async function read(api: string, path: string, token: string): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(under(api, path), {
      headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${token}`, 'x-github-api-version': '2022-11-28' },
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
  } catch (error) {
    throw ssoRefused(`GitHub could not be reached (${describe(error)})`)
  }
  if (!res.ok) throw ssoRefused(`GitHub answered ${res.status} to GET /${path.replace(/\?.*$/, '')}`)
  return res.json()
}

async function organizations(api: string, token: string): Promise<string[]> {
  const names: string[] = []
  for (let page = 1; page <= MAX_ORG_PAGES; page++) {
    const batch = await read(api, `user/orgs?per_page=100&page=${page}`, token)
    if (!Array.isArray(batch)) break
    for (const org of batch) if (typeof org?.login === 'string') names.push(org.login.toLowerCase())
    if (batch.length < 100) break
  }
  return names
}
