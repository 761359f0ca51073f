/**
 * The one HTTP client of the UI. JSON in and out; a non-2xx answer becomes an `ApiError` carrying
 * the server's `{error:{code,message,details}}`, whose details name the offending field by path
 * (`/body/repo_url`), so forms can put each message next to its input.
 */
import { detailText, detailsText } from './validation-text.ts'

export interface ErrorDetail {
  path: string
  message: string
}

/**
 * Where an earlier UI kept an admin token. The UI now signs in with the session cookie (HttpOnly,
 * out of scripts' reach) and never sends a stored token: the key is cleared once on load, so a
 * token left there can neither be used nor read by a script.
 */
const LEGACY_TOKEN_KEY = 'terarchitect.adminToken'
try {
  localStorage.removeItem(LEGACY_TOKEN_KEY)
} catch {
  // Storage may be unavailable (private mode, tests without a DOM): nothing to clear then.
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message)
    this.name = 'ApiError'
  }

  /**
   * Messages by field, in words (validation-text.ts): `/body/repo_url` → `repo_url`,
   * `/body/columns/2/title` → `columns.2.title`, each "Title is too long: at most 300 characters".
   */
  fields(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const detail of this.details) {
      const key = fieldOf(detail.path)
      if (key && !(key in out)) out[key] = detailText(key, detail.message)
    }
    return out
  }

  /**
   * One line for a banner or toast, for people: each refused field as a sentence when the answer
   * names fields, else the server's message. The API's own message (with paths) stays in `message`.
   */
  describe(): string {
    const sentences = detailsText(this.details, fieldOf)
    if (sentences.length) return sentences.join('. ')
    return this.message.charAt(0).toUpperCase() + this.message.slice(1)
  }
}

/** `/body/a/0/b` → `a.0.b`; the request part (body, query, params) is dropped. */
export function fieldOf(path: string): string {
  const parts = path.split('/').filter(Boolean)
  if (['body', 'query', 'params'].includes(parts[0] ?? '')) parts.shift()
  return parts.join('.')
}

/** Any thrown value as text fit to show a person. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.describe()
  if (error instanceof Error) return error.message
  return String(error)
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  // The server refuses a state change that is not JSON (415), with or without a body: that is what
  // keeps other sites' forms and no-cors fetches out.
  if (method !== 'GET' && method !== 'HEAD') headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal })
  } catch (error) {
    if (signal?.aborted) throw error
    throw new ApiError(0, 'network', 'Cannot reach the Terarchitect server. Check that it is running, then try again.')
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = null
  }
  if (res.ok) return parsed as T
  const error = (parsed as { error?: { code?: string; message?: string; details?: ErrorDetail[] } } | null)?.error
  if (res.status === 401) window.dispatchEvent(new CustomEvent('ta-auth-required'))
  throw new ApiError(
    res.status,
    error?.code ?? `http_${res.status}`,
    error?.message ?? `The server answered ${res.status} ${res.statusText}`.trim(),
    Array.isArray(error?.details) ? error.details : [],
  )
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: (path: string) => request<void>('DELETE', path),
}
