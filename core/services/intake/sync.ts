/**
 * One issue, brought up to date, whoever noticed it (the webhook or the poller): not yet imported →
 * `importIssue` when it is open and carries an intake label; imported → the app's one comment naming
 * the ticket (marked, posted once), its state (closing the issue stops the ticket's running job,
 * the same cancel a person's Stop does, its reason naming the issue), and its text: a writer's
 * `edited` delivery updates only the fields it says it changed, and only when the forge's text is
 * the text the signed payload carries (else a reader's pending edit, or a replayed old delivery,
 * would be applied under the writer's name); an edit by anyone else, or by someone the forge does
 * not name (the poller sees that the text changed, not who changed it), is not applied and is shown
 * on the ticket ("edited on the forge by X, not applied") until a writer's edit replaces it.
 */
import type { AppContext } from '../../context.ts'
import { write } from '../../context.ts'
import { isAppError } from '../../errors.ts'
import type { ForgeIssue, IssueText } from '../../forge.ts'
import { recordAudit } from '../audit.ts'
import { cancelJob } from '../queue.ts'
import { getTicket, updateTicket } from '../tickets.ts'
import { boundedBody, boundedTitle, importIssue } from './import.ts'
import { findLink, type IssueLink } from './links.ts'
import type { IntakeTarget } from './target.ts'

/** In the app's comment on an imported issue: it is posted once and never read as a person's. */
export const INTAKE_MARKER = '<!-- terarchitect:intake -->'

export interface IssueHint {
  /** Who made the change the webhook reports (an `edited`'s editor); the poller knows no one. */
  sender?: string | null
  senderIsBot?: boolean
  /** The poller skips an issue not imported whose `updatedAt` it already decided on. */
  source: 'webhook' | 'poller'
  /** A webhook's action and its signed payload's text and changed fields. */
  action?: string
  text?: IssueText | null
  changed?: { title: boolean; body: boolean }
}

export async function syncIssue(ctx: AppContext, target: IntakeTarget, issue: ForgeIssue, hint: IssueHint): Promise<Record<string, unknown>> {
  const repo = target.forge.repo
  const link = await findLink(ctx.sql, target.projectId, repo, issue.number)
  if (!link) {
    if (issue.state !== 'open') return { ignored: `${repo}#${issue.number} is closed` }
    const wanted = [target.labels.label, target.labels.startLabel].filter(Boolean).map((label) => label!.toLowerCase())
    if (!issue.labels.some((label) => wanted.includes(label.toLowerCase()))) return { ignored: `${repo}#${issue.number} carries no intake label` }
    if (hint.source === 'poller' && (await seenAlready(ctx, target, issue))) return { ignored: 'decided before' }
    const outcome = await importIssue(ctx, target, issue, hint.action === 'labeled' ? hint.text ?? null : null)
    const current = outcome.current
    if (!outcome.imported) {
      await ctx.sql`insert into issue_intake_seen (project_id, repo, issue_number, updated_at, outcome) values (${target.projectId}, ${repo}, ${issue.number}, ${current.updatedAt}, ${outcome.reason})
        on conflict (project_id, repo, issue_number) do update set updated_at = excluded.updated_at, outcome = excluded.outcome`
      return { imported: false, reason: outcome.reason }
    }
    const created = await findLink(ctx.sql, target.projectId, repo, issue.number)
    if (created) await postComment(ctx, target, created)
    // Imported from the labelled text while the forge's differs: shown as an edit by someone unknown.
    if (created && (boundedTitle(current) !== created.synced_title || boundedBody(current) !== created.synced_body)) await ignoreEdit(ctx, target, created, current, null, 'editor unknown')
    return { imported: true, ticket_id: outcome.ticketId, started: outcome.started }
  }
  if (link.comment_id === null) await postComment(ctx, target, link)
  if (link.ticket_id === null) return { ignored: `the ticket of ${repo}#${issue.number} was deleted` }
  const state = await syncState(ctx, target, link, issue)
  const edit = await syncText(ctx, target, link, issue, hint)
  return { ticket_id: link.ticket_id, state, edit }
}

async function seenAlready(ctx: AppContext, target: IntakeTarget, issue: ForgeIssue): Promise<boolean> {
  const [row] = await ctx.sql`select updated_at from issue_intake_seen where project_id = ${target.projectId} and repo = ${target.forge.repo} and issue_number = ${issue.number}`
  return row?.updated_at === issue.updatedAt
}

/** The one comment naming the ticket: claimed first (comment_id 0), so two callers never both post. */
async function postComment(ctx: AppContext, target: IntakeTarget, link: IssueLink): Promise<void> {
  if (link.ticket_id === null) return
  const [claimed] = await ctx.sql`update ticket_issues set comment_id = 0 where id = ${link.id} and comment_id is null returning id`
  if (!claimed) return
  try {
    const ticket = await getTicket(ctx.sql, target.projectId, link.ticket_id)
    const key = ticket.project_key ? `${ticket.project_key}-${ticket.number}` : `ticket ${ticket.number}`
    const body = `${INTAKE_MARKER}\nImported as ${key}. Its pull request will close this issue when merged.`
    const posted = await target.issues.comment(target.forge.repo, link.issue_number, body)
    await ctx.sql`update ticket_issues set comment_id = ${posted.id || 0} where id = ${link.id}`
  } catch (error) {
    // Posted by the next sync instead.
    await ctx.sql`update ticket_issues set comment_id = null where id = ${link.id} and comment_id = 0`
    ctx.log.warn('commenting on an imported issue failed; retried on the next sync', { link: link.id, error: (error as Error).message })
  }
}

