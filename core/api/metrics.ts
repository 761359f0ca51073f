/**
 * `GET /metrics`: the Prometheus text exposition of the app's metrics (metrics/app.ts). A machine
 * route (no browser boundary) that checks its own credential, like the signed webhooks:
 * `Authorization: Bearer <METRICS_TOKEN>` (a scrape-only credential, so Prometheus holds nothing
 * that opens the API), or any admin (the admin token, an admin's API token or session, the local
 * zero-setup admin). Nobody → 401; a person below admin → 403. METRICS_TOKEN is checked before
 * anything is looked up, so a scrape with it never waits on the database (the route is
 * `unauthenticated`; the person is identified here only for other credentials).
 */
import type { IncomingMessage } from 'node:http'
import { forbidden, unauthorized } from '../errors.ts'
import { route, type Route } from '../http/router.ts'
import { createPeopleAuth } from '../http/people-auth.ts'
import type { AppContext } from '../context.ts'
import { EXPOSITION_CONTENT_TYPE, type Registry } from '../metrics/registry.ts'
import { safeEqual } from '../secrets.ts'

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i

export function metricsRoutes(ctx: AppContext, registry: Registry): Route[] {
  const { HOST, PUBLIC_URL, TERARCHITECT_ADMIN_TOKEN, METRICS_TOKEN } = ctx.config
  const people = createPeopleAuth(ctx, { adminToken: TERARCHITECT_ADMIN_TOKEN, local: { host: HOST, publicUrl: PUBLIC_URL, adminToken: TERARCHITECT_ADMIN_TOKEN } })
  return [
    route({
      method: 'GET', path: '/metrics', access: 'public', machine: true, unauthenticated: true,
      handle: async ({ req, res }) => {
        await admitScraper(req, METRICS_TOKEN, people)
        const text = await registry.render()
        res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' })
        res.end(text)
      },
    }),
  ]
}

async function admitScraper(req: IncomingMessage, metricsToken: string | undefined, people: ReturnType<typeof createPeopleAuth>): Promise<void> {
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
  if (token && metricsToken && safeEqual(token, metricsToken)) return
  const caller = await people.optional(req, token)
  // The zero-setup local admin is whoever reaches the loopback port: a web page whose name was
  // rebound to 127.0.0.1 too. Only a request naming a loopback host counts as this machine here.
  if (caller.kind === 'person' && caller.via === 'local' && !LOOPBACK_HOST.test(req.headers.host ?? '')) {
    throw unauthorized('send Authorization: Bearer <METRICS_TOKEN or an admin credential>')
  }
  if (caller.kind === 'person' && caller.role === 'admin') return
  if (caller.kind === 'person') throw forbidden(`metrics need the admin role or METRICS_TOKEN; you have ${caller.role}`)
  throw unauthorized('send Authorization: Bearer <METRICS_TOKEN or an admin credential>')
}
