/**
 * The intake's webhook fast path: a verified `issue` delivery (review/webhook.ts verifies and
 * parses it) is handled for every project on that forge and repository whose intake is on. The
 * delivery is a prompt to look, not the truth: the issue and its label events are read from the
 * forge again, so a label counts only by what the forge records about who applied it; the sender is
 * used only as the editor of an `edited` (GitHub, GitLab and Gitea name the editor there and nowhere
 * the poller can read). The payload's text is signed: a `labeled`'s is the text the writer labelled
 * (imported), an `edited`'s the text the editor wrote (applied only while the forge still shows it).
 */
import type { AppContext } from '../../context.ts'
import type { WebhookEvent } from '../../forge.ts'
import type { VerifiedProjects } from '../webhook-projects.ts'
import { syncIssue } from './sync.ts'
import { intakeProjectIds, intakeTarget } from './target.ts'

type IssueEvent = Extract<WebhookEvent, { type: 'issue' }>

/** Acts within `verified.ids` only: the projects whose webhook secret verified the delivery (webhook-projects.ts). */
export async function handleIssueEvent(ctx: AppContext, event: IssueEvent, verified: VerifiedProjects): Promise<Record<string, unknown>> {
  const results: Record<string, unknown>[] = []
  const allowed = new Set(verified.ids)
  for (const projectId of await intakeProjectIds(ctx)) {
    if (!allowed.has(projectId)) continue
    const target = await intakeTarget(ctx, projectId).catch(() => null)
    if (!target || target.forge.kind !== verified.kind || target.forge.repo.toLowerCase() !== event.repo.toLowerCase()) continue
    const issue = await target.issues.get(target.forge.repo, event.number)
    const hint = { source: 'webhook' as const, action: event.action, sender: event.sender, senderIsBot: event.senderIsBot, text: event.text, changed: event.changed }
    results.push({ project_id: projectId, ...(await syncIssue(ctx, target, issue, hint)) })
  }
  if (!results.length) return { ignored: `no project takes issues from ${event.repo}` }
  return { issue: event.number, action: event.action, results }
}
