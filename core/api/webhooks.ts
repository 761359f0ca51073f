/**
 * Route: forge webhook deliveries, `POST /api/webhooks/:kind` (`/api/webhooks/github` as before).
 * Public, verified by the forge plugin over the raw body before anything is parsed; 404 for a kind
 * the app has no plugin with webhooks for.
 */
import { Type } from '@sinclair/typebox'
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { handleWebhook } from '../services/review/webhook.ts'

const WebhookParams = Type.Object({ kind: Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$', description: 'forge kind: github, gitlab, gitea' }) })

export function webhookRoutes(ctx: AppContext): Route[] {
  return [
    route({
      method: 'POST', path: '/api/webhooks/:kind', access: 'public', machine: true, rawBody: true, params: WebhookParams,
      handle: ({ req, body, params }) => {
        const headers: Record<string, string | undefined> = {}
        for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value[0] : value
        return handleWebhook(ctx, params.kind, { headers, body: body as unknown as Buffer })
      },
    }),
  ]
}
