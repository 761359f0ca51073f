/**
 * Replay refusal for forge webhooks. A delivery that verified is recorded for 24 hours under its
 * forge kind and the SHA-256 of its body (what the signature covers; the delivery id headers are
 * not signed, so a captured delivery sent again under a fresh id, or none, is the same delivery)
 * and the projects it verified for (two hooks of two projects on one repository, each with its own
 * secret, send the same body: each is taken once). A repeat within that time is refused with a 409,
 * a forge's own redelivery of a delivery that was taken included: real deliveries of distinct events
 * differ in their bodies (a comment's id, an issue's `updated_at`). A delivery whose handling failed
 * gives its record back, so the forge's retry is taken. GitHub and Gitea/Forgejo always send a
 * delivery id: a delivery of theirs without one is refused (400). GitLab's Standard Webhooks
 * signature also covers its `webhook-id` and `webhook-timestamp`, and a timestamp more than five
 * minutes off is refused when it is verified (plugins/forges/gitlab/webhooks.ts).
 */
import { createHash } from 'node:crypto'
import type { AppContext } from '../context.ts'
import { badRequest, conflict } from '../errors.ts'
import type { Delivery } from './webhook-projects.ts'

/**
 * Where each forge puts its delivery id, first found wins: GitHub `X-GitHub-Delivery`, Gitea and
 * Forgejo `X-Gitea-Delivery` / `X-Forgejo-Delivery`, GitLab `Idempotency-Key` (the same on its
 * retries) else `X-Gitlab-Event-UUID` with the hook's `X-Gitlab-Webhook-UUID` (one event fires
 * several hooks with one event UUID). Named in messages and logs only; the record is the body's.
 */
const DELIVERY_ID_HEADERS: ((headers: Delivery['headers']) => string | undefined)[] = [
  (h) => h['x-github-delivery'],
  (h) => h['x-gitea-delivery'] ?? h['x-forgejo-delivery'],
  (h) => h['idempotency-key'],
  (h) => (h['x-gitlab-event-uuid'] ? `${h['x-gitlab-event-uuid']}/${h['x-gitlab-webhook-uuid'] ?? ''}` : undefined),
]

/** The forge kinds that send a delivery id with every delivery, and the header it is in. */
const ID_ALWAYS_SENT: Record<string, string> = { github: 'X-GitHub-Delivery', gitea: 'X-Gitea-Delivery' }

export function deliveryId(delivery: Delivery): string | null {
  for (const read of DELIVERY_ID_HEADERS) {
    const id = read(delivery.headers)?.trim()
    if (id) return id.slice(0, 200)
  }
  return null
}

/** The record of a delivery: its body's hash and the projects it verified for. */
export const deliveryKey = (delivery: Delivery, projectIds: number[]) =>
  `sha256:${createHash('sha256').update(delivery.body).digest('hex')}/${[...projectIds].sort((a, b) => a - b).join(',')}`

/** Records the delivery; a 409 when it was received within the window. Returns the release for a failed handling. */
export async function claimDelivery(ctx: AppContext, kind: string, delivery: Delivery, projectIds: number[] = []): Promise<() => Promise<void>> {
  const id = deliveryId(delivery)
  const idHeader = ID_ALWAYS_SENT[kind]
  if (!id && idHeader) throw badRequest(`${idHeader}: a ${kind} delivery always carries a delivery id`, [{ path: `/headers/${idHeader.toLowerCase()}`, message: 'missing' }])
  const key = deliveryKey(delivery, projectIds)
  const [row] = await ctx.sql`
    with pruned as (delete from webhook_deliveries where received_at < now() - interval '24 hours')
    insert into webhook_deliveries (kind, delivery_id) values (${kind}, ${key}) on conflict (kind, delivery_id) do nothing returning delivery_id`
  if (!row) throw conflict(`delivery ${id ?? '(no id)'} was already received (the same body): a repeated delivery is refused`)
  return async () => {
    await ctx.sql`delete from webhook_deliveries where kind = ${kind} and delivery_id = ${key}`.catch(() => {})
  }
}
