/**
 * A small router on node:http. A route declares its method, path pattern (`:name` segments), who
 * may call it, and TypeBox schemas for params, query and body; the router validates all three
 * before the handler runs, so handlers only see well-typed input. Handlers return a value (200
 * JSON), a `Reply`, or `undefined` after writing the response themselves (SSE).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Type, type TSchema, type Static, type TObject } from '@sinclair/typebox'
import { AppError, isAppError, notFound, type ErrorDetail } from '../errors.ts'
import type { Logger } from '../log.ts'
import { readJsonBody, readRawBody } from './body.ts'
import { validate } from './validate.ts'
import type { Admit } from './boundary.ts'
import type { ObserveRequest } from './request-log.ts'

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** A person's role, lowest first: viewer reads, member works tickets, admin decides what runs where. */
export type Role = 'viewer' | 'member' | 'admin'
export const ROLES: readonly Role[] = ['viewer', 'member', 'admin']

/**
 * Who may call a route: anyone; a person holding at least this role (a session, an API token, the
 * admin token, or the local zero-setup admin); coordinators; or agents.
 */
export type Access = 'public' | Role | 'worker' | 'agent'

/** How a person's request was authenticated. */
export type PersonVia = 'local' | 'session' | 'token' | 'admin-token'

/** The authenticated caller, as established by the app's `authorize` function. */
export interface Caller {
  kind: 'anonymous' | 'person' | 'worker' | 'agent'
  /** For people: the effective role of this request (a token's role is capped by its user's). */
  role?: Role
  /** For people with an account (session or API token). */
  user?: { id: number; login: string }
  via?: PersonVia
  /** For session requests: the SHA-256 of the session id (logout, ending its streams). */
  sessionHash?: string
  /** For API token requests: the token's id. */
  tokenId?: number
  /** The client's address (for audit and throttling). */
  address?: string
  /** For agents: the job their token was issued for (valid only while it runs at this attempt). */
  job?: { jobId: number; ticketId: number | null; projectId: number; attempt: number }
  /** For coordinators: their credential (`worker-key` or `coordinator-token:<id>`) and the projects it may claim (null = all). */
  credential?: { id: string; projectIds: number[] | null }
}

export interface Context<P, Q, B> {
  req: IncomingMessage
  res: ServerResponse
  params: P
  query: Q
  body: B
  caller: Caller
}

export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const Empty = Type.Object({})
type Defaulted<T> = T extends TSchema ? T : typeof Empty

export interface RouteSpec<P extends TObject | undefined, Q extends TObject | undefined, B extends TSchema | undefined> {
  method: Method
  path: string
  access: Access
  params?: P
  query?: Q
  body?: B
  /**
   * Read the body unparsed: the handler gets it as a Buffer (at most the body limit, 413 above) in
   * `ctx.body`. For signatures over the exact bytes (GitHub webhooks); excludes `body`.
   */
  rawBody?: boolean
  /**
   * Leave the body unread: the handler streams `ctx.req` itself (no body limit) and writes the
   * response itself (the git relay's packs). Excludes `body` and `rawBody`.
   */
  stream?: boolean
  /**
   * A public route for machines (signed webhooks, health probes): exempt from the browser boundary
   * (boundary.ts), like every worker and agent route.
   */
  machine?: boolean
  /**
   * An agent route the agent of a job being cancelled still reaches (to learn it must stop and to
   * say it stopped); every other agent route refuses that job's token (services/job-tokens.ts).
   */
  afterCancel?: boolean
  /**
   * A public route answered without looking up its caller (always `anonymous`), so nothing reads
   * the database before the handler: health probes must answer within their bound whatever the
   * database does. A handler that needs a credential checks it itself.
   */
  unauthenticated?: boolean
  handle(ctx: Context<Static<Defaulted<P>>, Static<Defaulted<Q>>, Static<Defaulted<B>>>): unknown
}

export interface Route {
  method: Method
  path: string
  access: Access
  params?: TObject
  query?: TObject
  body?: TSchema
  rawBody?: boolean
  stream?: boolean
  machine?: boolean
  afterCancel?: boolean
  unauthenticated?: boolean
  handle(ctx: Context<any, any, any>): unknown
}

/** Declares a route; exists for type inference of the handler's context. */
export function route<P extends TObject | undefined = undefined, Q extends TObject | undefined = undefined, B extends TSchema | undefined = undefined>(
  spec: RouteSpec<P, Q, B>,
): Route {
  return spec as unknown as Route
}

/** Establishes the caller or throws 401/403; may look things up (sessions, job leases), hence async. */
export type Authorize = (access: Access, req: IncomingMessage, params: Record<string, unknown>, route?: Pick<Route, 'afterCancel'>) => Caller | Promise<Caller>

