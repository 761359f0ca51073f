/**
 * REPO_ALLOWLIST: the repositories the app's forge token may be aimed at. Comma-separated entries,
 * each a repository path on the forge (`owner/name` on GitHub and Gitea, `group/subgroup/name` on
 * GitLab) or a path ending in `/*`: every repository under that owner or group, subgroups included
 * (`acme/*` allows `acme/shop` and `acme/web/shop`). Compared case-insensitively with the repository
 * path the project's forge plugin reads from its repo_url (`.git` dropped; a GitLab relative URL
 * root such as `/gitlab` is not part of the path). Unset or empty = any repository: the forge
 * token's own scope is then the boundary (docs/SECURITY.md advises a fine-grained token). An entry
 * that is not such a path matches nothing, so a typo narrows, never widens.
 * Checked where a repo_url is set (400 naming the field) and again where the token is used (the
 * git relay's upstream and the forge actions: 403 naming /project/repo_url), so a list tightened
 * later also holds for projects made before.
 */
import type { AppContext } from '../context.ts'
import { badRequest, forbidden } from '../errors.ts'
import { appForge } from './forge-token.ts'
import { resolveSettings } from './settings.ts'

/** Reads the repository path of a URL: the forge plugin's parseRepo, bound to its API URL. */
export type RepoPathOf = (repoUrl: string) => string | null

/** The path of a repository URL (https, ssh or `git@host:path`) with no forge to ask: every segment, `.git` dropped. */
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
  return parts.length >= 2 ? parts.join('/') : null
}

/** Whether `repoUrl` is on the list; an empty list allows every repository. */
export function repoAllowed(list: string | undefined, repoUrl: string, pathOf: RepoPathOf = repositoryPath): boolean {
  const entries = (list ?? '').split(',').map((entry) => entry.trim().toLowerCase()).filter(Boolean)
  if (!entries.length) return true
  const path = pathOf(repoUrl)?.toLowerCase()
  if (!path) return false
  return entries.some((entry) => {
    if (!entry.endsWith('/*')) return entry === path
    const prefix = entry.slice(0, -1)
    return prefix.length > 1 && !prefix.includes('*') && path.startsWith(prefix)
  })
}

/** The list, and how the app's forge reads repository paths (its API URL drops a relative URL root). */
async function allowlist(ctx: AppContext): Promise<{ list: string | undefined; pathOf: RepoPathOf }> {
  const list = (await resolveSettings(ctx)).REPO_ALLOWLIST
  if (!list?.trim()) return { list, pathOf: repositoryPath }
  const { forge, apiUrl } = await appForge(ctx)
  return { list, pathOf: (url) => forge.parseRepo(url, apiUrl) }
}

/** 400 naming the body field when a project's new repo_url is not on REPO_ALLOWLIST. */
export async function checkRepoUrlAllowed(ctx: AppContext, repoUrl: string, field: 'repo_url' | 'github_url'): Promise<void> {
  const { list, pathOf } = await allowlist(ctx)
  if (repoAllowed(list, repoUrl, pathOf)) return
  throw badRequest(`${field} names a repository REPO_ALLOWLIST does not list (an admin sets it in settings)`,
    [{ path: `/body/${field}`, message: 'not on REPO_ALLOWLIST' }])
}

/** 403 before the forge token is used for a project whose repo_url is not (or no longer) on REPO_ALLOWLIST. */
export async function assertForgeRepoAllowed(ctx: AppContext, project: { id: number; repo_url: string | null }): Promise<void> {
  if (!project.repo_url) return
  const { list, pathOf } = await allowlist(ctx)
  if (repoAllowed(list, project.repo_url, pathOf)) return
  throw forbidden(`project ${project.id}'s repository is not on REPO_ALLOWLIST: the forge token is not used for it`,
    [{ path: '/project/repo_url', message: 'not on REPO_ALLOWLIST' }])
}
