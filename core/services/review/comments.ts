/**
 * Review comments coming in from the forge (webhook or poller), stored once per tracked request,
 * kind and forge id (the `github_id` column holds any forge's id; sql/013), each with the decision
 * whether it triggers work:
 * - the app's own replies (hidden marker) and bots are ignored;
 * - otherwise the author must be a writer (the forge's `canWrite`) or be listed in
 *   REVIEW_ALLOWED_AUTHORS; when the forge cannot be asked, `authorized` stays null and the poller
 *   asks again (`redecideComments`);
 * - an approval marks the PR approved and asks for no change; an empty review body asks for nothing.
 */
import type { AppContext } from '../../context.ts'
import { write } from '../../context.ts'
import type { ForgeComment } from '../../forge.ts'
import { hasWriteAccess, type ReviewAccess } from './forge.ts'
import { setApproved, type PrRow, PR_COLUMNS } from './prs.ts'

/** Put in every comment the app (or its agents) writes, so it is never taken as a new request. */
export const REPLY_MARKER = '<!-- terarchitect:reply -->'

export type CommentKind = ForgeComment['kind']

/** Reasons that need no forge call. */
function triage(comment: ForgeComment): string | null {
  if (comment.body.includes(REPLY_MARKER)) return 'own_reply'
  if (comment.authorIsBot) return 'bot'
  return null
}

/** true / false, or null when the forge could not be asked (logged; retried later). */
async function authorize(ctx: AppContext, access: ReviewAccess, repo: string, login: string): Promise<boolean | null> {
  if (access.settings.allowedAuthors.has(login.toLowerCase())) return true
  if (!access.client) return null
  try {
    return await hasWriteAccess({ ...access, client: access.client }, repo, login)
  } catch (error) {
    ctx.log.warn('could not check a review author\'s access; will retry', { repo, login, error: (error as Error).message })
    return null
  }
}

/** The final decision once `authorized` is known: the ignored reason, or null (work to do). */
function reasonFor(comment: Pick<ForgeComment, 'body' | 'reviewState' | 'kind'>, authorized: boolean | null): string | null {
  if (comment.kind === 'review' && comment.reviewState === 'APPROVED') return 'approval'
  if (!comment.body.trim()) return 'empty'
  if (authorized === false) return 'not_a_writer'
  return null
}

export interface StoredComment {
  id: number
  /** False when the comment was already stored (a webhook and a poll both saw it). */
  created: boolean
  authorized: boolean | null
  ignored_reason: string | null
}

/** Stores the comment once and decides it; the caller dispatches the PR's next job afterwards. */
/**
 * The kinds one forge id may be stored under: its own, or on a forge whose ids are one sequence
 * (`sharedCommentIds`) both comment kinds, so a webhook's `issue_comment` and the poller's
 * `review_comment` of one inline reply are one stored comment.
 */
function sameCommentKinds(comment: ForgeComment, access: ReviewAccess): string[] {
  return access.settings.forge?.sharedCommentIds && comment.kind !== 'review' ? ['issue_comment', 'review_comment'] : [comment.kind]
}

const storedAs = (row: Record<string, unknown>) =>
  ({ id: row.id as number, created: false, authorized: row.authorized as boolean | null, ignored_reason: row.ignored_reason as string | null })

export async function ingestComment(ctx: AppContext, pr: PrRow, comment: ForgeComment, access: ReviewAccess): Promise<StoredComment> {
  const kinds = sameCommentKinds(comment, access)
  const [existing] = await ctx.sql`
    select id, authorized, ignored_reason from pr_review_comments where pr_id = ${pr.id} and kind in (${kinds[0]!}, ${kinds[kinds.length - 1]!}) and github_id = ${comment.id}`
  if (existing) {
    await notePlace(ctx, existing.id as number, comment)
    return storedAs(existing)
  }
  const early = triage(comment)
  const authorized = early ? false : await authorize(ctx, access, pr.repo!, comment.author)
  const reason = early ?? reasonFor(comment, authorized)
  return write(ctx, async (scope) => {
    const { tx } = scope
    if (kinds.length > 1) {
      // A webhook and a poll of the same comment under two kinds: the PR's lock orders them.
      await tx`select id from prs where id = ${pr.id} for update`
      const [other] = await tx`select id, authorized, ignored_reason from pr_review_comments where pr_id = ${pr.id} and kind in (${kinds[0]!}, ${kinds[kinds.length - 1]!}) and github_id = ${comment.id}`
      if (other) return storedAs(other)
    }
    const [row] = await tx`
      insert into pr_review_comments (pr_id, github_id, kind, author, body, path, line, review_state, html_url, created_at, authorized, ignored_reason)
      values (${pr.id}, ${comment.id}, ${comment.kind}, ${comment.author}, ${comment.body}, ${comment.path}, ${comment.line},
        ${comment.reviewState}, ${comment.url}, ${comment.createdAt}, ${authorized}, ${reason})
      on conflict (pr_id, kind, github_id) do nothing
      returning id`
    if (!row) {
      const [again] = await tx`select id, authorized, ignored_reason from pr_review_comments where pr_id = ${pr.id} and kind = ${comment.kind} and github_id = ${comment.id}`
      return storedAs(again!)
    }
    // A writer's approval approves; a writer's request for changes withdraws it.
    if (comment.kind === 'review' && authorized && (comment.reviewState === 'APPROVED' || comment.reviewState === 'CHANGES_REQUESTED')) {
      const [locked] = await tx.unsafe(`select ${PR_COLUMNS} from prs where id = $1 for update`, [pr.id])
      await setApproved(scope, locked as unknown as PrRow, comment.reviewState === 'APPROVED')
    }
    await scope.emit({
      project_id: pr.project_id,
      type: 'pr.comment',
      payload: { pr_id: pr.id, ticket_id: pr.ticket_id, comment_id: row.id, kind: comment.kind, author: comment.author, authorized, ignored_reason: reason },
    })
    return { id: row.id as number, created: true, authorized, ignored_reason: reason }
  })
}

/** An inline place learnt later (the poller after a webhook) fills the stored comment's path and line. */
async function notePlace(ctx: AppContext, id: number, comment: ForgeComment): Promise<void> {
  if (comment.kind !== 'review_comment' || !comment.path) return
  await ctx.sql`update pr_review_comments set path = ${comment.path}, line = ${comment.line} where id = ${id} and path is null`
}

/** Decides the comments whose author could not be checked before. Returns how many were decided. */
export async function redecideComments(ctx: AppContext, pr: PrRow, access: ReviewAccess): Promise<number> {
  const rows = await ctx.sql`
    select id, author, body, kind, review_state from pr_review_comments
    where pr_id = ${pr.id} and authorized is null and ignored_reason is null order by id limit 100`
  let decided = 0
  for (const row of rows) {
    const authorized = await authorize(ctx, access, pr.repo!, row.author as string)
    if (authorized === null) continue
    const reason = reasonFor({ body: row.body as string, kind: row.kind as CommentKind, reviewState: row.review_state as string | null }, authorized)
    await ctx.sql`update pr_review_comments set authorized = ${authorized}, ignored_reason = ${reason} where id = ${row.id as number} and authorized is null`
    decided++
  }
  return decided
}
