/**
 * GitHub webhooks, the fast path of review ingestion (the poller is the guarantee). A delivery is
 * accepted only with a valid `X-Hub-Signature-256` (HMAC-SHA256 of the exact body bytes with
 * GITHUB_WEBHOOK_SECRET, compared in constant time); anything else is refused before parsing.
 * Handled events: issue_comment, pull_request_review_comment, pull_request_review (stored and
 * dispatched like polled ones) and pull_request (closed/merged/reopened), all on tracked PRs.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { AppContext } from '../../context.ts'
import { badRequest, unauthorized } from '../../errors.ts'
import { fromIssueComment, fromReview, fromReviewComment, ingestComment, type IncomingComment } from './comments.ts'
import { dispatchReview } from './dispatch.ts'
import { githubClient, reviewSettings } from './github.ts'
import { applyPullState, findTrackedPr, prView, trackNewPrs, type PrRow } from './prs.ts'

/** True when `header` is `sha256=<hex>` of the body under `secret`. */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '')
  if (!match) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'))
}

export interface Delivery {
  event: string
  signature: string | undefined
  contentType: string
  body: Buffer
}

/** Comment events: the action that creates the comment, and how to read it from the payload. */
const COMMENT_EVENTS: Record<string, { action: string; number(p: any): number | null; comment(p: any): IncomingComment }> = {
  issue_comment: { action: 'created', number: (p) => (p.issue?.pull_request ? p.issue.number : null), comment: (p) => fromIssueComment(p.comment) },
  pull_request_review_comment: { action: 'created', number: (p) => p.pull_request?.number ?? null, comment: (p) => fromReviewComment(p.comment) },
  pull_request_review: { action: 'submitted', number: (p) => p.pull_request?.number ?? null, comment: (p) => fromReview(p.review) },
}

export async function handleWebhook(ctx: AppContext, delivery: Delivery): Promise<Record<string, unknown>> {
  const settings = await reviewSettings(ctx)
  if (!settings.webhookSecret) throw unauthorized('GITHUB_WEBHOOK_SECRET is not set: webhook deliveries are refused')
  if (!verifySignature(settings.webhookSecret, delivery.body, delivery.signature)) {
    throw unauthorized('missing or invalid X-Hub-Signature-256')
  }
  const payload = parsePayload(delivery)
  if (delivery.event === 'ping') return { ok: true, zen: payload.zen ?? null }

  const repo = typeof payload.repository?.full_name === 'string' ? payload.repository.full_name : null
  const spec = COMMENT_EVENTS[delivery.event]
  const number = spec ? spec.number(payload) : delivery.event === 'pull_request' ? payload.pull_request?.number ?? null : null
  if (!repo || typeof number !== 'number' || (!spec && delivery.event !== 'pull_request')) {
    return { ignored: `event ${delivery.event} is not about a pull request the app handles` }
  }
  const pr = await trackedPr(ctx, repo, number)
  if (!pr) return { ignored: `${repo}#${number} is not a tracked pull request` }

  if (!spec) {
    if (!['closed', 'reopened', 'edited', 'synchronize'].includes(payload.action)) return { ignored: `pull_request ${payload.action}` }
    const state = await applyPullState(ctx, pr.id, payload.pull_request)
    return { pr: prView(pr), state: state ?? pr.state }
  }
  if (payload.action !== spec.action) return { ignored: `${delivery.event} ${payload.action}` }
  if (!pr.tracking) return { ignored: `${repo}#${number} is ${pr.state}; no longer tracked` }
  const forge = await reviewSettings(ctx, pr.project_id)
  let gh = null
  try {
    gh = githubClient(forge)
  } catch {}
  const stored = await ingestComment(ctx, pr, spec.comment(payload), { settings: forge, gh })
  const job = stored.created ? await dispatchReview(ctx, pr.id) : null
  return { comment_id: stored.id, created: stored.created, authorized: stored.authorized, ignored_reason: stored.ignored_reason, job_id: job?.id ?? null }
}

/** The tracked PR; a PR reported moments ago may not have its row yet, so tracking is caught up once. */
async function trackedPr(ctx: AppContext, repo: string, number: number): Promise<PrRow | null> {
  const pr = await findTrackedPr(ctx.sql, repo, number)
  if (pr) return pr
  return (await trackNewPrs(ctx)) ? findTrackedPr(ctx.sql, repo, number) : null
}

/** GitHub sends JSON, or a form with the JSON in `payload` when the hook is set to that type. */
function parsePayload(delivery: Delivery): any {
  let text = delivery.body.toString('utf8')
  if (/x-www-form-urlencoded/i.test(delivery.contentType)) text = new URLSearchParams(text).get('payload') ?? ''
  try {
    const value = JSON.parse(text)
    if (value && typeof value === 'object') return value
  } catch {}
  throw badRequest('webhook body is not a JSON object', [{ path: '/body', message: 'invalid JSON' }])
}
