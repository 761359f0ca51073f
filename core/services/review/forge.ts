/**
 * What review code needs from the app settings (resolved per use, so a change in the settings page
 * applies without a restart), the project's forge client built from them, and the write-access
 * check behind "only writers trigger work", cached briefly per forge, repository and login around
 * any forge's `canWrite`.
 */
import type { AppContext } from '../../context.ts'
import { unprocessable } from '../../errors.ts'
import type { Forge, ForgeClient } from '../../forge.ts'
import { forgeAccess, tokenSetting } from '../forge-token.ts'
import { resolveSettings } from '../settings.ts'

export interface ReviewSettings {
  /** The project's forge; null without a project (project-free reads only). */
  forge: Forge | null
  kind: string
  token: string | null
  apiUrl: string
  pollIntervalSec: number
  /** Lower-cased logins from REVIEW_ALLOWED_AUTHORS. */
  allowedAuthors: Set<string>
}

/** What ingestion may use: the settings, and the client (null when no token is set). */
export interface ReviewAccess {
  settings: ReviewSettings
  client: ForgeClient | null
}

/**
 * The review settings; with `projectId`, the project's forge, token and API URL as the forge actions
 * choose them (forge-token.ts). Without it, no forge: only project-free reads (interval, authors).
 */
export async function reviewSettings(ctx: AppContext, projectId?: number): Promise<ReviewSettings> {
  const settings = await resolveSettings(ctx)
  const interval = Number(settings.REVIEW_POLL_INTERVAL_SEC)
  const forge = projectId === undefined ? { forge: null, kind: settings.FORGE_KIND || 'github', token: null, apiUrl: '' } : await forgeAccess(ctx, projectId)
  return {
    ...forge,
    pollIntervalSec: Number.isFinite(interval) && interval >= 1 ? interval : 60,
    allowedAuthors: new Set((settings.REVIEW_ALLOWED_AUTHORS ?? '').split(',').map((login) => login.trim().toLowerCase()).filter(Boolean)),
  }
}

/** The client, or a 422 naming the missing setting. */
export function forgeClient(settings: ReviewSettings): ForgeClient {
  if (!settings.token || !settings.forge) {
    const setting = tokenSetting(settings.kind)
    throw unprocessable(`${setting} is not set: the app cannot reach the forge`, [{ path: `/settings/${setting}`, message: 'not set' }])
  }
  return settings.forge.connect({ apiUrl: settings.apiUrl, token: settings.token })
}

/** The settings and, when a token is set, the client of a project's forge. */
export async function reviewAccess(ctx: AppContext, projectId: number): Promise<ReviewAccess> {
  const settings = await reviewSettings(ctx, projectId)
  return { settings, client: settings.token ? forgeClient(settings) : null }
}

const PERMISSION_TTL_MS = 5 * 60 * 1000
const permissions = new Map<string, { canWrite: boolean; at: number }>()

/** True when `login` may push to `repo` (the forge's `canWrite`); failures are thrown so the caller can retry. */
export async function hasWriteAccess(access: ReviewAccess & { client: ForgeClient }, repo: string, login: string): Promise<boolean> {
  const key = `${access.settings.kind}|${access.settings.apiUrl}|${repo.toLowerCase()}|${login.toLowerCase()}`
  const cached = permissions.get(key)
  if (cached && Date.now() - cached.at < PERMISSION_TTL_MS) return cached.canWrite
  const canWrite = await access.client.canWrite(repo, login)
  if (permissions.size > 10000) permissions.clear()
  permissions.set(key, { canWrite, at: Date.now() })
  return canWrite
}
