/**
 * Routes: outgoing webhooks (admins only, docs/notifications.md). The endpoint's signing secret is
 * in the creation answer only. A test send answers the delivery's status code and classified
 * reason, never what the endpoint answered.
 */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { Id } from '../types.ts'
import { actorOf } from '../services/audit.ts'
import { createEndpoint, deleteEndpoint, listEndpoints, updateEndpoint } from '../services/notifications.ts'
import { NOTIFICATION_EVENTS } from '../services/notifications-events.ts'
import { listDeliveries, sendTest } from '../services/notifications-deliveries.ts'

const Fields = {
  name: Type.String({ maxLength: 100, description: 'a label; default: the URL\'s host' }),
  url: Type.String({ minLength: 1, maxLength: 2000, description: 'http(s) URL the events are POSTed to; no credentials in it' }),
  events: Type.Array(Type.Union(NOTIFICATION_EVENTS.map((event) => Type.Literal(event))), { minItems: 1, maxItems: NOTIFICATION_EVENTS.length * 2 }),
  format: Type.Union([Type.Literal('json'), Type.Literal('slack')], { description: '`json` (signed event) or `slack` (an incoming-webhook `{ text, blocks }`)' }),
  enabled: Type.Boolean(),
}
const EndpointCreate = Type.Object(
  { url: Fields.url, events: Fields.events, name: Type.Optional(Fields.name), format: Type.Optional(Fields.format), enabled: Type.Optional(Fields.enabled) },
  { additionalProperties: false },
)
const EndpointPatch = Type.Object(
  { url: Type.Optional(Fields.url), events: Type.Optional(Fields.events), name: Type.Optional(Fields.name), format: Type.Optional(Fields.format), enabled: Type.Optional(Fields.enabled) },
  { additionalProperties: false, minProperties: 1 },
)
const EndpointParams = Type.Object({ id: Id })
const DeliveriesQuery = Type.Object(
  { endpoint_id: Type.Optional(Id), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) },
  { additionalProperties: false },
)

export function notificationRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'GET', path: '/api/notifications/endpoints', access: 'admin', handle: async () => ({ endpoints: await listEndpoints(ctx.sql), events: NOTIFICATION_EVENTS }) }),
    route({ method: 'POST', path: '/api/notifications/endpoints', access: 'admin', body: EndpointCreate, handle: async ({ body, caller }) =>
      new Reply(201, await createEndpoint(ctx, body, actorOf(caller))) }),
    route({ method: 'GET', path: '/api/notifications/deliveries', access: 'admin', query: DeliveriesQuery, handle: async ({ query }) =>
      ({ deliveries: await listDeliveries(ctx.sql, { endpointId: query.endpoint_id, limit: query.limit ?? 100 }) }) }),
    route({ method: 'PATCH', path: '/api/notifications/endpoints/:id', access: 'admin', params: EndpointParams, body: EndpointPatch, handle: async ({ params, body, caller }) =>
      ({ endpoint: await updateEndpoint(ctx, params.id, body, actorOf(caller)) }) }),
    route({ method: 'DELETE', path: '/api/notifications/endpoints/:id', access: 'admin', params: EndpointParams, handle: async ({ params, caller }) => {
      await deleteEndpoint(ctx, params.id, actorOf(caller))
      return new Reply(204)
    } }),
    route({ method: 'POST', path: '/api/notifications/endpoints/:id/test', access: 'admin', params: EndpointParams, handle: async ({ params }) =>
      ({ delivery: await sendTest(ctx, params.id) }) }),
  ]
}
