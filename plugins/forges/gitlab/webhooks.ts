/**
 * GitLab webhooks. Authenticity: the hook's secret token arrives as `X-Gitlab-Token`, compared in
 * constant time. GitLab's newer signing token (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`) also protects the body; when
 * a delivery carries a signature it must verify, and a `whsec_…` secret (the signing token's form)
 * requires one. The secret token alone proves the sender knows the secret, not that the body is
 * intact (TLS carries that), which is why the signing token is preferred where GitLab offers it.
 *
 * Events: `Note Hook` on a merge request → `comment` (system notes ignored); `Merge Request Hook`
 * → `request` with its state, or an APPROVED `review` for an approval.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { badRequest } from '../../../core/errors.ts'
import type { ForgeWebhooks, RequestState, WebhookEvent } from '../../../core/forge.ts'
import { isBot, noteComment, type GitlabNote } from './comments.ts'
import { parseIssueHook } from './issues.ts'
import { parsePipelineHook } from './checks.ts'

/** How far a signed delivery's timestamp may be from now (Standard Webhooks' recommendation). */
const TOLERANCE_SEC = 5 * 60

/** Equal strings in constant time, whatever their lengths (both sides hashed first). */
const same = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest())

/** The signing key: a `whsec_` secret is base64 after its prefix; any other secret is its UTF-8 bytes. */
export const signingKey = (secret: string) => (secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8'))

/** `v1,<base64>` of a delivery, as GitLab signs it. */
export const signature = (secret: string, id: string, timestamp: string, body: Buffer) =>
  `v1,${createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64')}`

function signatureValid(secret: string, headers: Record<string, string | undefined>, body: Buffer): boolean {
  const id = headers['webhook-id']
  const timestamp = headers['webhook-timestamp']
  if (!id || !timestamp || !/^\d+$/.test(timestamp)) return false
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SEC) return false
  const expected = signature(secret, id, timestamp, body)
  // The header may list several space-separated signatures (key rotation); one match is enough.
  return (headers['webhook-signature'] ?? '').split(' ').some((candidate) => same(candidate, expected))
}

export function verify(secret: string, headers: Record<string, string | undefined>, body: Buffer): boolean {
  if (!secret) return false
  const token = headers['x-gitlab-token']
  const signed = headers['webhook-signature'] !== undefined
  if (token === undefined && !signed) return false
  if (token !== undefined && !same(token, secret)) return false
  if (signed || secret.startsWith('whsec_')) return signatureValid(secret, headers, body)
  return true
}

/** Hook timestamps are ISO 8601 on current GitLab and `2024-01-01 10:00:00 UTC` on older ones. */
const iso = (value: unknown) => {
  const parsed = typeof value === 'string' ? Date.parse(value) : NaN
  return Number.isFinite(parsed) ? new Date(parsed).toISOString() : new Date().toISOString()
}

const STATES: Record<string, RequestState> = { opened: 'open', closed: 'closed', locked: 'closed', merged: 'merged' }

export function parse(headers: Record<string, string | undefined>, body: Buffer): WebhookEvent {
  let payload: any
  try {
    payload = JSON.parse(body.toString('utf8'))
  } catch {
    throw badRequest('the webhook body is not JSON')
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw badRequest('the webhook body is not a JSON object')
  const event = headers['x-gitlab-event'] ?? ''
  const repo = payload.project?.path_with_namespace
  const attributes = payload.object_attributes
  if (event === 'Note Hook') {
    if (attributes?.noteable_type !== 'MergeRequest') return { type: 'ignored', reason: `a note on ${attributes?.noteable_type ?? 'something else'}` }
    if (attributes.system) return { type: 'ignored', reason: 'a system note' }
    const number = payload.merge_request?.iid
    if (typeof repo !== 'string' || !Number.isInteger(number) || !Number.isInteger(attributes.id) || typeof payload.user?.username !== 'string') {
      throw badRequest('the note hook lacks project.path_with_namespace, merge_request.iid, object_attributes.id or user.username')
    }
    const note: GitlabNote = {
      id: attributes.id, type: attributes.type ?? null, body: String(attributes.note ?? ''), system: false,
      author: { id: payload.user.id, username: payload.user.username }, position: attributes.position ?? null,
      created_at: iso(attributes.created_at), updated_at: iso(attributes.updated_at ?? attributes.created_at),
    }
    const comment = noteComment(note, '')
    return { type: 'comment', repo, number, comment: { ...comment, url: typeof attributes.url === 'string' ? attributes.url : null } }
  }
  if (event === 'Issue Hook' && typeof repo === 'string') return parseIssueHook(repo, payload)
  if (event === 'Pipeline Hook' && typeof repo === 'string') return parsePipelineHook(repo, payload)
  if (event === 'Merge Request Hook') {
    const number = attributes?.iid
    if (typeof repo !== 'string' || !Number.isInteger(number)) throw badRequest('the merge request hook lacks project.path_with_namespace or object_attributes.iid')
    if (attributes.action === 'approved' || attributes.action === 'approval') {
      const user = payload.user
      if (typeof user?.username !== 'string' || !Number.isInteger(user.id)) throw badRequest('the approval hook lacks user.id or user.username')
      const at = iso(attributes.updated_at)
      return {
        type: 'comment', repo, number, comment: {
          kind: 'review', id: user.id, author: user.username, authorIsBot: isBot(user), body: '', path: null, line: null,
          reviewState: 'APPROVED', url: typeof attributes.url === 'string' ? attributes.url : null, createdAt: at, updatedAt: at,
        },
      }
    }
    const state = STATES[attributes.state]
    if (!state) throw badRequest('the merge request hook has an unknown object_attributes.state')
    return { type: 'request', repo, number, state }
  }
  return { type: 'ignored', reason: `event ${event || '(none)'} is not one the app acts on` }
}

export const webhooks: ForgeWebhooks = { verify, parse }
