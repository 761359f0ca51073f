/**
 * The coordinator's own health server (COORDINATOR_HEALTH_PORT, bound to COORDINATOR_HEALTH_HOST,
 * 127.0.0.1 by default), for systemd, Kubernetes and Prometheus:
 * - `GET /health`: 200 while the coordinator runs (not stopping) and the app answered it within
 *   `staleMs`; 503 otherwise, naming why. No credential: it says nothing but that.
 * - `GET /metrics`: the coordinator's metrics (metrics/coordinator.ts). With METRICS_TOKEN set it
 *   needs `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise); without it, it answers only
 *   when the server is bound to loopback (403 otherwise), so nothing opens by accident.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isLoopback } from '../config.ts'
import type { Logger } from '../log.ts'
import { EXPOSITION_CONTENT_TYPE, type Registry } from '../metrics/registry.ts'
import { safeEqual } from '../secrets.ts'

export interface HealthServerOptions {
  port: number
  host: string
  metricsToken?: string
  registry: Registry
  /** When the app last answered (ms since the epoch; 0 = never). */
  appReachedAt(): number
  /** How long without an answer from the app before /health says 503. */
  staleMs: number
  /** True once the coordinator is stopping. */
  stopping(): boolean
  log: Logger
}

export interface HealthServer {
  url: string
  close(): Promise<void>
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://health').pathname
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'only GET' })
    if (path === '/health') {
      const reached = options.appReachedAt()
      const age = reached ? Date.now() - reached : null
      const down = [
        ...(options.stopping() ? ['coordinator stopping'] : []),
        ...(age === null || age > options.staleMs ? ['app not reached'] : []),
      ]
      return send(down.length ? 503 : 200, { ok: down.length === 0, down, app_reached_sec_ago: age === null ? null : Math.round(age / 1000) })
    }
    if (path === '/metrics') {
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
      if (options.metricsToken && !(token && safeEqual(token, options.metricsToken))) return send(401, { error: 'send Authorization: Bearer <METRICS_TOKEN>' })
      if (!options.metricsToken && !isLoopback(options.host)) return send(403, { error: 'set METRICS_TOKEN to read metrics off loopback' })
      options.registry.render().then((text) => {
        res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'cache-control': 'no-store' })
        res.end(text)
      }, (error: unknown) => {
        options.log.error('rendering metrics failed', { error })
        send(500, { error: 'internal error' })
      })
      return
    }
    send(404, { error: 'GET /health or /metrics' })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`
  options.log.info('health server listening', { url })
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}
