/**
 * Single sign-on configuration, validated once at start (a bad value is a configuration error
 * naming the variable): which methods are on, who they admit and which role they give. Client
 * secrets are registered with the log's redaction here, so they never reach a log record.
 */
import { isLoopback, type AppConfig } from '../../config.ts'
import { AppError, badRequest } from '../../errors.ts'
import { redact } from '../../log.ts'
import type { Role } from '../../http/router.ts'

export interface OidcConfig {
  issuer: URL
  clientId: string
  clientSecret: string
  scopes: string
  /** Lower-cased; a person matching any of the three lists is admitted, or everyone when all are empty. */
  allowedEmails: Set<string>
  allowedDomains: Set<string>
  allowedGroups: Set<string>
  groupsClaim: string
  adminGroups: Set<string>
  memberGroups: Set<string>
  defaultRole: Role
}

export interface GithubOAuthConfig {
  clientId: string
  clientSecret: string
  /** Lower-cased; at least one of the two is non-empty. */
  allowedOrgs: Set<string>
  allowedUsers: Set<string>
  defaultRole: Role
  /** GITHUB_OAUTH_URL; unset = derived per sign-in from the GITHUB_API_URL setting (githubWebBase). */
  webBase: URL | null
}

export interface SsoConfig {
  oidc: OidcConfig | null
  github: GithubOAuthConfig | null
}

const configError = (name: string, message: string) =>
  badRequest(`invalid configuration: ${name}: ${message}`, [{ path: name, message }])

/** A comma-separated list, trimmed and lower-cased (emails, domains, groups, logins compare case-insensitively). */
export const listOf = (text: string | undefined) =>
  new Set((text ?? '').split(',').map((item) => item.trim().toLowerCase()).filter(Boolean))

/** An identity provider's URL: https, or http only on a loopback address (a provider on this machine). */
function providerUrl(name: string, text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw configError(name, `${JSON.stringify(text)} is not a URL`)
  }
  if (url.username || url.password) throw configError(name, 'must not carry credentials')
  const loopback = isLoopback(url.hostname.replace(/^\[|\]$/g, ''))
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw configError(name, 'must be an https:// URL (http:// only on a loopback address)')
  }
  return url
}

/** Both or neither of a method's id and secret. */
function pair(idName: string, id: string | undefined, secretName: string, secret: string | undefined): boolean {
  if (!id && !secret) return false
  if (!id) throw configError(idName, `required when ${secretName} is set`)
  if (!secret) throw configError(secretName, `required when ${idName} is set`)
  redact(secret)
  return true
}

export function resolveSsoConfig(config: AppConfig): SsoConfig {
  let oidc: OidcConfig | null = null
  const oidcSet = pair('OIDC_CLIENT_ID', config.OIDC_CLIENT_ID, 'OIDC_CLIENT_SECRET', config.OIDC_CLIENT_SECRET)
  if (oidcSet && !config.OIDC_ISSUER) throw configError('OIDC_ISSUER', 'required when OIDC_CLIENT_ID is set')
  if (config.OIDC_ISSUER) {
    if (!oidcSet) throw configError('OIDC_CLIENT_ID', 'required when OIDC_ISSUER is set')
    if (!config.OIDC_SCOPES.split(/\s+/).includes('openid')) throw configError('OIDC_SCOPES', 'must include openid')
    oidc = {
      issuer: providerUrl('OIDC_ISSUER', config.OIDC_ISSUER),
      clientId: config.OIDC_CLIENT_ID!,
      clientSecret: config.OIDC_CLIENT_SECRET!,
      scopes: config.OIDC_SCOPES.trim(),
      allowedEmails: listOf(config.OIDC_ALLOWED_EMAILS),
      allowedDomains: new Set([...listOf(config.OIDC_ALLOWED_DOMAINS)].map((domain) => domain.replace(/^@/, ''))),
      allowedGroups: listOf(config.OIDC_ALLOWED_GROUPS),
      groupsClaim: config.OIDC_GROUPS_CLAIM,
      adminGroups: listOf(config.OIDC_ADMIN_GROUPS),
      memberGroups: listOf(config.OIDC_MEMBER_GROUPS),
      defaultRole: config.OIDC_DEFAULT_ROLE,
    }
  }
  let github: GithubOAuthConfig | null = null
  if (pair('GITHUB_OAUTH_CLIENT_ID', config.GITHUB_OAUTH_CLIENT_ID, 'GITHUB_OAUTH_CLIENT_SECRET', config.GITHUB_OAUTH_CLIENT_SECRET)) {
    const allowedOrgs = listOf(config.GITHUB_OAUTH_ALLOWED_ORGS)
    const allowedUsers = listOf(config.GITHUB_OAUTH_ALLOWED_USERS)
    // Everyone has a GitHub account: without a list, "Sign in with GitHub" would let the world in.
    if (!allowedOrgs.size && !allowedUsers.size) {
      throw configError('GITHUB_OAUTH_ALLOWED_ORGS', 'set it or GITHUB_OAUTH_ALLOWED_USERS: who may sign in with GitHub')
    }
    github = {
      clientId: config.GITHUB_OAUTH_CLIENT_ID!,
      clientSecret: config.GITHUB_OAUTH_CLIENT_SECRET!,
      allowedOrgs,
      allowedUsers,
      defaultRole: config.GITHUB_OAUTH_DEFAULT_ROLE,
      webBase: config.GITHUB_OAUTH_URL ? providerUrl('GITHUB_OAUTH_URL', config.GITHUB_OAUTH_URL) : null,
    }
  }
  return { oidc, github }
}

/**
 * GitHub's web base (where /login/oauth lives) for a REST API base: api.github.com → github.com,
 * GitHub Enterprise Server's https://host/api/v3 → https://host; anything else (a test double
 * serving both) is its own web base.
 */
export function githubWebBase(apiUrl: string): URL {
  const api = new URL(apiUrl)
  if (api.hostname === 'api.github.com') return new URL('https://github.com')
  const path = api.pathname.replace(/\/+$/, '')
  return new URL(`${api.origin}${path.endsWith('/api/v3') ? path.slice(0, -'/api/v3'.length) : path}`)
}

/** A refusal shown to the person: who the provider said they are does not get in. */
export const ssoRefused = (reason: string) => new AppError('sso_refused', 403, reason)

/** An error's code and message, for the person and the log; provider errors carry no secrets. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}${cause}`
  }
  return String(error)
}
