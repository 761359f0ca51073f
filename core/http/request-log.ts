/**
 * The request log: one line per request when its response ends (an SSE stream when it closes):
 * `{"msg":"request","method":"GET","route":"/api/jobs/:id","status":200,"ms":4,"actor":"person","actor_id":"alice"}`.
 * Only the route pattern is written, never the raw path or query string (they may carry ids of
 * no interest or, for a misused client, a credential), and never a header: the actor is who the
 * request was authorized as, named by login, credential id or job id, never by its token.
 * Health probes and metrics scrapes are logged at debug, everything else at info.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../log.ts'
import type { HttpMetrics } from '../metrics/http.ts'
import type { Caller } from './router.ts'

/** What the router tells the log about a request as it learns it. */
export interface RequestRecord {
  /** The matched route's pattern, or a fixed name for what no route answers (`static`, `unmatched`). */
  route(pattern: string): void
  caller(caller: Caller): void
  /** The handler returned leaving its response open (an SSE stream): logged when it closes. */
  streaming(): void
}

export type ObserveRequest = (req: IncomingMessage, res: ServerResponse) => RequestRecord

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const QUIET = new Set(['/api/health', '/api/health/live', '/api/health/ready', '/metrics'])

export function createRequestLog(options: { log: Logger; metrics?: HttpMetrics }): ObserveRequest {
  const { log, metrics } = options
  return (req, res) => {
    const started = process.hrtime.bigint()
    let pattern = 'unmatched'
    let who: Caller | undefined
    let stream = false
    res.once('close', () => {
      if (stream) metrics?.streamClosed()
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const method = METHODS.has(req.method ?? '') ? req.method! : 'OTHER'
      // A client gone before the answer was sent: no status reached it.
      const status = res.headersSent ? res.statusCode : 0
      metrics?.request({ method, route: pattern, status, seconds, stream })
      const fields: Record<string, unknown> = { method, route: pattern, status, ms: Math.round(seconds * 1000), ...actorOf(who) }
      if (stream) fields.stream = true
      if (!res.writableFinished && !stream) fields.aborted = true
      if (QUIET.has(pattern)) log.debug('request', fields)
      else log.info('request', fields)
    })
    return {
      route: (value) => (pattern = value),
      caller: (value) => (who = value),
      streaming() {
        if (stream || res.writableEnded) return
        stream = true
        metrics?.streamOpened()
      },
    }
  }
}

/** The actor by kind and an id that is not a secret: login, `local`/`admin-token`, credential id, job id. */
function actorOf(caller: Caller | undefined): { actor: string; actor_id?: string | number } {
  if (!caller || caller.kind === 'anonymous') return { actor: 'anonymous' }
  if (caller.kind === 'person') return { actor: 'person', actor_id: caller.user?.login ?? caller.via ?? 'unknown' }
  if (caller.kind === 'worker') return { actor: 'worker', actor_id: caller.credential?.id ?? 'unknown' }
  return { actor: 'agent', actor_id: caller.job?.jobId ?? 'unknown' }
}
