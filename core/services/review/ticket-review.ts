/**
 * A ticket's PR as the review page shows it, read live from GitHub (summary, commits, changed
 * files, every comment) and annotated with what the app did about each comment; posting a comment
 * and merging. GitHub's failures arrive as GithubError (4xx/502), never as a 500.
 */
import type { AppContext } from '../../context.ts'
import { conflict, notFound, unprocessable } from '../../errors.ts'
import { getTicket } from '../tickets.ts'
import { fromIssueComment, fromReview, fromReviewComment, ingestComment, REPLY_MARKER, type IncomingComment } from './comments.ts'
import { dispatchReview } from './dispatch.ts'
import { githubClient, reviewSettings } from './github.ts'
import { applyPullState, prOfTicket, prView, trackNewPrs, type PrRow } from './prs.ts'
import { linkReplies } from './replies.ts'

/** The ticket's PR row (tracking it first if the ticket just got one); 404 without a PR. */
async function requirePr(ctx: AppContext, projectId: number, ticketId: number): Promise<PrRow> {
  const ticket = await getTicket(ctx.sql, projectId, ticketId)
  let pr = await prOfTicket(ctx.sql, ticketId)
  if (ticket.pr_number && (!pr || pr.number !== ticket.pr_number)) {
    await trackNewPrs(ctx)
    pr = await prOfTicket(ctx.sql, ticketId)
  }
  if (!pr) throw notFound(`pull request of ticket ${ticketId}`)
  if (!pr.repo) throw unprocessable(pr.last_error ?? `cannot tell the GitHub repository of PR #${pr.number}`)
  return pr
}

/** Comment status in the app: what it did, or is doing, about the comment. */
function status(row: Record<string, any> | undefined): string {
  if (!row) return 'not_stored'
  if (row.ignored_reason) return 'ignored'
  if (row.addressed_at) return 'addressed'
  if (row.failed_at) return 'failed'
  if (row.authorized === null) return 'undecided'
  if (row.job_status === 'pending' || row.job_status === 'running') return 'in_progress'
  return 'queued'
}

export async function getTicketReview(ctx: AppContext, projectId: number, ticketId: number) {
  const pr = await requirePr(ctx, projectId, ticketId)
  const gh = githubClient(await reviewSettings(ctx, projectId))
  const at = `/repos/${pr.repo}/pulls/${pr.number}`
  const what = `pull request #${pr.number} of ${pr.repo}`
  const [pull, commits, files, issueComments, reviewComments, reviews] = await Promise.all([
    gh.get<any>(at, what),
    gh.list<any>(`${at}/commits`, `commits of ${what}`, { maxPages: 3 }),
    gh.list<any>(`${at}/files`, `files of ${what}`, { maxPages: 30 }),
    gh.list<any>(`/repos/${pr.repo}/issues/${pr.number}/comments`, `comments of ${what}`),
    gh.list<any>(`${at}/comments`, `review comments of ${what}`),
    gh.list<any>(`${at}/reviews`, `reviews of ${what}`),
  ])
  const github = pull.data!
  // GitHub is the source of truth; a missed webhook is corrected right here.
  if (pr.tracking || github.merged) await applyPullState(ctx, pr.id, github)
  const current = (await prOfTicket(ctx.sql, ticketId))!
  const stored = await ctx.sql`
    select c.kind, c.github_id, c.authorized, c.ignored_reason, c.addressed_at, c.failed_at, c.error, c.job_id, c.attempts, j.status as job_status
    from pr_review_comments c left join agent_jobs j on j.id = c.job_id where c.pr_id = ${pr.id}`
  const byKey = new Map(stored.map((row) => [`${row.kind}:${row.github_id}`, row]))
  const comments = await linkReplies(ctx.sql, ticketId, [
    ...(issueComments.data ?? []).map(fromIssueComment),
    ...(reviewComments.data ?? []).map(fromReviewComment),
    ...(reviews.data ?? []).map(fromReview),
  ]
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.githubId - b.githubId)
    .map((c: IncomingComment) => {
      const row = byKey.get(`${c.kind}:${c.githubId}`)
      return {
        id: c.githubId, kind: c.kind, author: c.author, body: c.body, created_at: c.createdAt, html_url: c.htmlUrl,
        path: c.path, line: c.line, review_state: c.reviewState, status: status(row),
        ignored_reason: row?.ignored_reason ?? null, job_id: row?.job_id ?? null, attempts: row?.attempts ?? 0, error: row?.error ?? null,
      }
    }))
  return {
    ticket_id: ticketId,
    pr: prView(current),
    github: {
      number: github.number, title: github.title, body: github.body, state: github.state, merged: !!github.merged,
      draft: !!github.draft, mergeable: github.mergeable ?? null, mergeable_state: github.mergeable_state ?? null,
      html_url: github.html_url, head: github.head?.ref ?? null, base: github.base?.ref ?? null, author: github.user?.login ?? null,
      created_at: github.created_at, updated_at: github.updated_at,
    },
    commits: (commits.data ?? []).map((c: any) => ({
      sha: c.sha, message: c.commit?.message ?? c.message ?? '', author: c.commit?.author?.name ?? c.author?.login ?? null,
      date: c.commit?.author?.date ?? null, html_url: c.html_url ?? null,
    })),
    files: (files.data ?? []).map((f: any) => ({
      filename: f.filename, status: f.status, additions: f.additions ?? 0, deletions: f.deletions ?? 0, changes: f.changes ?? 0, patch: f.patch ?? null,
    })),
    comments,
  }
}

