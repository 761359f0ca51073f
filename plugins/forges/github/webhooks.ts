/**
 * GitHub webhooks: a delivery is authentic when `X-Hub-Signature-256` is the HMAC-SHA256 of the
 * exact body bytes under the secret (compared in constant time). Parsed events: issue_comment
 * (created, on a pull request), pull_request_review_comment (created), pull_request_review
 * (submitted), pull_request (closed, reopened, edited, synchronize) and ping.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { badRequest } from '../../../core/errors.ts'
import type { ForgeComment, ForgeWebhooks, WebhookEvent } from '../../../core/forge.ts'
import { parseRepo } from './repo-url.ts'
import { fromIssueComment, fromReview, fromReviewComment, toPullRequest } from './shapes.ts'
import { parseIssueEvent } from './issues.ts'
import { parseChecksEvent } from './checks.ts'

/** True when `header` is `sha256=<hex>` of the body under `secret`. */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '')
  if (!match || !secret) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'))
}

/** Comment events: the action that creates the comment, and how to read it from the payload. */
const COMMENT_EVENTS: Record<string, { action: string; number(p: any): unknown; comment(p: any): ForgeComment }> = {
  issue_comment: { action: 'created', number: (p) => (p.issue?.pull_request ? p.issue.number : null), comment: (p) => fromIssueComment(p.comment) },
  pull_request_review_comment: { action: 'created', number: (p) => p.pull_request?.number, comment: (p) => fromReviewComment(p.comment) },
  pull_request_review: { action: 'submitted', number: (p) => p.pull_request?.number, comment: (p) => fromReview(p.review) },
}

const REQUEST_ACTIONS = new Set(['closed', 'reopened', 'edited', 'synchronize'])

/** GitHub sends JSON, or a form with the JSON in `payload` when the hook is set to that type. */
function payloadOf(headers: Record<string, string | undefined>, body: Buffer): any {
  let text = body.toString('utf8')
  if (/x-www-form-urlencoded/i.test(headers['content-type'] ?? '')) text = new URLSearchParams(text).get('payload') ?? ''
  try {
    const value = JSON.parse(text)
    if (value && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {}
  throw badRequest('webhook body is not a JSON object', [{ path: '/body', message: 'invalid JSON' }])
}

export const webhooks: ForgeWebhooks = {
  verify: (secret, headers, body) => verifySignature(secret, body, headers['x-hub-signature-256']),

  parse(headers, body): WebhookEvent {
    const event = headers['x-github-event'] ?? ''
    const payload = payloadOf(headers, body)
    if (event === 'ping') return { type: 'ping' }
    const fullName = payload.repository?.full_name
    const repo = typeof fullName === 'string' ? parseRepo(`https://github.com/${fullName}`) : null
    if (event === 'issues' && repo) return parseIssueEvent(repo, payload)
    const checks = repo ? parseChecksEvent(event, repo, payload) : null
    if (checks) return checks
    const spec = COMMENT_EVENTS[event]
    const number = spec ? spec.number(payload) : event === 'pull_request' ? payload.pull_request?.number : null
    if (!repo || typeof number !== 'number' || (!spec && event !== 'pull_request')) {
      return { type: 'ignored', reason: `event ${event || '(none)'} is not about a pull request the app handles` }
    }
    if (!spec) {
      if (!REQUEST_ACTIONS.has(payload.action)) return { type: 'ignored', reason: `pull_request ${payload.action}` }
      return { type: 'request', repo, number, state: toPullRequest(repo, payload.pull_request).state }
    }
    if (payload.action !== spec.action) return { type: 'ignored', reason: `${event} ${payload.action}` }
    return { type: 'comment', repo, number, comment: spec.comment(payload) }
  },
}
