/**
 * REPO_ALLOWLIST: the repositories the app's forge token may be aimed at. Comma-separated entries,
 * each a repository path on the forge (`owner/name` on GitHub and Gitea, `group/subgroup/name` on
 * GitLab) or a path ending in `/*`: every repository under that owner or group, subgroups included
 * (`acme/*` allows `acme/shop` and `acme/web/shop`). Compared case-insensitively with the repository
 * path of the project's repo_url (every segment, `.git` dropped; the path prefix of the forge's API
 * URL on its host, such as GitLab's relative URL root `/gitlab`, is not part of it). Unset or empty = any repository: the forge
 * token's own scope is then the boundary (docs/SECURITY.md advises a fine-grained token). An entry
 * that is not such a path matches nothing, so a typo narrows, never widens.
 * Checked where a repo_url is set (400 naming the field) and again where the token is used (the
 * git relay's upstream and the forge actions: 403 naming /project/repo_url), so a list tightened
 * later also holds for projects made before.
 */
import type { AppContext } from '../context.ts'
import { badRequest, forbidden } from '../errors.ts'
import { resolveProjectSettings } from './project-settings-resolve.ts'
import { resolveSettings } from './settings.ts'

/** Reads the repository path of a URL (repositoryPath bound to the forge's API URL). */
export type RepoPathOf = (repoUrl: string) => string | null

/**
 * The whole path of a repository URL (https, ssh or `git@host:path`), `.git` dropped, at least two
 * segments; null otherwise. With `apiUrl`, an http(s) URL on the API's host loses the instance's
 * path prefix first (`/gitlab` of `https://host/gitlab/api/v4`: a relative URL root). Every other
 * segment counts, so `https://github.com/x/acme/shop` is not `acme/shop`.
 */
export function repositoryPath(repoUrl: string, apiUrl?: string): string | null {
  const scp = /^[\w.-]+@[\w.-]+:(.+)$/.exec(repoUrl)
  let path = scp?.[1]
  if (path === undefined) {
    try {
      const url = new URL(repoUrl)
      path = url.pathname
      const api = apiUrl && URL.canParse(apiUrl) ? new URL(apiUrl) : null
      const root = api ? api.pathname.replace(/\/api\/v\d+\/?$/, '').replace(/\/+$/, '') : ''
      if (root && url.protocol.startsWith('http') && url.hostname.toLowerCase() === api!.hostname.toLowerCase() && path.toLowerCase().startsWith(`${root.toLowerCase()}/`)) {
        path = path.slice(root.length)
      }
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

/** The list, and the forge's API URL to read paths with: a project's own settings when `projectId` is given, else the app's. */
async function allowlist(ctx: AppContext, projectId?: number): Promise<{ list: string | undefined; pathOf: RepoPathOf }> {
  const list = (await resolveSettings(ctx)).REPO_ALLOWLIST
  if (!list?.trim()) return { list, pathOf: repositoryPath }
  const values = projectId === undefined ? await resolveSettings(ctx) : (await resolveProjectSettings(ctx, projectId)).values
  const kind = values.FORGE_KIND || 'github'
  const apiUrl = values.FORGE_API_URL || (kind === 'github' ? values.GITHUB_API_URL : undefined) || ctx.forges.get(kind)?.defaultApiUrl || undefined
  return { list, pathOf: (url) => repositoryPath(url, apiUrl) }
}

/** 400 naming the body field when a project's new repo_url is not on REPO_ALLOWLIST (read with project `projectId`'s forge when it exists). */
export async function checkRepoUrlAllowed(ctx: AppContext, repoUrl: string, field: 'repo_url' | 'github_url', projectId?: number): Promise<void> {
  const { list, pathOf } = await allowlist(ctx, projectId)
  if (repoAllowed(list, repoUrl, pathOf)) return
  throw badRequest(`${field} names a repository REPO_ALLOWLIST does not list (an admin sets it in settings)`,
    [{ path: `/body/${field}`, message: 'not on REPO_ALLOWLIST' }])
}

/** 403 before the forge token is used for a project whose repo_url is not (or no longer) on REPO_ALLOWLIST. */
export async function assertForgeRepoAllowed(ctx: AppContext, project: { id: number; repo_url: string | null }): Promise<void> {
  if (!project.repo_url) return
  const { list, pathOf } = await allowlist(ctx, project.id)
  if (repoAllowed(list, project.repo_url, pathOf)) return
  throw forbidden(`project ${project.id}'s repository is not on REPO_ALLOWLIST: the forge token is not used for it`,
    [{ path: '/project/repo_url', message: 'not on REPO_ALLOWLIST' }])
}
