/**
 * One delivery attempt: renders the event for the endpoint's format, signs it and POSTs it.
 *
 * Headers: `X-Terarchitect-Event`, `X-Terarchitect-Delivery` (the delivery's id),
 * `X-Terarchitect-Timestamp` (unix seconds of this attempt) and `X-Terarchitect-Signature-256:
 * sha256=<hex HMAC-SHA256 of the exact body bytes, keyed with the endpoint's secret>`. The JSON body
 * carries the same time as `sent_at`, so the timestamp is inside the signed bytes: a receiver that
 * verified the signature and refuses a `sent_at` older than a few minutes (and an `id` seen before)
 * cannot be replayed to.
 *
 * The URL is an admin's and may point anywhere the app's host reaches, so nothing of the answer
 * comes back: its body is never read (a cap of zero bytes), only its status becomes a classified
 * reason; redirects are not followed; the attempt gives up after NOTIFY_TIMEOUT_SEC.
 */
import { createHmac } from 'node:crypto'
import { discard, hostOf } from './setup-checks/outcome.ts'

export interface Attempt {
  ok: boolean
  /** The endpoint's HTTP status; null when no answer came. */
  status: number | null
  reason: string
}

export interface Target {
  url: string
  format: 'json' | 'slack'
  secret: string
}

export interface Delivery {
  id: number | string
  event: string
  body: Record<string, unknown>
}

export function sign(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')
}

/** The exact bytes sent for `delivery` at `sentAt`. */
export function render(delivery: Delivery, format: Target['format'], sentAt: Date): string {
  if (format === 'slack') return JSON.stringify(slackMessage(delivery.body))
  return JSON.stringify({ ...delivery.body, sent_at: sentAt.toISOString() })
}

export async function sendDelivery(target: Target, delivery: Delivery, timeoutMs: number): Promise<Attempt> {
  const sentAt = new Date()
  const body = render(delivery, target.format, sentAt)
  let res: Response
  try {
    res = await fetch(target.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Terarchitect-Webhook',
        'x-terarchitect-event': delivery.event,
        'x-terarchitect-delivery': String(delivery.id),
        'x-terarchitect-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'x-terarchitect-signature-256': sign(target.secret, body),
      },
      body,
    })
  } catch (error) {
    return { ok: false, status: null, reason: unreachableReason(target.url, error, timeoutMs) }
  }
  await discard(res)
  return classify(res.status)
}

/** A status in words; never the answer's body. */
export function classify(status: number): Attempt {
  const says = (reason: string) => ({ ok: false, status, reason })
  if (status >= 200 && status < 300) return { ok: true, status, reason: `Delivered (${status})` }
  if (status >= 300 && status < 400) return says(`The endpoint redirected (${status}); redirects are not followed: use the final URL`)
  if (status === 401 || status === 403) return says(`The endpoint refused the request (${status}): check its signature secret or access rules`)
  if (status === 404 || status === 405 || status === 410) return says(`No webhook receiver at this URL (${status}): check the path`)
  if (status === 413) return says('The endpoint refused the body as too large (413)')
  if (status === 429) return says('The endpoint is rate limiting (429)')
  if (status >= 500) return says(`The endpoint failed (${status})`)
  return says(`The endpoint refused the request (${status})`)
}

function unreachableReason(url: string, error: unknown, timeoutMs: number): string {
  const name = (error as Error).name
  if (name === 'TimeoutError' || name === 'AbortError') return `No answer from ${hostOf(url)} within ${timeoutMs / 1000} s`
  const code = (error as { cause?: { code?: string } }).cause?.code
  return `${hostOf(url)} is unreachable${code ? ` (${code})` : ''}`
}

/** The Slack incoming-webhook shape: `text` (the fallback and notification line) and one section block. */
function slackMessage(body: Record<string, unknown>): { text: string; blocks: unknown[] } {
  const text = summaryLine(body)
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }
}

/** One line saying what happened, e.g. `PROJ-4 "Fix login": the job failed: tests did not pass`. */
export function summaryLine(body: Record<string, unknown>): string {
  const ticket = body.ticket as { ref?: string; title?: string } | null
  const project = body.project as { name?: string } | null
  const where = ticket ? `${ticket.ref} "${ticket.title}"` : (project?.name ?? 'Terarchitect')
  const pull = body.pull_request as { number?: number | null; url?: string | null } | undefined
  const reason = body.reason as { text?: string | null } | undefined
  switch (body.event) {
    case 'job.failed': return `${where}: the job failed${reason?.text ? `: ${reason.text}` : ''}`
    case 'pr.opened': return `${where}: pull request opened${pull?.url ? ` ${pull.url}` : pull?.number ? ` #${pull.number}` : ''}`
    case 'review.done': return `${where}: review job done${pull?.number ? ` on PR #${pull.number}` : ''}`
    case 'ci_fix.exhausted': return `${where}: CI still fails after ${(body.ci as { rounds?: number } | undefined)?.rounds ?? 'all'} fix rounds`
    default: return typeof body.text === 'string' ? body.text : `${where}: ${String(body.event)}`
  }
}
