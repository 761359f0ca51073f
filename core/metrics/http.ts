/**
 * The app's HTTP metrics, fed by the request log (http/request-log.ts) when a response ends:
 * requests by method, route pattern and status, their latency, and the live-update (SSE) streams
 * open now. Labels are route patterns (`/api/jobs/:id`), never raw paths, so the series stay few.
 */
import type { Registry } from './registry.ts'

/** Seconds; long-poll claims wait up to 60 s, so the buckets reach that far. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export interface HttpMetrics {
  /** A response ended (or its client went away); `stream`: an SSE stream, kept out of the latency histogram. */
  request(fields: { method: string; route: string; status: number; seconds: number; stream: boolean }): void
  streamOpened(): void
  streamClosed(): void
}

export function httpMetrics(registry: Registry): HttpMetrics {
  const requests = registry.counter('terarchitect_http_requests_total', 'HTTP requests answered, by method, route pattern and status')
  const latency = registry.histogram('terarchitect_http_request_duration_seconds', 'Time to answer an HTTP request (SSE streams excluded), by method and route pattern', LATENCY_BUCKETS)
  const streams = registry.gauge('terarchitect_sse_clients', 'Live-update (SSE) streams open now')
  streams.set(0)
  return {
    request({ method, route, status, seconds, stream }) {
      requests.inc({ method, route, status })
      if (!stream) latency.observe(seconds, { method, route })
    },
    streamOpened: () => streams.inc(),
    streamClosed: () => streams.dec(),
  }
}
