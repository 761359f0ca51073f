/**
 * Polls one tracked PR: its state, then each comment stream, incrementally. Streams with `since`
 * ask only for items updated at or after the newest one seen; every stream sends the ETag of its
 * last answer for the same URL, and GitHub's 304 costs no rate limit. The cursor only advances
 * past items that were stored, so a failure mid-way is retried from there on the next cycle.
 */
import type { AppContext } from '../../context.ts'
import type { GithubClient } from '../../github-client.ts'
import { fromIssueComment, fromReview, fromReviewComment, ingestComment, type GithubAccess, type IncomingComment } from './comments.ts'
import { applyPullState, type PrRow, type PullFacts } from './prs.ts'

interface Stream {
  key: string
  path(pr: PrRow): string
  /** GitHub filters this list with `?since=` (issue and review comments do; reviews do not). */
  since: boolean
  normalize(item: unknown): IncomingComment
}

const STREAMS: Stream[] = [
  { key: 'issue_comments', path: (pr) => `/repos/${pr.repo}/issues/${pr.number}/comments`, since: true, normalize: fromIssueComment },
  { key: 'review_comments', path: (pr) => `/repos/${pr.repo}/pulls/${pr.number}/comments`, since: true, normalize: fromReviewComment },
  { key: 'reviews', path: (pr) => `/repos/${pr.repo}/pulls/${pr.number}/reviews`, since: false, normalize: fromReview },
]

export interface PollResult {
  /** Comments stored for the first time. */
  stored: number
  state: PrRow['state']
}

export async function pollPr(ctx: AppContext, pr: PrRow, access: GithubAccess & { gh: GithubClient }): Promise<PollResult> {
  const cursors = structuredClone(pr.poll_state ?? {})
  const what = `pull request #${pr.number} of ${pr.repo}`
  let stored = 0
  let state = pr.state
  try {
    const pullPath = `/repos/${pr.repo}/pulls/${pr.number}`
    const pull = await access.gh.get<PullFacts>(pullPath, what, cursors.pull?.etag)
    if (pull.status !== 304 && pull.data) {
      state = (await applyPullState(ctx, pr.id, pull.data)) ?? state
      cursors.pull = { url: pullPath, etag: pull.etag }
    }
    if (state === 'open') {
      for (const stream of STREAMS) stored += await pollStream(ctx, pr, stream, cursors, access)
    }
    await ctx.sql`update prs set poll_state = ${ctx.sql.json(cursors as never)}, last_polled_at = now(), last_error = null where id = ${pr.id}`
  } catch (error) {
    // Kept for the next cycle: what was stored is stored, cursors advanced so far are saved.
    await ctx.sql`update prs set poll_state = ${ctx.sql.json(cursors as never)}, last_polled_at = now(),
      last_error = ${(error as Error).message.slice(0, 2000)} where id = ${pr.id}`
    throw error
  }
  return { stored, state }
}

async function pollStream(ctx: AppContext, pr: PrRow, stream: Stream, cursors: PrRow['poll_state'], access: GithubAccess & { gh: GithubClient }): Promise<number> {
  const cursor = cursors[stream.key] ?? {}
  const since = stream.since && cursor.since ? `?since=${encodeURIComponent(cursor.since)}` : ''
  const url = stream.path(pr) + since
  const res = await access.gh.list<unknown>(url, `${stream.key.replace('_', ' ')} of #${pr.number} on ${pr.repo}`, {
    etag: cursor.url === url ? cursor.etag : null,
  })
  if (res.status === 304) return 0
  const items = (res.data ?? []).map(stream.normalize).sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.githubId - b.githubId)
  let stored = 0
  let newest = cursor.since ?? null
  for (const item of items) {
    const result = await ingestComment(ctx, pr, item, access)
    if (result.created) stored++
    if (!newest || item.updatedAt > newest) newest = item.updatedAt
    cursors[stream.key] = { since: newest }
  }
  // Every item is stored: this answer's ETag is good for asking the same URL again.
  cursors[stream.key] = { since: newest, url, etag: res.etag }
  return stored
}
