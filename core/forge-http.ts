/**
 * For forge plugins: the HTTP skeleton every forge client shares over `fetch`. The token goes in
 * the plugin's own header to the URL given only; redirects are not followed (a renamed repository's
 * 301, a web page's sign-in redirect are errors, and the token never follows them); an error carries
 * the forge's status through the plugin's own status table, never the forge's response body. And
 * the issue JSON GitHub and Gitea/Forgejo share.
 */
import { ForgeError, type ForgeIssue } from './forge.ts'

/** One row of a plugin's status table: the app's status, an error code and words for people. */
export interface ForgeStatus { status: number; code: string; hint: string }

/** A plugin's status table as a ForgeError builder: `Gitea refused the forge token: what (Gitea 401)`. */
export function statusErrors(forgeName: string, codePrefix: string, table: Record<number, ForgeStatus>) {
  return (status: number, what: string): ForgeError => {
    const mapped = table[status] ?? { status: 502, code: `${codePrefix}_error`, hint: `${forgeName} answered ${status}` }
    return new ForgeError(mapped.code, mapped.status, `${mapped.hint}: ${what} (${forgeName} ${status})`, status)
  }
}

export interface ForgeFetchOptions {
  forgeName: string
  codePrefix: string
  /** The plugin's headers (its auth header with the token, accept, API version). */
  headers: Record<string, string>
  timeoutMs: number
  errorOf: (status: number, what: string) => ForgeError
  /** Non-2xx statuses answered to the caller rather than thrown (GitHub's 304 to If-None-Match). */
  pass?: number[]
}

/** One request; a 2xx (or a `pass` status) answer, else a ForgeError (unreachable: forgeStatus null). */
export async function forgeFetch(options: ForgeFetchOptions, method: string, url: string, what: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const all: Record<string, string> = { ...options.headers, ...headers }
  if (body !== undefined) all['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(url, { method, headers: all, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) })
  } catch (error) {
    throw new ForgeError(`${options.codePrefix}_unreachable`, 502, `${options.forgeName} is unreachable (${what}): ${(error as Error).message}`, null, error)
  }
  if (!res.ok && !options.pass?.includes(res.status)) {
    await res.body?.cancel().catch(() => {})
    throw options.errorOf(res.status, what)
  }
  return res
}

/** The `rel="next"` URL of a `Link` header: `<https://…?page=2>; rel="next", <…>; rel="last"`. */
export function nextLink(header: string | null): string | null {
  if (!header) return null
  for (const part of header.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim())
    if (match && match[2]!.split(/\s+/).includes('next')) return match[1]!
  }
  return null
}

/**
 * An issue as GitHub answers it, a shape Gitea/Forgejo share: `number`, `html_url`, `title`, `body`,
 * `state`, `labels` (objects with a `name`; GitHub's payloads may give plain names), `user.login`,
 * `created_at`, `updated_at`.
 */
export function issueFromJson(data: any): ForgeIssue {
  return {
    number: Number(data?.number),
    url: typeof data?.html_url === 'string' ? data.html_url : null,
    title: String(data?.title ?? ''),
    body: String(data?.body ?? ''),
    state: data?.state === 'closed' ? 'closed' : 'open',
    labels: (Array.isArray(data?.labels) ? data.labels : []).map((label: any) => String(typeof label === 'string' ? label : label?.name ?? '')).filter(Boolean),
    author: typeof data?.user?.login === 'string' ? data.user.login : null,
    createdAt: String(data?.created_at ?? ''),
    updatedAt: String(data?.updated_at ?? ''),
  }
}
