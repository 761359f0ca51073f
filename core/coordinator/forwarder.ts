/**
 * The machine-route forwarder: how agent containers reach an app that listens on loopback only.
 *
 * The coordinator runs on the Docker host, next to the app. It listens on the Docker bridge's
 * gateway address (what `host.docker.internal` maps to in a container, reachable from containers and
 * from this host, not from the network) and forwards to the app's loopback URL the agent routes and
 * relays, and nothing else: every other path gets 404 here, before the app sees it. The app itself
 * keeps its loopback bind, so the UI, the people API and the worker API stay off the network.
 *
 * Contract:
 * - Only `AGENT_ROUTES` (method and path) and paths under `AGENT_PATH_PREFIXES` pass. The path is
 *   matched after the same normalisation the app's router applies (`new URL(…).pathname`: dot
 *   segments resolved, an absolute-form target reduced to its path), and what is forwarded is that
 *   normalised path and the query, so the app routes exactly what was checked.
 * - Adds nothing: the request's headers (the job token among them) travel as they are, minus the
 *   hop-by-hop ones; no credential of the coordinator is ever added. Requests forwarded from here
 *   arrive at the app from 127.0.0.1; that is harmless because agent routes and relays accept a job
 *   token and nothing else (never the app's "local" zero-setup admin).
 * - Streams both ways with no buffering: git packs up, SSE and streamed LLM answers down.
 */
import { createServer, request, Agent, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { AppError, badRequest } from '../errors.ts'
import { sendError } from '../http/router.ts'
import type { Logger } from '../log.ts'
import { RELAY_PREFIX } from '../services/llm-relay-urls.ts'

/**
 * The app's routes an agent calls: every route whose access is `agent`, and the git relay's routes.
 * A hand-kept copy (the coordinator does not load the app's code), which
 * test/coordinator-forwarder.test.ts compares with the app's route table: a route added for agents
 * must be added here too, or that test fails.
 */
export const AGENT_ROUTES: readonly { method: string; path: string }[] = [
  { method: 'GET', path: '/api/projects/:pid/tickets/:tid/worker-context' },
  { method: 'POST', path: '/api/projects/:pid/tickets/:tid/logs' },
  { method: 'POST', path: '/api/projects/:pid/tickets/:tid/complete' },
  { method: 'GET', path: '/api/projects/:pid/tickets/:tid/cancel-requested' },
  { method: 'POST', path: '/api/projects/:pid/tickets/:tid/memory/index' },
  { method: 'POST', path: '/api/projects/:pid/tickets/:tid/memory/retrieve' },
  { method: 'POST', path: '/api/projects/:pid/tickets/:tid/review/addressed' },
  { method: 'POST', path: '/api/projects/:pid/tickets/:tid/forge/pull' },
  { method: 'POST', path: '/api/projects/:pid/tickets/:tid/forge/reply' },
  { method: 'GET', path: '/api/relay/git/:pid/:tid/repo.git/info/refs' },
  { method: 'POST', path: '/api/relay/git/:pid/:tid/repo.git/git-upload-pack' },
  { method: 'POST', path: '/api/relay/git/:pid/:tid/repo.git/git-receive-pack' },
]

/** Served by the app before its router (open-ended protocol paths): any method, any path below. */
export const AGENT_PATH_PREFIXES: readonly string[] = [RELAY_PREFIX]

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
/** `Expect: 100-continue` was answered here already (node's server does it); the app need not see it. */
const ANSWERED_HERE = new Set(['expect'])

const compiled = AGENT_ROUTES.map((route) => ({ method: route.method, segments: route.path.split('/').slice(1) }))

/** Is `method pathname` (already normalised) an agent route or under a relay prefix? */
export function isAgentPath(method: string, pathname: string): boolean {
  if (AGENT_PATH_PREFIXES.some((prefix) => pathname.startsWith(prefix))) return true
  const parts = pathname.split('/').slice(1)
  return compiled.some((route) => route.method === method && route.segments.length === parts.length &&
    route.segments.every((segment, i) => (segment.startsWith(':') ? parts[i] !== '' : segment === parts[i])))
}

export interface ForwarderOptions {
  /** The app's URL as this host reaches it (TERARCHITECT_API_URL, e.g. http://127.0.0.1:5010). */
  appUrl: string
  /** The address to listen on: the Docker bridge's gateway (e.g. 172.17.0.1). */
  host: string
  /** Default 0: a free port chosen by the system. */
  port?: number
  log: Logger
}

export interface Forwarder {
  readonly host: string
  readonly port: number
  /** Stops listening and cuts the connections in flight. */
  close(): Promise<void>
}

/** Starts listening; rejects when the address cannot be bound (not an address of this host, port taken). */
export async function startForwarder(options: ForwarderOptions): Promise<Forwarder> {
  const app = new URL(options.appUrl)
  if (app.protocol !== 'http:') throw new Error(`the forwarder speaks plain http to a loopback app; TERARCHITECT_API_URL is ${app.protocol}`)
  const basePath = app.pathname.replace(/\/+$/, '')
  const upstreamAgent = new Agent({ keepAlive: true })
  const sockets = new Set<Socket>()
  const log = options.log.child({ component: 'forwarder' })

  const server: Server = createServer((req, res) => forward(req, res))
  // Git pushes and streamed LLM answers may take long; the app applies its own limits.
  server.requestTimeout = 0
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  /** Answers in the app's error shape, so an agent reports a refusal here as it would the app's. */
  function refuse(req: IncomingMessage, res: ServerResponse, error: AppError): void {
    req.resume()
    sendError(res, error, log)
  }

  function forward(req: IncomingMessage, res: ServerResponse): void {
    let target: URL
    try {
      target = new URL(req.url ?? '/', 'http://forwarder')
    } catch {
      return refuse(req, res, badRequest('unparseable request target'))
    }
    if (!isAgentPath(req.method ?? '', target.pathname)) {
      return refuse(req, res, new AppError('not_found', 404, `${req.method} ${target.pathname} is not an agent route: this address serves agent routes and relays only`))
    }
    const upstream = request({
      host: app.hostname.replace(/^\[|\]$/g, ''), port: app.port || 80, method: req.method,
      path: basePath + target.pathname + target.search, headers: endToEnd(req.headers), agent: upstreamAgent,
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers))
      res.flushHeaders() // SSE and streamed LLM answers: the headers go now, not with the first chunk
      answer.pipe(res)
      answer.once('error', () => res.destroy())
    })
    upstream.once('error', (error) => {
      log.warn('the app did not answer a forwarded request', { method: req.method, path: target.pathname, error: error.message })
      if (!res.headersSent) sendError(res, new AppError('bad_gateway', 502, 'the app did not answer'), log)
      else res.destroy()
    })
    // The agent went away (cancelled stream, dead container): stop the app's side too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy()
    })
    req.pipe(upstream)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (error) => log.warn('forwarder error', { error: error.message }))
  const { port } = server.address() as { port: number }
  return {
    host: options.host,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const socket of sockets) socket.destroy()
      upstreamAgent.destroy()
    }),
  }
}

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  // `Connection: x, y` also names headers that are hop-by-hop for this message.
  const named = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((name) => name.trim()))
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !ANSWERED_HERE.has(name) && !named.has(name)) out[name] = value
  }
  return out
}
