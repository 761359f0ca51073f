/**
 * Gitea/Forgejo API v1 over `fetch`: `Authorization: token …`, `page`/`limit` pagination (following
 * `Link: rel="next"`, else `X-Total-Count`), and the forge's statuses mapped to the app's answers.
 * An error carries the status, never the response body: the API URL is a setting that may point
 * anywhere, and its answer must not travel back to whoever reads the error.
 */
import { answerJson, type ForgeConnection } from '../../../core/forge.ts'
import { forgeFetch, nextLink, statusErrors, type ForgeStatus } from '../../../core/forge-http.ts'

/**
 * Gitea's status → the app's. A refused token is the app's configuration, not the caller's request,
 * so it is a 502 naming it; what Gitea refuses about the request itself keeps its 4xx meaning.
 */
const STATUS_MAP: Record<number, ForgeStatus> = {
  400: { status: 502, code: 'gitea_bad_request', hint: 'Gitea rejected the request' },
  401: { status: 502, code: 'gitea_unauthorized', hint: 'Gitea refused the forge token' },
  403: { status: 502, code: 'gitea_forbidden', hint: 'Gitea refused access (token scope or repository role)' },
  404: { status: 404, code: 'not_found', hint: 'not found on Gitea' },
  405: { status: 409, code: 'gitea_conflict', hint: 'Gitea refused the operation (a merge: the pull request is not mergeable now)' },
  409: { status: 409, code: 'gitea_conflict', hint: 'Gitea reported a conflict' },
  422: { status: 422, code: 'gitea_unprocessable', hint: 'Gitea could not process the request' },
  429: { status: 502, code: 'gitea_rate_limited', hint: 'Gitea rate limit reached' },
}

export const giteaError = statusErrors('Gitea', 'gitea', STATUS_MAP)

/** Gitea clamps `limit` to its MAX_RESPONSE_ITEMS, 50 by default. */
export const PAGE_SIZE = 50

export interface GiteaHttp {
  /** The parsed JSON answer (null for an empty body); throws ForgeError on a non-2xx status. */
  call<T>(method: string, path: string, what: string, body?: unknown): Promise<T>
  /** Every page of a list endpoint, at most `maxPages`. */
  list<T>(path: string, what: string, maxPages?: number): Promise<T[]>
}

export function createHttp(connection: ForgeConnection): GiteaHttp {
  const base = connection.apiUrl.replace(/\/+$/, '')
  const fetchOptions = {
    forgeName: 'Gitea', codePrefix: 'gitea', timeoutMs: connection.timeoutMs ?? 30000, errorOf: giteaError,
    headers: { accept: 'application/json', authorization: `token ${connection.token}`, 'user-agent': 'terarchitect' },
  }

  async function send(method: string, url: string, what: string, body?: unknown): Promise<{ data: any; headers: Headers }> {
    const res = await forgeFetch(fetchOptions, method, url, what, body)
    return { data: await answerJson(res), headers: res.headers }
  }

  return {
    call: async (method, path, what, body) => (await send(method, base + path, what, body)).data,
    async list(path, what, maxPages = 50) {
      const items: any[] = []
      const sep = path.includes('?') ? '&' : '?'
      const pageUrl = (page: number) => `${base}${path}${sep}limit=${PAGE_SIZE}&page=${page}`
      let url: string | null = pageUrl(1)
      for (let page = 1; url && page <= maxPages; page++) {
        const { data, headers } = await send('GET', url, what)
        const batch = Array.isArray(data) ? data : []
        items.push(...batch)
        // Gitea builds `Link` from its ROOT_URL, which may not be the API URL the app uses: a next link
        // outside the API URL is not followed, and the next page is asked of the API URL by number
        // while `X-Total-Count` says more remain (the instance may clamp `limit` below 50).
        const next = nextLink(headers.get('link'))
        const total = headers.has('x-total-count') ? Number(headers.get('x-total-count')) : NaN
        const more = Number.isFinite(total) ? items.length < total : batch.length >= PAGE_SIZE
        url = next?.startsWith(`${base}/`) ? next : batch.length && more ? pageUrl(page + 1) : null
      }
      return items
    },
  }
}
