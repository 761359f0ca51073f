/**
 * Gitea and Forgejo webhooks. Both sign the raw body with HMAC-SHA256 under the hook's secret and send
 * the bare hex digest: Gitea in `X-Gitea-Signature`, Forgejo in `X-Forgejo-Signature` and, for
 * compatibility, `X-Gitea-Signature` too. When the Forgejo header is present it is the one checked.
 *
 * Events: a comment on a pull's conversation is `X-Gitea-Event: issue_comment` with `is_pull` (the
 * precise `X-Gitea-Event-Type` is `pull_request_comment`); `pull_request` carries opened, closed,
 * reopened, edited and synchronized. Review events carry the review's text but no comment id, so
 * they are left to the poller.
 *
 * Limit: a reply in an inline thread is delivered like a conversation comment (same event, and the
 * payload's comment has no path, line or review), so it parses as an `issue_comment`; the poller
 * lists the same comment, by the same id, as a `review_comment`. Gitea's comment ids are one
 * sequence for both kinds, so `id` alone names the comment on this forge.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { badRequest } from '../../../core/errors.ts'
import type { ForgeWebhooks, RequestState, WebhookEvent } from '../../../core/forge.ts'
import { toIssueComment } from './comments.ts'
import { parseRepo } from './repo-url.ts'
import { parseIssueEvent } from './issues.ts'
import { parseStatusEvent } from './checks.ts'

const header = (headers: Record<string, string | undefined>, name: string) => {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value
  return undefined
}

/** The hex HMAC-SHA256 a Gitea or Forgejo instance sends for `body` under `secret`. */
export const sign = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest('hex')

const ACTIONS = new Set(['opened', 'closed', 'reopened', 'edited', 'synchronized'])

export const webhooks: ForgeWebhooks = {
  verify(secret, headers, body) {
    if (!secret) return false
    const given = header(headers, 'x-forgejo-signature') ?? header(headers, 'x-gitea-signature')
    if (!given || !/^[0-9a-f]{64}$/i.test(given)) return false
    return timingSafeEqual(Buffer.from(given.toLowerCase(), 'hex'), Buffer.from(sign(secret, body), 'hex'))
  },

  parse(headers, body): WebhookEvent {
    const event = header(headers, 'x-forgejo-event') ?? header(headers, 'x-gitea-event')
    if (!event) throw badRequest('not a Gitea or Forgejo delivery: no X-Gitea-Event header', [{ path: '/headers/x-gitea-event', message: 'missing' }])
    let payload: any
    try {
      payload = JSON.parse(body.toString('utf8'))
    } catch {
      throw badRequest('webhook body is not JSON', [{ path: '/body', message: 'not JSON' }])
    }
    if (!payload || typeof payload !== 'object') throw badRequest('webhook body is not an object', [{ path: '/body', message: 'not an object' }])
    const repo = parseRepo(`https://forge/${String(payload.repository?.full_name ?? '')}`)
    const malformed = (field: string) => badRequest(`webhook body has no valid ${field}`, [{ path: `/body/${field}`, message: 'missing or invalid' }])
    // Some versions name a pull's comment event by its precise type; a review's (no `comment`) is left to the poller.
    if (event === 'issue_comment' || (event === 'pull_request_comment' && payload.comment?.id !== undefined)) {
      if (!payload.is_pull && !payload.issue?.pull_request) return { type: 'ignored', reason: 'a comment on an issue, not on a pull request' }
      if (payload.action !== 'created' && payload.action !== 'edited') return { type: 'ignored', reason: `comment ${String(payload.action)}` }
      const number = Number(payload.issue?.number)
      if (!repo) throw malformed('repository')
      if (!Number.isSafeInteger(number) || number <= 0) throw malformed('issue/number')
      if (!Number.isSafeInteger(Number(payload.comment?.id))) throw malformed('comment')
      return { type: 'comment', repo, number, comment: toIssueComment(payload.comment) }
    }
    if (event === 'issues' || event === 'issue_label') return parseIssueEvent(repo, payload)
    if (event === 'status') return parseStatusEvent(repo, payload)
    if (event === 'pull_request') {
      if (!ACTIONS.has(payload.action)) return { type: 'ignored', reason: `pull request ${String(payload.action)}` }
      const number = Number(payload.number ?? payload.pull_request?.number)
      if (!repo) throw malformed('repository')
      if (!Number.isSafeInteger(number) || number <= 0) throw malformed('number')
      const pull = payload.pull_request ?? {}
      const state: RequestState = pull.merged ? 'merged' : pull.state === 'closed' || payload.action === 'closed' ? 'closed' : 'open'
      return { type: 'request', repo, number, state }
    }
    return { type: 'ignored', reason: `event ${event}` }
  },
}
