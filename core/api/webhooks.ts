/** Route: GitHub webhook deliveries (public, HMAC-verified over the raw body). */
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { handleWebhook } from '../services/review/webhook.ts'

export function webhookRoutes(ctx: AppContext): Route[] {
  return [
    route({
      method: 'POST', path: '/api/webhooks/github', access: 'public', machine: true, rawBody: true,
      handle: ({ req, body }) => {
        const header = (name: string) => {
          const value = req.headers[name]
          return Array.isArray(value) ? value[0] : value
        }
        return handleWebhook(ctx, {
          event: header('x-github-event') ?? '',
          signature: header('x-hub-signature-256'),
          contentType: header('content-type') ?? 'application/json',
          body: body as unknown as Buffer,
        })
      },
    }),
  ]
}
