/**
 * What review code needs from the app settings (resolved per use, so a change in the settings page
 * applies without a restart), the GitHub client built from them, and the write-access check
 * behind "only writers trigger work", cached briefly per repository and login.
 */
import type { AppContext } from '../../context.ts'
import { unprocessable } from '../../errors.ts'
import { createGithubClient, type GithubClient } from '../../github-client.ts'
import { forgeToken } from '../forge-token.ts'
import { resolveSettings } from '../settings.ts'

export interface ReviewSettings {
  token: string | null
  apiUrl: string
  webhookSecret: string | null
  pollIntervalSec: number
  /** Lower-cased logins from REVIEW_ALLOWED_AUTHORS. */
  allowedAuthors: Set<string>
}

/**
 * The review settings; with `projectId`, the forge token and API URL for that project as the forge
 * actions choose them (forge-token.ts: GITHUB_TOKEN, else the token a coordinator serving the project
 * handed over). Without it, no token: only project-free reads (secret, interval, authors).
 */
export async function reviewSettings(ctx: AppContext, projectId?: number): Promise<ReviewSettings> {
  const settings = await resolveSettings(ctx)
  const interval = Number(settings.REVIEW_POLL_INTERVAL_SEC)
  const forge = projectId === undefined ? { token: null, apiUrl: settings.GITHUB_API_URL ?? 'https://api.github.com' } : await forgeToken(ctx, projectId)
  return {
    token: forge.token,
    apiUrl: forge.apiUrl,
    webhookSecret: settings.GITHUB_WEBHOOK_SECRET ?? null,
    pollIntervalSec: Number.isFinite(interval) && interval >= 1 ? interval : 60,
    allowedAuthors: new Set((settings.REVIEW_ALLOWED_AUTHORS ?? '').split(',').map((login) => login.trim().toLowerCase()).filter(Boolean)),
  }
}

/** The client, or a 422 naming the missing setting. */
export function githubClient(settings: ReviewSettings): GithubClient {
  if (!settings.token) {
    throw unprocessable('GITHUB_TOKEN is not set: the app cannot reach GitHub', [{ path: '/settings/GITHUB_TOKEN', message: 'not set' }])
  }
  return createGithubClient({ apiUrl: settings.apiUrl, token: settings.token })
}

/** GitHub permissions that may push, and so may ask an agent to push. */
const WRITE_PERMISSIONS = new Set(['admin', 'maintain', 'write'])
const PERMISSION_TTL_MS = 5 * 60 * 1000
const permissions = new Map<string, { permission: string; at: number }>()

/**
 * True when `login` has write access to `repo`: `GET /repos/:repo/collaborators/:login/permission`.
 * A 404 (not a collaborator) is "no"; other GitHub failures are thrown so the caller can retry.
 */
export async function hasWriteAccess(gh: GithubClient, apiUrl: string, repo: string, login: string): Promise<boolean> {
  const key = `${apiUrl}|${repo.toLowerCase()}|${login.toLowerCase()}`
  const cached = permissions.get(key)
  if (cached && Date.now() - cached.at < PERMISSION_TTL_MS) return WRITE_PERMISSIONS.has(cached.permission)
  let permission = 'none'
  try {
    const res = await gh.get<{ permission?: string }>(`/repos/${repo}/collaborators/${encodeURIComponent(login)}/permission`, `permission of ${login} on ${repo}`)
    permission = res.data?.permission ?? 'none'
  } catch (error) {
    if ((error as { githubStatus?: number }).githubStatus !== 404) throw error
  }
  if (permissions.size > 10000) permissions.clear()
  permissions.set(key, { permission, at: Date.now() })
  return WRITE_PERMISSIONS.has(permission)
}
