/**
 * The delivery log and its sender. Deliveries are claimed with `for update skip locked`, so app
 * replicas sharing the database never send the same attempt twice; a claim holds the row for
 * NOTIFY_TIMEOUT_SEC + 30 s, after which a replica that died mid-attempt is taken over (the event
 * may then arrive twice: receivers deduplicate on the body's `id`). A failed attempt is tried again
 * after the next NOTIFY_RETRY_DELAYS_SEC delay (default 10 s, 1 min, 5 min, 30 min, 2 h), then the
 * delivery is `failed`. The endpoint's status code and a classified reason are kept, never what it
 * answered. The loop never throws: it logs, and the next tick (NOTIFY_POLL_SEC, or a committed
 * event on the bus) tries again.
 */
import type { AppContext } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { notFound } from '../errors.ts'
import { redactText } from '../log.ts'
import { openUrl, sealStoredUrls } from './notifications.ts'
import { queueTestNotification } from './notifications-events.ts'
import { sendDelivery, type Attempt } from './notifications-send.ts'

export interface DeliveryView {
  id: number
  endpoint_id: number
  event_id: string
  event: string
  project_id: number | null
  status: 'pending' | 'sending' | 'delivered' | 'failed'
  attempts: number
  next_attempt_at: string | null
  last_status_code: number | null
  last_reason: string | null
  created_at: string
  delivered_at: string | null
}

const VIEW = `id::int as id, endpoint_id, event_id, event, project_id, status, attempts,
  case when status in ('pending', 'sending') then next_attempt_at end as next_attempt_at,
  last_status_code, last_reason, created_at, delivered_at`

interface Claimed {
  id: number
  event: string
  body: Record<string, unknown>
  attempts: number
  max_attempts: number | null
  url: string
  format: 'json' | 'slack'
  secret: string
  enabled: boolean
}

/** Deliveries claimed per query; a full batch is followed by another at once. */
const BATCH = 20

export const retryDelays = (ctx: AppContext): number[] => ctx.config.NOTIFY_RETRY_DELAYS_SEC.split(',').map((delay) => Number(delay.trim()))

export async function listDeliveries(sql: Sql | TransactionSql, filter: { endpointId?: number; limit: number }): Promise<DeliveryView[]> {
  return (await sql.unsafe(
    `select ${VIEW} from notification_deliveries where ($1::int is null or endpoint_id = $1) order by id desc limit $2`,
    [filter.endpointId ?? null, filter.limit],
  )) as unknown as DeliveryView[]
}

/** Claims and sends what is due; returns how many attempts were made. */
export async function sendDue(ctx: AppContext): Promise<number> {
  const claimed = await claim(ctx)
  await Promise.all(claimed.map((delivery) => attempt(ctx, delivery)))
  return claimed.length
}

/** Sends the test event to one endpoint now (one try, even when it is disabled) and returns the log row. */
export async function sendTest(ctx: AppContext, endpointId: number): Promise<DeliveryView> {
  const id = await ctx.sql.begin(async (tx) => {
    const [endpoint] = await tx`select id from notification_endpoints where id = ${endpointId}`
    if (!endpoint) throw notFound(`notification endpoint ${endpointId}`)
    return queueTestNotification(tx, endpointId, holdSec(ctx))
  })
  const [claimed] = await ctx.sql.unsafe(`${CLAIMED} where d.id = $1`, [id])
  await attempt(ctx, claimed as unknown as Claimed)
  const [row] = await ctx.sql.unsafe(`select ${VIEW} from notification_deliveries where id = $1`, [id])
  return row as unknown as DeliveryView
}

/** How long a claim holds a delivery: past it, another replica takes the attempt over. */
const holdSec = (ctx: AppContext) => ctx.config.NOTIFY_TIMEOUT_SEC + 30
const CLAIMED_COLUMNS = 'd.id::int as id, d.event, d.body, d.attempts, d.max_attempts, e.url, e.format, e.secret, e.enabled'
const CLAIMED = `select ${CLAIMED_COLUMNS} from notification_deliveries d join notification_endpoints e on e.id = d.endpoint_id`

