/**
 * REPO_ALLOWLIST: the repositories the app's forge token may be aimed at. Comma-separated
 * `owner/name` or `owner/*` entries, compared case-insensitively with the repository path of a
 * project's repo_url (exactly `owner/name`, `.git` dropped). Unset or empty = any repository: the
 * forge token's own scope is then the boundary (docs/SECURITY.md advises a fine-grained token).
 * An entry that is not `owner/name` or `owner/*` matches nothing, so a typo narrows, never widens.
 * Checked where a repo_url is set (400 naming the field) and again where the token is used (the
 * git relay's upstream and the forge actions: 403 naming /project/repo_url), so a list tightened
 * later also holds for projects made before.
 */
import type { AppContext } from '../context.ts'
import { badRequest, forbidden } from '../errors.ts'
import { resolveSettings } from './settings.ts'

/** `owner/name` of a repository URL (https, ssh or `git@host:owner/name`), or null when its path is not exactly that. */
export function repositoryPath(repoUrl: string): string | null {
  const scp = /^[\w.-]+@[\w.-]+:(.+)$/.exec(repoUrl)
  let path = scp?.[1]
  if (path === undefined) {
    try {
      path = new URL(repoUrl).pathname
    } catch {
      return null
    }
  }
  const parts = path.replace(/\/+$/, '').replace(/\.git$/i, '').split('/').filter(Boolean)
  return parts.length === 2 ? `${parts[0]}/${parts[1]}`.toLowerCase() : null
}

/** Whether `repoUrl` is on the list; an empty list allows every repository. */
export function repoAllowed(list: string | undefined, repoUrl: string): boolean {
  const entries = (list ?? '').split(',').map((entry) => entry.trim().toLowerCase()).filter(Boolean)
  if (!entries.length) return true
  const path = repositoryPath(repoUrl)
  if (!path) return false
  const owner = path.slice(0, path.indexOf('/'))
  return entries.some((entry) => entry === path || entry === `${owner}/*`)
}

async function allowlist(ctx: AppContext): Promise<string | undefined> {
  return (await resolveSettings(ctx)).REPO_ALLOWLIST
}

/** 400 naming the body field when a project's new repo_url is not on REPO_ALLOWLIST. */
export async function checkRepoUrlAllowed(ctx: AppContext, repoUrl: string, field: 'repo_url' | 'github_url'): Promise<void> {
  if (repoAllowed(await allowlist(ctx), repoUrl)) return
  throw badRequest(`${field} names a repository REPO_ALLOWLIST does not list (an admin sets it in settings)`,
    [{ path: `/body/${field}`, message: 'not on REPO_ALLOWLIST' }])
}

/** 403 before the forge token is used for a project whose repo_url is not (or no longer) on REPO_ALLOWLIST. */
export async function assertForgeRepoAllowed(ctx: AppContext, project: { id: number; repo_url: string | null }): Promise<void> {
  if (!project.repo_url || repoAllowed(await allowlist(ctx), project.repo_url)) return
  throw forbidden(`project ${project.id}'s repository is not on REPO_ALLOWLIST: the forge token is not used for it`,
    [{ path: '/project/repo_url', message: 'not on REPO_ALLOWLIST' }])
}
