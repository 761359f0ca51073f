/**
 * A ticket's PR as the review page shows it, read live from the project's forge (summary, commits,
 * changed files, every comment) and annotated with what the app did about each comment; posting a
 * comment and merging. The forge's failures arrive as ForgeError (4xx/502), never as a 500.
 */
import type { AppContext } from '../../context.ts'
import { conflict, notFound, unprocessable } from '../../errors.ts'
import { forgeAccess } from '../forge-token.ts'
import { getTicket } from '../tickets.ts'
import { ingestComment, REPLY_MARKER } from './comments.ts'
import { dispatchReview } from './dispatch.ts'
import { forgeClient, reviewSettings } from './forge.ts'
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
  if (!pr.repo) {
    // A repository REPO_ALLOWLIST refuses is refused as such (403), not as an unreadable URL.
    await forgeAccess(ctx, projectId)
    throw unprocessable(pr.last_error ?? `cannot tell the forge repository of PR #${pr.number}`)
  }
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
  const settings = await reviewSettings(ctx, projectId)
  const client = forgeClient(settings)
  const repo = pr.repo!
  const [pull, commits, files, listed] = await Promise.all([
    client.getRequest(repo, pr.number),
    client.requestCommits(repo, pr.number),
    client.requestFiles(repo, pr.number),
    client.listComments(repo, pr.number),
  ])
  // The forge is the source of truth; a missed webhook is corrected right here.
  if (pr.tracking || pull.state === 'merged') await applyPullState(ctx, pr.id, { state: pull.state, title: pull.title, url: pull.url, headBranch: pull.headBranch })
  const current = (await prOfTicket(ctx.sql, ticketId))!
  const stored = await ctx.sql`
    select c.kind, c.github_id, c.authorized, c.ignored_reason, c.addressed_at, c.failed_at, c.error, c.job_id, c.attempts, j.status as job_status
    from pr_review_comments c left join agent_jobs j on j.id = c.job_id where c.pr_id = ${pr.id}`
  const byKey = new Map(stored.map((row) => [`${row.kind}:${row.github_id}`, row]))
  const comments = await linkReplies(ctx.sql, ticketId, listed.map((c) => {
    const row = byKey.get(`${c.kind}:${c.id}`)
    return {
      id: c.id, kind: c.kind, author: c.author, body: c.body, created_at: c.createdAt, html_url: c.url,
      path: c.path, line: c.line, review_state: c.reviewState, status: status(row),
      ignored_reason: row?.ignored_reason ?? null, job_id: row?.job_id ?? null, attempts: row?.attempts ?? 0, error: row?.error ?? null,
    }
  }))
  return {
    ticket_id: ticketId,
    forge: settings.kind,
    pr: prView(current),
    // `github`: the request as the forge describes it (the name predates other forges; the UI reads it).
    github: {
      number: pull.number, title: pull.title, body: pull.body, state: pull.state === 'open' ? 'open' : 'closed', merged: pull.state === 'merged',
      draft: pull.draft, mergeable: pull.mergeable, mergeable_state: null, html_url: pull.url, head: pull.headBranch || null,
      base: pull.baseBranch || null, author: pull.author, created_at: pull.createdAt, updated_at: pull.updatedAt,
    },
    commits: commits.map((c) => ({ sha: c.sha, message: c.message, author: c.author, date: c.date, html_url: c.url })),
    files: files.map((f) => ({
      filename: f.path, status: f.status, additions: f.additions, deletions: f.deletions, changes: f.additions + f.deletions, patch: f.patch,
    })),
    comments,
  }
}

/**
 * Posts a comment on the PR as the app's forge user, naming the person who wrote it (the forge shows
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
  const client = forgeClient(settings)
  const signed = `${await byline(ctx, writer.userId)}${input.body}`
  const body = input.trigger_review === false ? `${signed}\n\n${REPLY_MARKER}` : signed
  const posted = await client.comment(pr.repo!, pr.number, body)
  const stored = await ingestComment(ctx, pr, posted, { settings, client })
  const job = await dispatchReview(ctx, pr.id)
  return {
    comment: { id: posted.id, html_url: posted.url, body: posted.body, author: posted.author },
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

/** Merges on the forge, then applies the merge at once (ticket → Done) instead of waiting for the webhook. */
export async function mergeReview(
  ctx: AppContext,
  projectId: number,
  ticketId: number,
  input: { method?: MergeMethod; commit_title?: string; commit_message?: string; sha?: string },
) {
  const pr = await requirePr(ctx, projectId, ticketId)
  if (pr.state === 'merged') throw conflict(`pull request #${pr.number} is already merged`)
  if (pr.state === 'closed') throw conflict(`pull request #${pr.number} is closed`)
  const client = forgeClient(await reviewSettings(ctx, projectId))
  const merged = await client.merge(pr.repo!, pr.number, {
    method: input.method ?? 'merge',
    ...(input.commit_title ? { title: input.commit_title } : {}),
    ...(input.commit_message ? { message: input.commit_message } : {}),
    ...(input.sha ? { sha: input.sha } : {}),
  })
  await applyPullState(ctx, pr.id, { state: 'merged' })
  return { merged: true, sha: merged.sha, message: `pull request #${pr.number} merged`, pr: prView((await prOfTicket(ctx.sql, ticketId))!), ticket: await getTicket(ctx.sql, projectId, ticketId) }
}
