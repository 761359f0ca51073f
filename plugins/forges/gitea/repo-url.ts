/**
 * Repository paths on Gitea/Forgejo: always `owner/name`. An instance may live under a sub-path
 * (`https://host/git/owner/name`), so a clone URL names the repository by its last two segments and
 * a request URL by the two before `/pulls/N`.
 */
import { badRequest } from '../../../core/errors.ts'

/** Gitea's own rule for user and repository names; `.` and `..` would reach other API paths. */
const SEGMENT = /^(?!\.\.?$)[A-Za-z0-9_.-]+$/

const checked = (owner: string, name: string): string | null => (SEGMENT.test(owner) && SEGMENT.test(name) ? `${owner}/${name}` : null)

export function parseRepo(url: string): string | null {
  const text = url.trim()
  if (/[?#\s]/.test(text)) return null
  const scp = /^[\w.-]+@[\w.-]+(?::\d+)?:(?!\/\/)(.+)$/.exec(text)
  let path = scp?.[1]
  if (!path) {
    try {
      path = new URL(text).pathname
    } catch {
      return null
    }
  }
  let parts: string[]
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  } catch {
    return null
  }
  const pulls = parts.findIndex((part, i) => (part === 'pulls' || part === 'issues') && i >= 2 && /^\d+$/.test(parts[i + 1] ?? ''))
  if (pulls >= 0) return checked(parts[pulls - 2]!, parts[pulls - 1]!)
  if (parts.length < 2) return null
  return checked(parts[parts.length - 2]!, parts[parts.length - 1]!.replace(/\.git$/, ''))
}

/** The host name git reaches: Gitea serves the API and the repositories on one host (core compares host names, without port). */
export function gitHost(apiUrl: string): string {
  return new URL(apiUrl).hostname.toLowerCase()
}

/** `/repos/{owner}/{repo}`; a path that parseRepo would refuse is a 400, never an API path. */
export function repoPath(repo: string): string {
  const [owner = '', name = '', ...rest] = repo.split('/')
  if (rest.length || !checked(owner, name)) throw badRequest('repository must be owner/name', [{ path: '/repo', message: 'must be owner/name' }])
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`
}

/** The web base of an API URL: Gitea serves `/api/v1` under its ROOT_URL, which may have a sub-path. */
export function webBase(apiUrl: string): string {
  return apiUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '')
}

/** The page of pull `number` (what a ticket links). */
export function requestUrl(apiUrl: string, repo: string, number: number): string {
  return `${webBase(apiUrl)}${repoPath(repo).replace(/^\/repos/, '')}/pulls/${Math.trunc(number)}`
}
