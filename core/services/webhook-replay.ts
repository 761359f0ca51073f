/**
 * Replay refusal for forge webhooks: the delivery id a forge sends with every delivery (the same id
 * on its own redelivery) is recorded for 24 hours once the delivery verified, and a repeat within
 * that time is refused. A delivery whose handling failed gives its id back, so the forge's retry
 * is taken. A delivery without an id (a forge or proxy that sends none) is not deduplicated; what
 * it could repeat is bounded anyway: comments are stored once by their forge id and request states
 * are read from the forge again.
 */
import type { AppContext } from '../context.ts'
import { conflict } from '../errors.ts'
import type { Delivery } from './webhook-projects.ts'

/**
 * Where each forge puts its delivery id, first found wins: GitHub `X-GitHub-Delivery`, Gitea and
 * Forgejo `X-Gitea-Delivery` / `X-Forgejo-Delivery`, GitLab `Idempotency-Key` (the same on its
 * retries) else `X-Gitlab-Event-UUID` with the hook's `X-Gitlab-Webhook-UUID` (one event fires
 * several hooks with one event UUID).
 */
const DELIVERY_ID_HEADERS: ((headers: Delivery['headers']) => string | undefined)[] = [
  (h) => h['x-github-delivery'],
  (h) => h['x-gitea-delivery'] ?? h['x-forgejo-delivery'],
  (h) => h['idempotency-key'],
  (h) => (h['x-gitlab-event-uuid'] ? `${h['x-gitlab-event-uuid']}/${h['x-gitlab-webhook-uuid'] ?? ''}` : undefined),
]

export function deliveryId(delivery: Delivery): string | null {
  for (const read of DELIVERY_ID_HEADERS) {
    const id = read(delivery.headers)?.trim()
    if (id) return id.slice(0, 200)
  }
  return null
}

/** Records the delivery's id; a 409 when it was received within the window. Returns the release for a failed handling. */
export async function claimDelivery(ctx: AppContext, kind: string, delivery: Delivery): Promise<() => Promise<void>> {
  const id = deliveryId(delivery)
  if (!id) return async () => {}
  const [row] = await ctx.sql`
    with pruned as (delete from webhook_deliveries where received_at < now() - interval '24 hours')
    insert into webhook_deliveries (kind, delivery_id) values (${kind}, ${id}) on conflict (kind, delivery_id) do nothing returning delivery_id`
  if (!row) throw conflict(`delivery ${id} was already received: a repeated delivery is refused`)
  return async () => {
    await ctx.sql`delete from webhook_deliveries where kind = ${kind} and delivery_id = ${id}`.catch(() => {})
  }
}
