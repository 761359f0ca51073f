/**
 * GitHub's REST API over `fetch`: token auth, conditional requests (ETag / If-None-Match, which
 * GitHub does not count against the rate limit), `Link`-header pagination, and GitHub's failures
 * mapped to ForgeError so an API route answers a clear 4xx/502, never a 500. GitHub Enterprise
 * Server is the same API under `https://host/api/v3`.
 */
import { answerJson, ForgeError, type ForgeConnection } from '../../../core/forge.ts'
import { forgeFetch, nextLink, statusErrors, type ForgeStatus } from '../../../core/forge-http.ts'

export interface GithubResponse<T> {
  /** 304 when an `etag` was given and nothing changed (`data` is then null). */
  status: number
  data: T | null
  etag: string | null
  /** Absolute URL of the next page, from the `Link` header. */
  next: string | null
  headers: Headers
}

export interface RequestOptions {
  body?: unknown
  /** Sends `If-None-Match`; a 304 answer is returned, not thrown. */
  etag?: string | null
}

/** Every request the plugin makes goes through here; `onRequest` sees each (method, URL, JSON body). */
export type RequestObserver = (method: string, url: string, body: unknown) => void

/**
 * GitHub's status → the app's answer. A bad or under-scoped token is the app's configuration, not
 * the caller's request, so it is a 502 that says so; what GitHub refuses about the request itself
 * (missing PR, unmergeable, validation) keeps its meaning as a 4xx.
 */
const STATUS_MAP: Record<number, ForgeStatus> = {
  400: { status: 502, code: 'github_bad_request', hint: 'GitHub rejected the request' },
  401: { status: 502, code: 'github_unauthorized', hint: 'GitHub refused GITHUB_TOKEN or FORGE_TOKEN' },
  403: { status: 502, code: 'github_forbidden', hint: 'GitHub refused access (token scope or rate limit)' },
  404: { status: 404, code: 'not_found', hint: 'not found on GitHub' },
  405: { status: 409, code: 'github_conflict', hint: 'GitHub refused the operation (a merge: the pull request is not mergeable now)' },
  409: { status: 409, code: 'github_conflict', hint: 'GitHub reported a conflict' },
  422: { status: 422, code: 'github_unprocessable', hint: 'GitHub could not process the request' },
}

export function createHttp(connection: ForgeConnection, onRequest?: RequestObserver) {
  const base = connection.apiUrl.replace(/\/+$/, '')
  const fetchOptions = {
    forgeName: 'GitHub', codePrefix: 'github', timeoutMs: connection.timeoutMs ?? 30000, errorOf: githubError, pass: [304],
    headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${connection.token}`, 'x-github-api-version': '2022-11-28', 'user-agent': 'terarchitect' },
  }

  async function request<T>(method: string, pathOrUrl: string, what: string, opts: RequestOptions = {}): Promise<GithubResponse<T>> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : base + pathOrUrl
    onRequest?.(method, url, opts.body)
    const res = await forgeFetch(fetchOptions, method, url, what, opts.body, opts.etag ? { 'if-none-match': opts.etag } : {})
    const etag = res.headers.get('etag')
    const next = nextLink(res.headers.get('link'))
    if (res.status === 304) return { status: 304, data: null, etag, next: null, headers: res.headers }
    return { status: res.status, data: (await answerJson(res)) as T, etag, next, headers: res.headers }
  }

  /** Every page of a list, following `Link: rel="next"`, at most `maxPages` (100 items each). */
  async function list<T>(path: string, what: string, opts: { etag?: string | null; maxPages?: number } = {}): Promise<GithubResponse<T[]>> {
    const sep = path.includes('?') ? '&' : '?'
    const first = await request<T[]>('GET', `${path}${sep}per_page=100`, what, { etag: opts.etag ?? null })
    if (first.status === 304) return first
    const items = [...(first.data ?? [])]
    let next = first.next
    for (let page = 1; next && page < (opts.maxPages ?? 50); page++) {
      // The next page must stay on the API the token belongs to.
      if (!next.startsWith(base + '/')) throw new ForgeError('github_bad_request', 502, `GitHub sent a next page outside its API (${what})`, null)
      const more = await request<T[]>('GET', next, what)
      items.push(...(more.data ?? []))
      next = more.next
    }
    return { ...first, data: items, next }
  }

  return {
    request,
    list,
    get: <T>(path: string, what: string, etag?: string | null) => request<T>('GET', path, what, { etag: etag ?? null }),
  }
}

export type GithubHttp = ReturnType<typeof createHttp>

/**
 * The status, never the body: the API URL is a setting and may point at any service, whose answer
 * an error message must not carry back to the caller (a read primitive for SSRF).
 */
const githubError = statusErrors('GitHub', 'github', STATUS_MAP)

export { nextLink }
