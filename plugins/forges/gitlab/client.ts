/**
 * GitLab REST v4 over `fetch`: token auth (`Authorization: Bearer`, which GitLab accepts for
 * personal, project and group access tokens and OAuth tokens alike), pagination and GitLab's
 * statuses mapped to the app's answers. Never a response body in an error: the API URL is a
 * setting that may point anywhere.
 */
import { answerJson, ForgeError, type ForgeConnection } from '../../../core/forge.ts'
import { forgeFetch, statusErrors, type ForgeStatus } from '../../../core/forge-http.ts'

/**
 * GitLab's status → the app's answer. A bad or under-scoped token is the app's configuration (502);
 * what GitLab refuses about the request itself keeps its meaning as a 4xx. Merge refusals:
 * 405 not mergeable now, 406 already merged or closed (older GitLab), 409 `sha` is not the head,
 * 422 branch cannot be merged.
 */
const STATUS_MAP: Record<number, ForgeStatus> = {
  400: { status: 502, code: 'gitlab_bad_request', hint: 'GitLab rejected the request' },
  401: { status: 502, code: 'gitlab_unauthorized', hint: 'GitLab refused the token (FORGE_TOKEN)' },
  403: { status: 502, code: 'gitlab_forbidden', hint: 'GitLab refused access (the scopes or role of FORGE_TOKEN)' },
  404: { status: 404, code: 'not_found', hint: 'not found on GitLab' },
  405: { status: 409, code: 'gitlab_conflict', hint: 'GitLab refused the operation now (the merge request is not mergeable)' },
  406: { status: 409, code: 'gitlab_conflict', hint: 'GitLab refused the operation (the merge request is merged or closed)' },
  409: { status: 409, code: 'gitlab_conflict', hint: 'GitLab reported a conflict' },
  422: { status: 422, code: 'gitlab_unprocessable', hint: 'GitLab could not process the request' },
  429: { status: 502, code: 'gitlab_rate_limited', hint: 'GitLab rate limit reached' },
}

/** A 2xx that is not GitLab's JSON (a proxy's or a web page's HTML, another service): the API URL is wrong. */
export const unexpectedAnswer = (what: string, status: number) =>
  new ForgeError('forge_unexpected_answer', 502, `the API URL does not answer like the GitLab API (${what})`, status)

export const gitlabError = statusErrors('GitLab', 'gitlab', STATUS_MAP)

/** The API path of a project: its `group/subgroup/name` as ONE URL-encoded segment (GitLab's `:id`). */
export const projectPath = (repo: string) => `/projects/${encodeURIComponent(repo)}`

export interface GitlabClient {
  request<T>(method: string, path: string, what: string, body?: unknown): Promise<T>
  /**
   * Every page of a list (100 per page), following `Link: rel="next"`, else `X-Next-Page` (GitLab
   * omits `Link` and `X-Total` on very large lists). `until` stops early after a page whose items
   * satisfy it (a newest-first list read back to a known point).
   */
  list<T>(path: string, what: string, options?: { maxPages?: number; until?: (page: T[]) => boolean }): Promise<T[]>
}

export function createClient(connection: ForgeConnection): GitlabClient {
  const base = connection.apiUrl.replace(/\/+$/, '')
  // Redirects are not followed: the API never redirects, a web page does (to its sign-in).
  const fetchOptions = {
    forgeName: 'GitLab', codePrefix: 'gitlab', timeoutMs: connection.timeoutMs ?? 30000, errorOf: gitlabError,
    headers: { accept: 'application/json', authorization: `Bearer ${connection.token}`, 'user-agent': 'terarchitect' },
  }
  const send = (method: string, url: string, what: string, body?: unknown) => forgeFetch(fetchOptions, method, url, what, body)

  return {
    async request<T>(method: string, path: string, what: string, body?: unknown): Promise<T> {
      const res = await send(method, base + path, what, body)
      const data = (await answerJson(res)) as T
      if (data === null || typeof data !== 'object') throw unexpectedAnswer(what, res.status)
      return data
    },
    async list<T>(path: string, what: string, options: { maxPages?: number; until?: (page: T[]) => boolean } = {}): Promise<T[]> {
      const items: T[] = []
      let url: string | null = `${base}${path}${path.includes('?') ? '&' : '?'}per_page=100`
      for (let page = 0; url && page < (options.maxPages ?? 50); page++) {
        const res: Response = await send('GET', url, what)
        const batch = (await answerJson(res)) as T[]
        if (!Array.isArray(batch)) throw unexpectedAnswer(what, res.status)
        items.push(...batch)
        if (options.until?.(batch)) break
        url = nextPage(res, url, base)
      }
      return items
    },
  }
}

/**
 * The next page's URL: `Link: rel="next"` when it stays on the API's origin (the base URL is the
 * only place the token goes), else the current URL with `page=X-Next-Page`; null on the last page.
 */
function nextPage(res: Response, current: string, base: string): string | null {
  for (const part of (res.headers.get('link') ?? '').split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim())
    if (match && URL.canParse(match[1]!) && new URL(match[1]!).origin === new URL(base).origin) return match[1]!
  }
  const next = res.headers.get('x-next-page')
  if (!next || !/^\d+$/.test(next)) return null
  const url = new URL(current)
  url.searchParams.set('page', next)
  return url.href
}