async function claim(ctx: AppContext): Promise<Claimed[]> {
  const rows = await ctx.sql.unsafe(
    `with due as (
       select id from notification_deliveries
       where (status = 'pending' and next_attempt_at <= now()) or (status = 'sending' and locked_until < now())
       order by next_attempt_at limit ${BATCH} for update skip locked)
     update notification_deliveries d set status = 'sending', attempts = d.attempts + 1, locked_until = now() + make_interval(secs => $1)
     from due, notification_endpoints e
     where d.id = due.id and e.id = d.endpoint_id
     returning ${CLAIMED_COLUMNS}`,
    [holdSec(ctx)],
  )
  return rows as unknown as Claimed[]
}

async function attempt(ctx: AppContext, delivery: Claimed): Promise<void> {
  let result: Attempt
  if (!delivery.enabled && delivery.event !== 'test') {
    result = { ok: false, status: null, reason: 'The endpoint was disabled before this delivery was sent' }
    delivery.max_attempts = delivery.attempts
  } else {
    const secret = ctx.secrets.tryDecrypt(delivery.secret)
    const url = openUrl(ctx, delivery.url)
    result = secret === null || url === null
      ? { ok: false, status: null, reason: `The endpoint's ${secret === null ? 'secret' : 'URL'} cannot be decrypted with the app's secret key: recreate the endpoint` }
      : await sendDelivery({ url, format: delivery.format, secret }, delivery, ctx.config.NOTIFY_TIMEOUT_SEC * 1000)
  }
  await record(ctx, delivery, result).catch((error) => ctx.log.warn('could not record a notification attempt', { error, delivery: delivery.id }))
}

async function record(ctx: AppContext, delivery: Claimed, result: Attempt): Promise<void> {
  const delays = retryDelays(ctx)
  const maxAttempts = delivery.max_attempts ?? delays.length + 1
  const status = result.ok ? 'delivered' : delivery.attempts >= maxAttempts ? 'failed' : 'pending'
  const delaySec = delays[Math.min(delivery.attempts - 1, delays.length - 1)] ?? 0
  await ctx.sql`
    update notification_deliveries set status = ${status}, locked_until = null, last_status_code = ${result.status},
      last_reason = ${redactText(result.reason).slice(0, 500)},
      next_attempt_at = case when ${status} = 'pending' then now() + make_interval(secs => ${delaySec}) else next_attempt_at end,
      delivered_at = case when ${status} = 'delivered' then now() else null end
    where id = ${delivery.id} and status = 'sending' and attempts = ${delivery.attempts}`
  if (!result.ok) ctx.log.info('notification attempt failed', { delivery: delivery.id, event: delivery.event, attempt: delivery.attempts, status: result.status, next: status })
}

/** Finished deliveries are kept this long in the log. */
export const DELIVERY_LOG_DAYS = 30

export async function pruneDeliveries(ctx: AppContext): Promise<void> {
  await ctx.sql`delete from notification_deliveries
    where status in ('delivered', 'failed') and created_at < now() - make_interval(days => ${DELIVERY_LOG_DAYS})`
}

/** Starts the sender (and, about hourly, prunes the log); returns its stop function. */
export function startNotificationSender(ctx: AppContext): () => Promise<void> {
  let stopped = false
  let running: Promise<void> = Promise.resolve()
  let queued = false
  let polls = 0
  // URLs stored in clear before they were sealed (sql/022) are sealed before anything is sent.
  running = sealStoredUrls(ctx)
    .then((sealed) => { if (sealed) ctx.log.info('sealed notification endpoint URLs stored in clear', { sealed }) })
    .catch((error) => ctx.log.warn('could not seal notification endpoint URLs stored in clear; retrying at the next start', { error }))
  const tick = () => {
    if (queued || stopped) return
    queued = true
    running = running.then(async () => {
      queued = false
      try {
        while (!stopped && (await sendDue(ctx)) === BATCH);
      } catch (error) {
        if (!stopped) ctx.log.warn('notification sender tick failed; retrying next interval', { error })
      }
    })
  }
  const pollsPerHour = Math.max(1, Math.round(3600 / ctx.config.NOTIFY_POLL_SEC))
  const timer = setInterval(() => {
    if (polls++ % pollsPerHour === 0) running = running.then(() => pruneDeliveries(ctx)).catch((error) => ctx.log.warn('could not prune the notification log', { error }))
    tick()
  }, ctx.config.NOTIFY_POLL_SEC * 1000)
  timer.unref()
  // Fast path: every transaction that queues a delivery also commits feed events.
  const unsubscribe = ctx.bus.subscribe('feed', tick)
  return async () => {
    stopped = true
    unsubscribe()
    clearInterval(timer)
    await running
  }
}
