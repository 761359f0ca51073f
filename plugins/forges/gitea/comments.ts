/**
 * A pull request's conversation on Gitea/Forgejo: issue comments (one list, filtered by `since`),
 * submitted reviews (paginated) and each review's inline comments.
 *
 * Poll cursor: `{ request, since, seen }` — what the pull looked like (a fingerprint), the newest
 * comment time returned so far, and the keys (`kind:id@updatedAt`) already returned at exactly that
 * time. Gitea's times have whole seconds, so a comment made in the second of the last poll is told
 * apart by key, and `since` is sent one second early so that second is kept whether the server
 * compares with `>` or `>=`.
 */
import type { ForgeComment, PollCursor, PullRequest } from '../../../core/forge.ts'
import type { GiteaHttp } from './client.ts'
import { repoPath } from './repo-url.ts'
import { toRequest, type GiteaPull } from './requests.ts'

interface GiteaUser { login?: string; id?: number }

/**
 * Gitea's API has no bot flag on users: system users (Gitea Actions, Ghost) have negative ids, and
 * bot accounts are told by name — `[bot]` (migrated and app accounts) or a `-bot`, `_bot`, `.bot` suffix.
 */
export const isBot = (user: GiteaUser | null | undefined) => !!user && ((user.id ?? 0) < 0 || /(\[bot\]|[-_.]bot)$/i.test(user.login ?? ''))

/** Gitea review states → the interface's; PENDING (unsubmitted) and REQUEST_REVIEW (a request) are not reviews. */
const REVIEW_STATES: Record<string, string> = { APPROVED: 'APPROVED', REQUEST_CHANGES: 'CHANGES_REQUESTED', COMMENT: 'COMMENTED' }

const base = (kind: ForgeComment['kind'], c: any): ForgeComment => ({
  kind,
  id: Number(c.id),
  author: String(c.user?.login ?? ''),
  authorIsBot: isBot(c.user),
  body: String(c.body ?? ''),
  path: null,
  line: null,
  reviewState: null,
  url: c.html_url ?? null,
  createdAt: String(c.created_at ?? c.submitted_at ?? ''),
  updatedAt: String(c.updated_at ?? c.created_at ?? c.submitted_at ?? ''),
})

export const toIssueComment = (c: any): ForgeComment => base('issue_comment', c)

const toReview = (r: any): ForgeComment => ({ ...base('review', { ...r, created_at: r.submitted_at ?? r.created_at }), reviewState: REVIEW_STATES[r.state] ?? null })

// `position` is the line in the new file, `original_position` in the old one (0: not on that side).
const toReviewComment = (c: any): ForgeComment => ({ ...base('review_comment', c), path: c.path ?? null, line: Number(c.position) || Number(c.original_position) || null })

/** What a poller notices of the pull itself; `updated_at` alone has whole seconds and misses a change in the same second. */
const fingerprint = (pull: GiteaPull) => {
  const r = toRequest(pull)
  return [r.updatedAt, r.state, r.draft, r.headSha, r.baseBranch, r.title, r.mergeable].join('|')
}

const byTime = (a: ForgeComment, b: ForgeComment) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id - b.id
const key = (c: ForgeComment) => `${c.kind}:${c.id}@${c.updatedAt}`

export function commentsApi(http: GiteaHttp) {
  const issuePath = (repo: string, number: number) => `${repoPath(repo)}/issues/${Math.trunc(number)}/comments`
  const pullPath = (repo: string, number: number) => `${repoPath(repo)}/pulls/${Math.trunc(number)}`

  async function collect(repo: string, number: number, since: string | null): Promise<ForgeComment[]> {
    const query = since ? `?since=${encodeURIComponent(new Date(Date.parse(since) - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'))}` : ''
    const issueComments = await http.call<any[]>('GET', issuePath(repo, number) + query, `comments of pull request ${number}`)
    const submitted = (await http.list<any>(`${pullPath(repo, number)}/reviews`, `reviews of pull request ${number}`)).filter((r) => REVIEW_STATES[r.state])
    // A COMMENT review without text only holds inline comments, which are listed on their own.
    const reviews = submitted.filter((r) => !(r.state === 'COMMENT' && !String(r.body ?? '').trim()))
    const inline: ForgeComment[] = []
    // Every poll reads the inline comments of every submitted review that has some: a reply in a
    // thread joins the thread's review without changing the review's times.
    for (const review of submitted) {
      if (!Number(review.comments_count)) continue
      const comments = await http.call<any[]>('GET', `${pullPath(repo, number)}/reviews/${Number(review.id)}/comments`, `comments of review ${review.id}`)
      inline.push(...(comments ?? []).map(toReviewComment))
    }
    return [...(issueComments ?? []).map(toIssueComment), ...reviews.map(toReview), ...inline].sort(byTime)
  }

  return {
    listComments: (repo: string, number: number) => collect(repo, number, null),

    async poll(repo: string, number: number, cursor: PollCursor): Promise<{ request: PullRequest | null; comments: ForgeComment[]; cursor: PollCursor }> {
      const pull = await http.call<GiteaPull>('GET', pullPath(repo, number), `pull request ${number}`)
      const since = typeof cursor.since === 'string' ? cursor.since : null
      const seen = new Set(Array.isArray(cursor.seen) ? cursor.seen.map(String) : [])
      const all = await collect(repo, number, since)
      const sinceMs = since ? Date.parse(since) : -Infinity
      const comments = all.filter((c) => Date.parse(c.updatedAt) > sinceMs || (Date.parse(c.updatedAt) === sinceMs && !seen.has(key(c))))
      const newest = comments.reduce((max, c) => Math.max(max, Date.parse(c.updatedAt)), sinceMs)
      const next: PollCursor = { request: fingerprint(pull), since, seen: [...seen] }
      if (newest > sinceMs) {
        next.since = comments.find((c) => Date.parse(c.updatedAt) === newest)!.updatedAt
        next.seen = all.filter((c) => Date.parse(c.updatedAt) === newest).map(key)
      } else if (comments.length) {
        next.seen = [...seen, ...comments.map(key)]
      }
      return { request: cursor.request !== next.request ? toRequest(pull) : null, comments, cursor: next }
    },

    async comment(repo: string, number: number, body: string): Promise<ForgeComment> {
      return toIssueComment(await http.call('POST', issuePath(repo, number), `comment on pull request ${number}`, { body }))
    },
  }
}
