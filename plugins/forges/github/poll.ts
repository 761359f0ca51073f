/**
 * Incremental polling of one pull request. The request is asked with the ETag of its last answer;
 * each comment stream with `?since=` the newest update seen (issue and review comments; GitHub does
 * not filter reviews) and the ETag of its last answer for the same URL: GitHub answers 304, which
 * costs no rate limit, when nothing changed. `since` is inclusive, so the ids already returned at
 * that exact second are kept in the cursor and not returned again.
 *
 * Cursor (stored as JSON by the caller; rows written before `seen` existed still work):
 *   { pull: { url, etag }, issue_comments | review_comments | reviews: { since, seen, url, etag } }
 */
import type { ForgeComment, PollCursor, PullRequest } from '../../../core/forge.ts'
import type { GithubHttp } from './http.ts'
import { fromIssueComment, fromReview, fromReviewComment, toPullRequest } from './shapes.ts'

interface StreamCursor { since?: string | null; seen?: number[]; url?: string; etag?: string | null }

interface Stream {
  key: 'issue_comments' | 'review_comments' | 'reviews'
  path(repo: string, number: number): string
  /** GitHub filters this list with `?since=`. */
  since: boolean
  normalize(item: unknown): ForgeComment
}

export const STREAMS: Stream[] = [
  { key: 'issue_comments', path: (repo, n) => `/repos/${repo}/issues/${n}/comments`, since: true, normalize: fromIssueComment },
  { key: 'review_comments', path: (repo, n) => `/repos/${repo}/pulls/${n}/comments`, since: true, normalize: fromReviewComment },
  { key: 'reviews', path: (repo, n) => `/repos/${repo}/pulls/${n}/reviews`, since: false, normalize: fromReview },
]

export async function poll(http: GithubHttp, repo: string, number: number, given: PollCursor): Promise<{ request: PullRequest | null; comments: ForgeComment[]; cursor: PollCursor }> {
  const cursor = structuredClone(given) as Record<string, any>
  const pullPath = `/repos/${repo}/pulls/${number}`
  const pull = await http.get<any>(pullPath, `pull request #${number} of ${repo}`, cursor.pull?.url === pullPath ? cursor.pull.etag : null)
  let request: PullRequest | null = null
  if (pull.status !== 304 && pull.data) {
    request = toPullRequest(repo, pull.data)
    cursor.pull = { url: pullPath, etag: pull.etag }
  }
  const comments: ForgeComment[] = []
  for (const stream of STREAMS) {
    const before: StreamCursor = cursor[stream.key] ?? {}
    const url = stream.path(repo, number) + (stream.since && before.since ? `?since=${encodeURIComponent(before.since)}` : '')
    const res = await http.list<unknown>(url, `${stream.key.replace('_', ' ')} of #${number} on ${repo}`, { etag: before.url === url ? before.etag : null })
    if (res.status === 304) continue
    const seen = new Set(before.seen ?? [])
    const fresh = (res.data ?? []).map(stream.normalize)
      .filter((c) => !before.since || c.updatedAt > before.since || (c.updatedAt === before.since && !seen.has(c.id)))
    let since = before.since ?? null
    for (const c of fresh) if (!since || c.updatedAt > since) since = c.updatedAt
    const atSince = fresh.filter((c) => c.updatedAt === since).map((c) => c.id)
    const keep = since === before.since ? [...seen, ...atSince] : atSince
    comments.push(...fresh)
    cursor[stream.key] = { since, seen: keep.slice(-500), url, etag: res.etag } satisfies StreamCursor
  }
  comments.sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id - b.id)
  return { request, comments, cursor }
}