export interface RouterOptions {
  routes: Route[]
  authorize: Authorize
  bodyLimit: number
  log: Logger
  /**
   * The browser boundary (boundary.ts): sets the security headers and throws 421/415/403 before
   * authorization; `route` is undefined for static files and unknown paths.
   */
  admit?: Admit
  /** Called for requests no route matches (static files); returns false when it did not answer. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>
  /** The request log (request-log.ts): told the route pattern and the caller of each request. */
  observe?: ObserveRequest
}

interface Compiled {
  route: Route
  segments: string[]
}

export function createRouter(options: RouterOptions) {
  const compiled: Compiled[] = options.routes.map((route) => ({ route, segments: route.path.split('/').slice(1) }))

  function match(pathname: string): { hits: { route: Route; params: Record<string, string> }[] } {
    const parts = pathname.split('/').slice(1)
    const hits: { route: Route; params: Record<string, string> }[] = []
    for (const { route, segments } of compiled) {
      if (segments.length !== parts.length) continue
      const params: Record<string, string> = {}
      let ok = true
      for (let i = 0; i < segments.length && ok; i++) {
        const segment = segments[i]!
        if (segment.startsWith(':')) params[segment.slice(1)] = decodeSegment(parts[i]!)
        else ok = segment === parts[i]
      }
      if (ok) hits.push({ route, params })
    }
    return { hits }
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const record = options.observe?.(req, res)
    try {
      const { hits } = match(url.pathname)
      const hit = hits.find((candidate) => candidate.route.method === req.method)
      if (hit) record?.route(hit.route.path)
      options.admit?.(req, res, hit?.route)
      if (!hit) {
        if (hits.length) {
          res.setHeader('allow', [...new Set(hits.map((h) => h.route.method))].join(', '))
          throw new AppError('method_not_allowed', 405, `${req.method} is not allowed on ${url.pathname}`)
        }
        if (options.fallback && (req.method === 'GET' || req.method === 'HEAD') && (await options.fallback(req, res))) {
          record?.route('static')
          return
        }
        throw notFound(`route ${req.method} ${url.pathname}`)
      }
      const { route } = hit
      const params = route.params ? validate(route.params, hit.params, 'params', { convert: true }) : {}
      const caller: Caller = route.unauthenticated && route.access === 'public' ? { kind: 'anonymous' } : await options.authorize(route.access, req, params, route)
      record?.caller(caller)
      const query = route.query ? validate(route.query, queryObject(url.searchParams), 'query', { convert: true }) : {}
      let body: unknown
      if (route.body) {
        const raw = await readJsonBody(req, options.bodyLimit)
        body = validate(route.body, raw ?? {}, 'body')
      } else if (route.rawBody) {
        body = await readRawBody(req, options.bodyLimit)
      } else if (!route.stream) {
        req.resume()
      }
      const result = await route.handle({ req, res, params, query, body, caller })
      if (res.headersSent && !res.writableEnded) record?.streaming()
      if (res.headersSent || res.writableEnded) return
      if (result instanceof Reply) sendJson(res, result.status, result.body, result.headers)
      else sendJson(res, 200, result ?? null)
    } catch (error) {
      sendError(res, error, options.log, req)
    }
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Repeated keys become arrays; single keys stay strings. */
function queryObject(search: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const key of new Set(search.keys())) {
    const values = search.getAll(key)
    out[key] = values.length > 1 ? values : values[0]!
  }
  return out
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end()
    return
  }
  if (status === 204 || body === undefined) {
    res.writeHead(status, headers)
    res.end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/** Sends an already serialized JSON body with its ETag; a matching If-None-Match gets 304. */
export function sendCached(req: IncomingMessage, res: ServerResponse, entry: { body: Buffer; etag: string }): void {
  if (req.headers['if-none-match'] === entry.etag) {
    res.writeHead(304, { etag: entry.etag, 'cache-control': 'no-cache' })
    res.end()
    return
  }
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(entry.body.length),
    etag: entry.etag,
    'cache-control': 'no-cache',
  })
  res.end(entry.body)
}

export function sendError(res: ServerResponse, error: unknown, log: Logger, req?: IncomingMessage): void {
  let status = 500
  let payload: { code: string; message: string; details: ErrorDetail[] }
  if (isAppError(error)) {
    status = error.status
    payload = { code: error.code, message: error.message, details: error.details }
  } else {
    // The path only: a query string may carry what people typed (or a credential someone pasted).
    log.error('unhandled error', { error, method: req?.method, path: req?.url?.split('?')[0] })
    payload = { code: 'internal', message: 'internal error', details: [] }
  }
  // A client still sending a body we refused: answer and close instead of reading it.
  const headers: Record<string, string> = status === 413 ? { connection: 'close' } : {}
  sendJson(res, status, { error: payload }, headers)
}