/**
 * Posts a comment on the PR as the app's GitHub user, naming the person who wrote it (GitHub shows
 * the token's identity as its author). By default it is a request like any other (stored and, the
 * token's user being a writer, addressed by a review job); `trigger_review: false` marks it as the
 * app's own so no agent acts on it.
 */
export async function postReviewComment(
  ctx: AppContext, projectId: number, ticketId: number, input: { body: string; trigger_review?: boolean }, writer: { userId: number | null } = { userId: null },
) {
  const pr = await requirePr(ctx, projectId, ticketId)
  if (pr.state !== 'open') throw conflict(`pull request #${pr.number} is ${pr.state}`)
  const settings = await reviewSettings(ctx, projectId)
  const gh = githubClient(settings)
  const signed = `${await byline(ctx, writer.userId)}${input.body}`
  const body = input.trigger_review === false ? `${signed}\n\n${REPLY_MARKER}` : signed
  const res = await gh.request<any>('POST', `/repos/${pr.repo}/issues/${pr.number}/comments`, `comment on #${pr.number} of ${pr.repo}`, { body: { body } })
  const stored = await ingestComment(ctx, pr, fromIssueComment(res.data), { settings, gh })
  const job = await dispatchReview(ctx, pr.id)
  return {
    comment: { id: res.data.id, html_url: res.data.html_url ?? null, body: res.data.body, author: res.data.user?.login ?? null },
    authorized: stored.authorized,
    ignored_reason: stored.ignored_reason,
    job_id: job?.id ?? null,
  }
}

/**
 * "**Alice** (via Terarchitect): " for a person with an account, else nothing (the app without
 * accounts has one anonymous operator). The name is escaped: it is the person's, not Markdown, and
 * an `@` in it must not mention anyone on the forge.
 */
async function byline(ctx: AppContext, userId: number | null): Promise<string> {
  if (userId === null) return ''
  const [user] = await ctx.sql`select coalesce(nullif(display_name, ''), login) as name from users where id = ${userId}`
  if (!user) return ''
  const name = String(user.name).replace(/[\r\n]+/g, ' ').replace(/[\\`*_{}[\]()#+\-.!<>|~@]/g, (c) => `\\${c}`)
  return `**${name}** (via Terarchitect): `
}

export type MergeMethod = 'merge' | 'squash' | 'rebase'

/** Merges on GitHub, then applies the merge at once (ticket → Done) instead of waiting for the webhook. */
export async function mergeReview(
  ctx: AppContext,
  projectId: number,
  ticketId: number,
  input: { method?: MergeMethod; commit_title?: string; commit_message?: string; sha?: string },
) {
  const pr = await requirePr(ctx, projectId, ticketId)
  if (pr.state === 'merged') throw conflict(`pull request #${pr.number} is already merged`)
  if (pr.state === 'closed') throw conflict(`pull request #${pr.number} is closed`)
  const gh = githubClient(await reviewSettings(ctx, projectId))
  const body: Record<string, string> = { merge_method: input.method ?? 'merge' }
  if (input.commit_title) body.commit_title = input.commit_title
  if (input.commit_message) body.commit_message = input.commit_message
  if (input.sha) body.sha = input.sha
  const res = await gh.request<any>('PUT', `/repos/${pr.repo}/pulls/${pr.number}/merge`, `merge of #${pr.number} of ${pr.repo}`, { body })
  await applyPullState(ctx, pr.id, { state: 'closed', merged: true })
  return { merged: true, sha: res.data?.sha ?? null, message: res.data?.message ?? null, pr: prView((await prOfTicket(ctx.sql, ticketId))!), ticket: await getTicket(ctx.sql, projectId, ticketId) }
}
