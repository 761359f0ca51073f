/**
 * `GET /metrics`: the Prometheus text exposition of the app's metrics (metrics/app.ts). A machine
 * route (no browser boundary) that checks its own credential, like the signed webhooks:
 * `Authorization: Bearer <METRICS_TOKEN>` (a scrape-only credential, so Prometheus holds nothing
 * that opens the API), or any admin (the admin token, an admin's API token or session, the local
 * zero-setup admin). Nobody → 401; a person below admin → 403.
 */
import type { IncomingMessage } from 'node:http'
import { forbidden, unauthorized } from '../errors.ts'
import { route, type Caller, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { EXPOSITION_CONTENT_TYPE, type Registry } from '../metrics/registry.ts'
import { safeEqual } from '../secrets.ts'

export function metricsRoutes(ctx: AppContext, registry: Registry): Route[] {
  return [
    route({
      method: 'GET', path: '/metrics', access: 'public', machine: true,
      handle: async ({ req, res, caller }) => {
        admitScraper(req, caller, ctx.config.METRICS_TOKEN)
        const text = await registry.render()
        res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' })
        res.end(text)
      },
    }),
  ]
}

function admitScraper(req: IncomingMessage, caller: Caller, metricsToken: string | undefined): void {
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
  if (token && metricsToken && safeEqual(token, metricsToken)) return
  if (caller.kind === 'person' && caller.role === 'admin') return
  if (caller.kind === 'person') throw forbidden(`metrics need the admin role or METRICS_TOKEN; you have ${caller.role}`)
  throw unauthorized('send Authorization: Bearer <METRICS_TOKEN or an admin credential>')
}
