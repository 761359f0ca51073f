/**
 * What a setup "Test" answers: whether the thing works, the remote's HTTP status (null when it was
 * never reached) and a short reason in words. Never the remote's response body: the URLs tested are
 * settings an admin typed and may point at any service, whose answer must not come back through
 * the app (docs/SECURITY.md "Setup checks").
 */
import { redactText } from '../../log.ts'

/**
 * - `ok`: it works;
 * - `not_configured`: a setting it needs is empty;
 * - `unreachable`: connection refused, DNS, TLS or timeout (the URL is wrong or the service down);
 * - `wrong_url`: the service answered but has no such endpoint (404/405: the URL's path is wrong);
 * - `wrong_key`: the key or token was refused (401/403);
 * - `no_push`: the token works but cannot push to the project's repository;
 * - `not_found`: the project's repository is missing or the token cannot see it;
 * - `rejected`: the request was refused for another reason (a model name, a rate limit, a 5xx).
 */
export type CheckKind = 'ok' | 'not_configured' | 'unreachable' | 'wrong_url' | 'wrong_key' | 'no_push' | 'not_found' | 'rejected'

export interface CheckOutcome {
  ok: boolean
  kind: CheckKind
  /** The remote's HTTP status, or null when no answer came. */
  status: number | null
  reason: string
}

export const outcome = (kind: CheckKind, status: number | null, reason: string): CheckOutcome =>
  ({ ok: kind === 'ok', kind, status, reason: redactText(reason) })

/** How long one test request may take before it counts as unreachable. */
export const CHECK_TIMEOUT_MS = 8000

/** A failed `fetch` in words: the error code node gives (ECONNREFUSED, ENOTFOUND, …), never a body. */
export function unreachable(what: string, url: string, error: unknown): CheckOutcome {
  const cause = (error as { cause?: { code?: string } }).cause
  const code = cause?.code ?? ((error as Error).name === 'TimeoutError' ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s` : (error as Error).message)
  return outcome('unreachable', null, `${what} is unreachable at ${hostOf(url)}: ${code}. Check the URL (and that the service runs and the app's host can reach it).`)
}

/** The origin of a URL, for reasons: no path, query or credentials. */
export function hostOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return 'an invalid URL'
  }
}

/** Drains an answer's body unread, so the connection is released and nothing of it is kept. */
export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {})
}
