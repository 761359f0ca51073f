/**
 * The GitLab forge plugin (REST v4): gitlab.com and self-managed instances at any base URL,
 * including a relative URL root (`https://host/gitlab/api/v4`). Repositories are named by their
 * full path, `group/subgroup/name`; a request is a merge request, numbered by its `iid`.
 * Token: a personal, project or group access token with `api` (and `write_repository` for git).
 *
 *   const forge = gitlab()
 *   const client = forge.connect({ apiUrl: 'https://gitlab.example.com/api/v4', token })
 */
import type { Forge, ForgeClient, ForgeConnection } from '../../../core/forge.ts'
import { createClient } from './client.ts'
import { comments } from './comments.ts'
import { issues } from './issues.ts'
import { checks } from './checks.ts'
import { members } from './members.ts'
import { requests } from './requests.ts'
import { webhooks } from './webhooks.ts'

export const NAME = 'gitlab'

/** A path segment GitLab allows (letters, digits, `_`, `-`, `.`; not starting with `-`); never `.` or `..`. */
const SEGMENT = /^(?!\.\.?$)(?!-)[A-Za-z0-9_.-]+$/
/** GitLab nests groups at most 20 deep. */
const MAX_SEGMENTS = 21

/** The relative URL root of an API URL: `/gitlab` for `https://host/gitlab/api/v4`, else ''. */
function relativeRoot(apiUrl: string | undefined): { host: string; root: string } | null {
  if (!apiUrl) return null
  try {
    const url = new URL(apiUrl)
    return { host: url.hostname.toLowerCase(), root: url.pathname.replace(/\/+$/, '').replace(/\/api\/v4$/, '') }
  } catch {
    return null
  }
}

/**
 * `group/subgroup/name` of a clone URL (https, ssh, scp-style `git@host:group/name.git`) or of a
 * page of the project (`…/group/name/-/merge_requests/7`). With `apiUrl`, an https URL on the
 * API's host name loses the instance's relative URL root first (ssh URLs never carry one).
 */
export function parseRepo(url: string, apiUrl?: string): string | null {
  let path: string
  let web = false
  let host = ''
  // A port before the path (`git@host:2222:group/name`) is tolerated, as the host names one.
  const scp = /^[\w.-]+@[\w.-]+(?::\d+)?:(?!\/\/)(.+)$/.exec(url)
  if (scp) path = scp[1]!
  else {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return null
    }
    if (!['http:', 'https:', 'ssh:', 'git+ssh:'].includes(parsed.protocol)) return null
    web = parsed.protocol.startsWith('http')
    host = parsed.hostname.toLowerCase()
    try {
      path = decodeURIComponent(parsed.pathname)
    } catch {
      return null
    }
  }
  const instance = relativeRoot(apiUrl)
  if (web && instance?.root && instance.host === host && path.startsWith(`${instance.root}/`)) path = path.slice(instance.root.length)
  path = path.split('/-/')[0]!.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '')
  const segments = path.split('/')
  if (segments.length < 2 || segments.length > MAX_SEGMENTS || !segments.every((s) => SEGMENT.test(s))) return null
  return segments.join('/')
}

export function gitlab(): Forge {
  return {
    kind: NAME,
    defaultApiUrl: 'https://gitlab.com/api/v4',
    parseRepo,
    /** Repositories are served by the API's own host name (under the same relative URL root). */
    gitHost: (apiUrl) => new URL(apiUrl).hostname.toLowerCase(),
    /** The merge request's page: the web base is the API URL without `/api/v4`. */
    requestUrl: (apiUrl, repo, number) => `${apiUrl.replace(/\/+$/, '').replace(/\/api\/v4$/, '')}/${repo}/-/merge_requests/${number}`,
    /** GitLab takes any access token as the password of the user name `oauth2`. */
    gitCredentials: (token) => ({ username: 'oauth2', password: token }),
    connect(connection: ForgeConnection): ForgeClient {
      const client = createClient(connection)
      return { ...members(client), ...requests(client), ...comments(client), ...issues(client), checks: checks(client, connection) }
    },
    webhooks,
  }
}
