/**
 * Outgoing webhook endpoints (docs/notifications.md), configured by admins. The HMAC secret is
 * generated here, returned once in the creation answer and stored sealed with the app's secret key
 * (core/secrets.ts); lists never carry it. The URL is sealed the same way (a Slack incoming-webhook
 * URL is a bearer credential): lists and the audit log show only its scheme and host, and only the
 * sender opens it. The URL is an admin's, but the app calls it from its own network: only http(s),
 * no credentials in it, and what it answers never comes back (notifications-send.ts). Changes are
 * audited.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { badRequest, notFound } from '../errors.ts'
import { generateToken } from '../secrets.ts'
import { recordAudit, type Actor } from './audit.ts'
import { NOTIFICATION_EVENTS, type NotificationEventType } from './notifications-events.ts'

export type NotificationFormat = 'json' | 'slack'

export interface NotificationEndpoint {
  id: number
  name: string
  /** The URL's scheme and host only (`https://hooks.slack.com`): the whole URL is sealed. */
  url: string
  events: NotificationEventType[]
  format: NotificationFormat
  enabled: boolean
  created_at: string
  updated_at: string
}

export interface EndpointInput {
  name?: string
  url?: string
  events?: string[]
  format?: NotificationFormat
  enabled?: boolean
}

const COLUMNS = 'id, name, url_shown as url, events, format, enabled, created_at, updated_at'
export const SECRET_PREFIX = 'whsec_'

export async function listEndpoints(sql: Sql | TransactionSql): Promise<NotificationEndpoint[]> {
  return (await sql.unsafe(`select ${COLUMNS} from notification_endpoints order by id`)) as unknown as NotificationEndpoint[]
}

/** Creates an endpoint; `secret` is in this answer only. */
export async function createEndpoint(ctx: AppContext, input: Required<Pick<EndpointInput, 'url' | 'events'>> & EndpointInput, actor: Actor) {
  const url = checkUrl(input.url)
  const events = checkEvents(input.events)
  const secret = generateToken(SECRET_PREFIX)
  return write(ctx, async ({ tx }) => {
    const [row] = await tx.unsafe(
      `insert into notification_endpoints (name, url, url_shown, events, format, secret, enabled) values ($1, $2, $3, $4, $5, $6, $7) returning ${COLUMNS}`,
      [input.name?.trim() || new URL(url).host, ctx.secrets.encrypt(url), shownUrl(url), events, input.format ?? 'json', ctx.secrets.encrypt(secret), input.enabled ?? true],
    )
    const endpoint = row as unknown as NotificationEndpoint
    await recordAudit(tx, actor, { action: 'notification.create', target: { type: 'notification_endpoint', id: endpoint.id }, details: { name: endpoint.name, host: new URL(url).host, events } })
    return { endpoint, secret }
  })
}

export async function updateEndpoint(ctx: AppContext, id: number, input: EndpointInput, actor: Actor): Promise<NotificationEndpoint> {
  const url = input.url === undefined ? null : checkUrl(input.url)
  const events = input.events === undefined ? null : checkEvents(input.events)
  const name = input.name === undefined ? null : input.name.trim()
  if (name === '') throw badRequest('name must not be blank', [{ path: '/body/name', message: 'blank' }])
  return write(ctx, async ({ tx }) => {
    const [row] = await tx.unsafe(
      `update notification_endpoints set name = coalesce($2, name), url = coalesce($3, url), url_shown = coalesce($7, url_shown),
         events = coalesce($4::text[], events), format = coalesce($5, format), enabled = coalesce($6, enabled), updated_at = now()
       where id = $1 returning ${COLUMNS}`,
      [id, name, url === null ? null : ctx.secrets.encrypt(url), events, input.format ?? null, input.enabled ?? null, url === null ? null : shownUrl(url)],
    )
    if (!row) throw notFound(`notification endpoint ${id}`)
    await recordAudit(tx, actor, { action: 'notification.update', target: { type: 'notification_endpoint', id }, details: { fields: Object.keys(input), ...(url === null ? {} : { host: new URL(url).host }) } })
    return row as unknown as NotificationEndpoint
  })
}

/** Deletes an endpoint and its delivery log. */
export async function deleteEndpoint(ctx: AppContext, id: number, actor: Actor): Promise<void> {
  await write(ctx, async ({ tx }) => {
    const [row] = await tx`delete from notification_endpoints where id = ${id} returning name`
    if (!row) throw notFound(`notification endpoint ${id}`)
    await recordAudit(tx, actor, { action: 'notification.delete', target: { type: 'notification_endpoint', id }, details: { name: row.name } })
  })
}

/** What may be shown of an endpoint URL: its scheme and host. */
export const shownUrl = (url: string) => new URL(url).origin

/** The endpoint URL as stored: sealed, or (stored before URLs were sealed) still in clear; null: unreadable. */
export function openUrl(ctx: AppContext, stored: string): string | null {
  return /^https?:\/\//i.test(stored) ? stored : ctx.secrets.tryDecrypt(stored)
}

/** Seals the URLs stored in clear before URLs were sealed (sql/022); run when the sender starts. */
export async function sealStoredUrls(ctx: AppContext): Promise<number> {
  const rows = await ctx.sql`select id, url from notification_endpoints where url ~* '^https?://'`
  for (const row of rows) {
    await ctx.sql`update notification_endpoints set url = ${ctx.secrets.encrypt(row.url as string)} where id = ${row.id as number} and url = ${row.url as string}`
  }
  return rows.length
}

/** 400 naming `/body/url` unless `raw` is an absolute http(s) URL without credentials. */
export function checkUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw badRequest('url must be an absolute http(s) URL', [{ path: '/body/url', message: 'not a URL' }])
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw badRequest(`url must be http or https, not ${url.protocol.replace(':', '')}`, [{ path: '/body/url', message: 'http(s) only' }])
  }
  if (url.username || url.password) {
    throw badRequest('url must not carry credentials (user:password@): the receiver verifies the signature instead', [{ path: '/body/url', message: 'credentials in the URL' }])
  }
  return url.href
}

function checkEvents(events: string[]): NotificationEventType[] {
  const unique = [...new Set(events)]
  const unknown = unique.findIndex((event) => !(NOTIFICATION_EVENTS as readonly string[]).includes(event))
  if (unknown >= 0) {
    throw badRequest(`unknown event "${unique[unknown]}"; events are ${NOTIFICATION_EVENTS.join(', ')}`, [{ path: `/body/events/${events.indexOf(unique[unknown]!)}`, message: 'unknown event' }])
  }
  if (!unique.length) throw badRequest('subscribe to at least one event', [{ path: '/body/events', message: 'empty' }])
  return unique as NotificationEventType[]
}
