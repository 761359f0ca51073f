/**
 * GitHub's repository names and hosts: `owner/name` from clone and pull request URLs, the web host
 * of an API URL (github.com for api.github.com; an Enterprise `https://host/api/v3` is served by
 * `host`), and the web page of a pull request.
 */

/** A segment that may become part of an API path: `..`, `?`, `#`, `%`, `/` and spaces never do. */
const SEGMENT = /^(?!\.\.?$)[A-Za-z0-9_.-]+$/

/**
 * `owner/name` from a pull request URL (`…/owner/name/pull/7`) or a repository URL (https, ssh,
 * scp-style `git@host:owner/name.git`; an Enterprise path prefix is allowed); null otherwise.
 */
export function parseRepo(url: string): string | null {
  const pull = /^https?:\/\/[^/\s]+(?:\/[^\s?#]*)?\/([^/\s?#]+)\/([^/\s?#]+)\/pulls?\/\d+(?:[/?#].*)?$/.exec(url)
  if (pull) return checked(pull[1]!, pull[2]!)
  const scp = /^[\w.-]+@[\w.-]+:(?!\/\/)(.+)$/.exec(url)
  let path = scp?.[1]
  if (path === undefined) {
    try {
      const parsed = new URL(url)
      if (parsed.search || parsed.hash) return null
      path = parsed.pathname
    } catch {
      return null
    }
  }
  const parts = path.replace(/\.git$/, '').split('/').filter(Boolean)
  if (parts.length < 2) return null
  return checked(parts[parts.length - 2]!, parts[parts.length - 1]!)
}

function checked(owner: string, name: string): string | null {
  return SEGMENT.test(owner) && SEGMENT.test(name) ? `${owner}/${name}` : null
}

/** The web base of an API URL: https://github.com for api.github.com, `https://host` for `https://host/api/v3`. */
export function webBase(apiUrl: string): URL {
  const api = new URL(apiUrl)
  if (api.hostname === 'api.github.com') return new URL('https://github.com')
  const path = api.pathname.replace(/\/+$/, '')
  return new URL(`${api.origin}${path.endsWith('/api/v3') ? path.slice(0, -'/api/v3'.length) : path}`)
}

/** The host git talks to: github.com for api.github.com, an Enterprise API's own host. */
export function gitHost(apiUrl: string): string {
  return new URL(apiUrl).hostname.toLowerCase().replace(/^api\./, '')
}

/** The page of pull request `number`: `https://github.com/owner/name/pull/7`. */
export function requestUrl(apiUrl: string, repo: string, number: number): string {
  const web = webBase(apiUrl)
  return `${web.origin}${web.pathname.replace(/\/+$/, '')}/${repo}/pull/${number}`
}
