/**
 * Forge webhooks, the fast path of review ingestion (the poller is the guarantee). The plugin of
 * the delivery's kind verifies it under the webhook secret (the project's own for its repository,
 * else the app's: forge-token.ts; FORGE_WEBHOOK_SECRET, for GitHub
 * GITHUB_WEBHOOK_SECRET when that is unset) before anything is parsed; a delivery that does not
 * verify is refused. Comments on tracked requests are stored and dispatched like polled ones;
 * request events (closed, merged, reopened) move the tracked request.
 */
import type { AppContext } from '../../context.ts'
import { notFound, unauthorized } from '../../errors.ts'
import type { ForgeWebhooks } from '../../forge.ts'
import { webhookSecret } from '../forge-token.ts'
import { handleIssueEvent } from '../intake/webhook.ts'
import { ingestComment } from './comments.ts'
import { dispatchReview } from './dispatch.ts'
import { reviewAccess } from './forge.ts'
import { applyPullState, findTrackedPr, prView, trackNewPrs, type PrRow } from './prs.ts'

export interface Delivery {
  /** Header names lower-cased, as node gives them. */
  headers: Record<string, string | undefined>
  body: Buffer
}

/** The webhooks capability of a registered forge kind; 404 for an unknown kind or one without webhooks. */
export function webhooksOf(ctx: AppContext, kind: string): ForgeWebhooks {
  const hooks = ctx.forges.get(kind)?.webhooks
  if (!hooks) throw notFound(`webhooks of forge ${kind}`)
  return hooks
}

export async function handleWebhook(ctx: AppContext, kind: string, delivery: Delivery): Promise<Record<string, unknown>> {
  const hooks = webhooksOf(ctx, kind)
  const secret = await webhookSecret(ctx, kind, delivery)
  const setting = kind === 'github' ? 'FORGE_WEBHOOK_SECRET (or GITHUB_WEBHOOK_SECRET)' : 'FORGE_WEBHOOK_SECRET'
  if (!secret) throw unauthorized(`${setting} is not set: webhook deliveries are refused`)
  if (!hooks.verify(secret, delivery.headers, delivery.body)) throw unauthorized(`the delivery is not signed with the webhook secret of ${kind}`)
  const event = hooks.parse(delivery.headers, delivery.body)
  if (event.type === 'ping') return { ok: true }
  if (event.type === 'ignored') return { ignored: event.reason }
  if (event.type === 'issue') return handleIssueEvent(ctx, event, { kind, ids: null })
  const pr = await trackedPr(ctx, event.repo, event.number)
  if (!pr) return { ignored: `${event.repo}#${event.number} is not a tracked pull request` }
  if (event.type === 'request') {
    const state = await applyPullState(ctx, pr.id, { state: event.state })
    return { pr: prView(pr), state: state ?? pr.state }
  }
  if (!pr.tracking) return { ignored: `${event.repo}#${event.number} is ${pr.state}; no longer tracked` }
  const access = await reviewAccess(ctx, pr.project_id)
  const stored = await ingestComment(ctx, pr, event.comment, access)
  const job = stored.created ? await dispatchReview(ctx, pr.id) : null
  return { comment_id: stored.id, created: stored.created, authorized: stored.authorized, ignored_reason: stored.ignored_reason, job_id: job?.id ?? null }
}

/** The tracked PR; a PR reported moments ago may not have its row yet, so tracking is caught up once. */
async function trackedPr(ctx: AppContext, repo: string, number: number): Promise<PrRow | null> {
  const pr = await findTrackedPr(ctx.sql, repo, number)
  if (pr) return pr
  return (await trackNewPrs(ctx)) ? findTrackedPr(ctx.sql, repo, number) : null
}
