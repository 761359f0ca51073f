/**
 * Importing an issue a writer labelled: the Backlog ticket (its title and its body, bounded, as the
 * description: the issue's text is untrusted input that becomes an agent's prompt, and it is nothing
 * more than the ticket's description) and its link are written in one transaction; the link is
 * unique per project and issue, so the webhook and the poller importing at once make one ticket (the
 * loser's transaction rolls back). The start label then moves the ticket to In Progress through
 * `runTicket`, the path a person's move takes, as a member (the one-active-job rule, blockers, the
 * project's cap, whether it can run, and that a local project's agents are started by admins only
 * all apply; a refusal leaves the ticket in the Backlog and says why).
 */
import type { AppContext } from '../../context.ts'
import { AppError, isAppError } from '../../errors.ts'
import type { ForgeIssue, IssueText } from '../../forge.ts'
import { recordAudit, type Actor } from '../audit.ts'
import { createTicket, runTicket } from '../tickets.ts'
import { applications, refusalOf, type LabelApplication } from './decide.ts'
import type { IntakeTarget } from './target.ts'

/** The longest issue title and body a ticket takes (the rest is cut, and the cut said). */
export const MAX_TITLE = 300
export const MAX_BODY = 20_000

export const boundedTitle = (issue: ForgeIssue) => (issue.title.trim() || `Issue #${issue.number}`).slice(0, MAX_TITLE)
export const boundedBody = (issue: ForgeIssue) =>
  issue.body.length > MAX_BODY ? `${issue.body.slice(0, MAX_BODY)}\n\n[the issue's text is cut here: ${issue.body.length} characters in all]` : issue.body

/**
 * A text current this long after the accepted label was applied still counts as the labelled text:
 * the label's own write of the issue. GitLab stamps the issue and its label event apart by
 * milliseconds; Gitea writes the label's timeline entry, then the issue's `updated_at`, both in whole
 * seconds, so the issue's can be the next second; GitHub's are whole seconds too. An edit within it
 * cannot be told from the label's write: the poller takes it (docs/issue-intake.md).
 */
export const LABEL_TEXT_SLACK_MS = 1_000

export const EDITED_AFTER_LABEL = 'edited after it was labelled; a writer must label it again'

/**
 * The issue with a text the writer saw when labelling: `signed` (a `labeled` payload's) first, else
 * the forge's current; null when neither is provably it. The signed text counts only when dated at
 * the label (within the slack either way): a `labeled` delivery of an earlier label (an issue
 * template's, arriving late) carries the text of that moment, which may be replaced since.
 */
function labelledIssue(issue: ForgeIssue, signed: IssueText | null, labelledAt: string): ForgeIssue | null {
  const labelled = Date.parse(labelledAt)
  const at = (time: string | null) => (time === null ? NaN : Date.parse(time))
  const current = (time: string | null) => at(time) <= labelled + LABEL_TEXT_SLACK_MS
  if (signed && current(signed.at) && at(signed.at) >= labelled - LABEL_TEXT_SLACK_MS) return { ...issue, title: signed.title, body: signed.body }
  return current(issue.updatedAt) ? issue : null
}

/** `current`: the issue as read after its label events, which the decision went by. */
export type ImportOutcome =
  | { imported: true; ticketId: number; started: boolean; by: string; text: ForgeIssue; current: ForgeIssue }
  | { imported: false; reason: string; current: ForgeIssue }

const ALREADY = 'intake_already_imported'

/**
 * Decides and, for a writer's label, imports the text the writer labelled (`signed`: the webhook's
 * signed `labeled` payload; else the forge's, when the issue was not updated after the label);
 * refusals are audited and logged (why nothing was imported). The issue is read again after its
 * label events: `read` (the poller's list, the webhook's look) may predate a label applied since,
 * and a text older than the label would pass for the labelled text though it was replaced before.
 */
export async function importIssue(ctx: AppContext, target: IntakeTarget, read: ForgeIssue, signed: IssueText | null = null): Promise<ImportOutcome> {
  const events = await target.issues.labelEvents(target.forge.repo, read.number)
  const current = await target.issues.get(target.forge.repo, read.number)
  let issue = current
  const found = applications(issue, events, target.labels)
  const reasons: string[] = []
  let accepted: LabelApplication | null = null
  for (const application of found) {
    const refusal = refusalOf(issue, application)
    if (refusal) reasons.push(refusal)
    else if (!(await target.canWrite(application.event!.actor!))) reasons.push(`label "${application.label}" was applied by ${application.event!.actor}, who has no write access to ${target.forge.repo}`)
    else {
      const labelled = labelledIssue(current, signed, application.event!.at)
      if (!labelled) reasons.push(`${target.forge.repo}#${current.number} was ${EDITED_AFTER_LABEL}`)
      else {
        accepted = application
        issue = labelled
        break
      }
    }
  }
  const ref = `${target.forge.repo}#${issue.number}`
  if (!accepted) {
    const reason = reasons.join('; ') || 'no intake label'
    await recordAudit(ctx.sql, { userId: null, label: 'issue intake', address: null }, { action: 'intake.refused', target: { type: 'issue', id: ref }, projectId: target.projectId, details: { reason } })
    ctx.log.info('issue not imported', { project: target.projectId, issue: ref, reason })
    return { imported: false, reason, current }
  }
  const by = accepted.event!.actor!
  // A forge writer acts with a member's rights: a local project's agents, which only an admin may start, are not started.
  const actor: Actor = { userId: null, label: `${by} on ${target.forge.kind} (${ref})`, address: null, role: 'member' }
  let ticketId: number
  try {
    const ticket = await createTicket(ctx, target.projectId, { title: boundedTitle(issue), description: boundedBody(issue) }, actor, async ({ tx }, id) => {
      const [link] = await tx`
        insert into ticket_issues (project_id, ticket_id, forge_kind, repo, issue_number, issue_url, imported_by, synced_title, synced_body)
        values (${target.projectId}, ${id}, ${target.forge.kind}, ${target.forge.repo}, ${issue.number}, ${issue.url}, ${by}, ${boundedTitle(issue)}, ${boundedBody(issue)})
        on conflict do nothing returning id`
      if (!link) throw new AppError(ALREADY, 409, `${ref} is already imported`)
      await recordAudit(tx, actor, { action: 'intake.imported', target: { type: 'ticket', id }, projectId: target.projectId, details: { issue: ref, label: accepted.label } })
    })
    ticketId = ticket.id
  } catch (error) {
    if (isAppError(error) && error.code === ALREADY) return { imported: false, reason: 'already imported', current }
    throw error
  }
  ctx.log.info('issue imported', { project: target.projectId, issue: ref, ticket: ticketId, by })
  return { imported: true, ticketId, by, text: issue, current, started: accepted.start ? await startImported(ctx, target.projectId, ticketId, actor) : false }
}

/** The start label's move to In Progress; a refusal (422, 409) is audited and the ticket stays. */
async function startImported(ctx: AppContext, projectId: number, ticketId: number, actor: Actor): Promise<boolean> {
  try {
    await runTicket(ctx, projectId, ticketId, actor)
    return true
  } catch (error) {
    if (!isAppError(error)) throw error
    await recordAudit(ctx.sql, actor, { action: 'intake.start_refused', target: { type: 'ticket', id: ticketId }, projectId, details: { reason: error.message } })
    ctx.log.warn('imported issue not started', { project: projectId, ticket: ticketId, reason: error.message })
    return false
  }
}