/** Closing the issue stops the ticket's active job; reopening only records the state. */
async function syncState(ctx: AppContext, target: IntakeTarget, link: IssueLink, issue: ForgeIssue): Promise<string> {
  if (issue.state === link.state) return issue.state
  await ctx.sql`update ticket_issues set state = ${issue.state}, updated_at = now() where id = ${link.id}`
  if (issue.state === 'closed') {
    const ticket = await getTicket(ctx.sql, target.projectId, link.ticket_id!)
    if (ticket.job && ['pending', 'running'].includes(ticket.job.status)) {
      // A job that ended meanwhile answers 409: nothing left to stop.
      await cancelJob(ctx, ticket.job.job_id, { userId: null, label: `the close of issue ${target.forge.repo}#${issue.number}`, address: null }).catch((error) => {
        if (!isAppError(error)) throw error
      })
    }
  }
  await emitTicket(ctx, target.projectId, link.ticket_id!)
  return issue.state
}

async function syncText(ctx: AppContext, target: IntakeTarget, link: IssueLink, issue: ForgeIssue, hint: IssueHint): Promise<string> {
  const title = boundedTitle(issue)
  const body = boundedBody(issue)
  if (title === link.synced_title && body === link.synced_body) return 'none'
  const editor = hint.action === 'edited' ? hint.sender ?? null : null
  if (!editor) return ignoreEdit(ctx, target, link, issue, null, 'editor unknown')
  if (hint.senderIsBot) return ignoreEdit(ctx, target, link, issue, editor, 'a bot')
  if (!(await target.canWrite(editor))) return ignoreEdit(ctx, target, link, issue, editor, 'no write access')
  // The forge's text must be the one the writer's signed delivery carries: otherwise someone edited after it (or it is an old one).
  if (!hint.text || hint.text.title !== issue.title || hint.text.body !== issue.body) return ignoreEdit(ctx, target, link, issue, null, 'editor unknown')
  const fields = { ...(hint.changed?.title ? { title } : {}), ...(hint.changed?.body ? { description: body } : {}) }
  if (!Object.keys(fields).length) return ignoreEdit(ctx, target, link, issue, null, 'editor unknown')
  const syncedTitle = fields.title ?? link.synced_title
  const syncedBody = fields.description ?? link.synced_body
  const actor = { userId: null, label: `${editor} on ${target.forge.kind} (${target.forge.repo}#${issue.number})`, address: null }
  await updateTicket(ctx, target.projectId, link.ticket_id!, fields, actor)
  // A field the writer did not change may still hold someone else's edit: it stays shown as not applied.
  const pending = syncedTitle !== title || syncedBody !== body
  const ignored = pending ? link.ignored_edit ?? { by: null, at: issue.updatedAt } : null
  await ctx.sql`update ticket_issues set synced_title = ${syncedTitle}, synced_body = ${syncedBody}, ignored_edit = ${ignored ? ctx.sql.json(ignored) : null}, updated_at = now() where id = ${link.id}`
  return 'applied'
}

/** Shows an edit not applied on the ticket (once per version of the issue; a named editor is kept over an unknown one) and audits it. */
async function ignoreEdit(ctx: AppContext, target: IntakeTarget, link: IssueLink, issue: ForgeIssue, editor: string | null, reason: string): Promise<string> {
  if (link.ignored_edit && link.ignored_edit.at === issue.updatedAt && (link.ignored_edit.by || !editor)) return 'ignored'
  // Only while the ticket still lacks this text: a writer's delivery handled since `link` was read
  // (a poll racing the webhook) has synced it, and the edit is no longer one not applied.
  const [shown] = await ctx.sql`update ticket_issues set ignored_edit = ${ctx.sql.json({ by: editor, at: issue.updatedAt })}, updated_at = now()
    where id = ${link.id} and (synced_title is distinct from ${boundedTitle(issue)} or synced_body is distinct from ${boundedBody(issue)}) returning id`
  if (!shown) return 'none'
  await recordAudit(ctx.sql, { userId: null, label: 'issue intake', address: null }, {
    action: 'intake.edit_ignored', target: { type: 'ticket', id: link.ticket_id! }, projectId: target.projectId,
    details: { issue: `${target.forge.repo}#${issue.number}`, by: editor, reason },
  })
  await emitTicket(ctx, target.projectId, link.ticket_id!)
  return 'ignored'
}

async function emitTicket(ctx: AppContext, projectId: number, ticketId: number): Promise<void> {
  await write(ctx, async (scope) => {
    const ticket = await getTicket(scope.tx, projectId, ticketId)
    await scope.emit({ project_id: projectId, type: 'ticket.updated', payload: { ticket, from_column_id: ticket.column_id } })
  })
}
