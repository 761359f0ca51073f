/**
 * Forge webhooks, the fast path of review ingestion (the poller is the guarantee). The plugin of
 * the delivery's kind verifies it before anything in it is acted on, under the secret of each
 * project it may be about (webhook-projects.ts); a delivery that does not verify is refused, and a
 * repeated one too (webhook-replay.ts). Every event handler receives the verified projects and acts
 * within them only. Comments on tracked requests are stored and dispatched like polled ones; a
 * request event (closed, merged, reopened) is a prompt to read the request from the forge again,
 * never a state taken from the delivery.
 */
import type { AppContext } from '../../context.ts'
import { notFound } from '../../errors.ts'
import type { ForgeWebhooks } from '../../forge.ts'
import { handleIssueEvent } from '../intake/webhook.ts'
import { handleChecksEvent } from '../ci-fix/webhook.ts'
import { verifiedProjects, type Delivery, type VerifiedProjects } from '../webhook-projects.ts'
import { claimDelivery } from '../webhook-replay.ts'
import { ingestComment } from './comments.ts'
import { dispatchReview } from './dispatch.ts'
import { reviewAccess } from './forge.ts'
import { applyPullState, findTrackedPr, prView, trackNewPrs, type PrRow } from './prs.ts'

export type { Delivery } from '../webhook-projects.ts'

/** The webhooks capability of a registered forge kind; 404 for an unknown kind or one without webhooks. */
export function webhooksOf(ctx: AppContext, kind: string): ForgeWebhooks {
  const hooks = ctx.forges.get(kind)?.webhooks
  if (!hooks) throw notFound(`webhooks of forge ${kind}`)
  return hooks
}

export async function handleWebhook(ctx: AppContext, kind: string, delivery: Delivery): Promise<Record<string, unknown>> {
  const hooks = webhooksOf(ctx, kind)
  const verified = await verifiedProjects(ctx, kind, hooks, delivery)
  const release = await claimDelivery(ctx, kind, delivery, verified.ids)
  try {
    return await handleVerified(ctx, hooks, delivery, verified)
  } catch (error) {
    await release()
    throw error
  }
}

async function handleVerified(ctx: AppContext, hooks: ForgeWebhooks, delivery: Delivery, verified: VerifiedProjects): Promise<Record<string, unknown>> {
  const event = hooks.parse(delivery.headers, delivery.body)
  if (event.type === 'ping') return { ok: true }
  if (event.type === 'ignored') return { ignored: event.reason }
  if (!verified.ids.length) {
    const what = event.type === 'comment' || event.type === 'request' ? `${event.repo}#${event.number} is not a tracked pull request: ` : ''
    return { ignored: `${what}no project on ${verified.kind} has repository ${event.repo}` }
  }
  if (event.type === 'issue') return handleIssueEvent(ctx, event, verified)
  if (event.type === 'checks') return handleChecksEvent(ctx, event, verified)
  const pr = await trackedPr(ctx, event.repo, event.number, verified)
  if (!pr) return { ignored: `${event.repo}#${event.number} is not a tracked pull request` }
  if (event.type === 'request') {
    const access = await reviewAccess(ctx, pr.project_id)
    if (!access.client) return { ignored: `${event.repo}#${event.number}: no forge token to read the request with; the poller will` }
    const pull = await access.client.getRequest(event.repo, event.number)
    await applyPullState(ctx, pr.id, pull)
    return { pr: prView(pr), state: pull.state }
  }
  if (!pr.tracking) return { ignored: `${event.repo}#${event.number} is ${pr.state}; no longer tracked` }
  const stored = await ingestComment(ctx, pr, event.comment, await reviewAccess(ctx, pr.project_id))
  const job = stored.created ? await dispatchReview(ctx, pr.id) : null
  return { comment_id: stored.id, created: stored.created, authorized: stored.authorized, ignored_reason: stored.ignored_reason, job_id: job?.id ?? null }
}

/** The tracked PR of the verified projects; a PR reported moments ago may not have its row yet, so tracking is caught up once. */
async function trackedPr(ctx: AppContext, repo: string, number: number, verified: VerifiedProjects): Promise<PrRow | null> {
  const pr = await findTrackedPr(ctx.sql, repo, number, verified.ids)
  if (pr) return pr
  return (await trackNewPrs(ctx)) ? findTrackedPr(ctx.sql, repo, number, verified.ids) : null
}
