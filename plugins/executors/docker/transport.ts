/**
 * The HTTP transport of the Docker Engine client: where the daemon is (`DOCKER_HOST`), one
 * keep-alive agent, and raw requests. Status checking lives with the calls in engine.ts.
 */
import http from 'node:http'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { DockerError } from './errors.ts'

/** Where the daemon listens: a unix socket, or a plain-TCP host and port. */
export type DockerAddress = { socketPath: string } | { host: string; port: number }

export const DEFAULT_SOCKET = '/var/run/docker.sock'

/**
 * Parses a `DOCKER_HOST` value: empty → the default socket; `unix:///path`; `tcp://host[:port]`
 * (port 2375 by default). TLS (`DOCKER_TLS_VERIFY`, port 2376) and `npipe://` are not supported:
 * they are rejected rather than silently spoken to in plain text.
 */
export function parseDockerHost(value: string | undefined): DockerAddress {
  if (value === undefined || value === '') return { socketPath: DEFAULT_SOCKET }
  if (value.startsWith('unix://')) return { socketPath: value.slice('unix://'.length) || DEFAULT_SOCKET }
  if (value.startsWith('/')) return { socketPath: value }
  if (value.startsWith('tcp://') || value.startsWith('http://')) {
    const url = new URL(value.replace(/^tcp:/, 'http:'))
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 2375 : Number(url.port) }
  }
  throw new DockerError('docker_bad_request', 0, `unsupported DOCKER_HOST ${JSON.stringify(value)} (unix:// or tcp:// only)`)
}

export type Query = Record<string, string | number | boolean | string[] | undefined>

export interface SendOptions {
  query?: Query
  /** A plain object is sent as JSON; a stream is piped with `contentType`. */
  body?: unknown
  contentType?: string
  signal?: AbortSignal
}

export interface Transport {
  readonly address: DockerAddress
  send(method: string, path: string, options?: SendOptions): Promise<IncomingMessage>
  close(): void
}

/** Encodes a query; arrays repeat the key (`changes=a&changes=b`), undefined is left out. */
export function encodeQuery(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const item of value) params.append(key, item)
    else if (typeof value === 'boolean') params.append(key, value ? '1' : '0')
    else params.append(key, String(value))
  }
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

/**
 * Creates the transport. `apiPrefix` (e.g. `/v1.41`) is put in front of every path. One keep-alive
 * agent is shared by all calls, so short calls reuse connections; long-lived ones (wait, logs
 * follow) hold their own socket until they end.
 */
export function createTransport(address: DockerAddress, apiPrefix: string): Transport {
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 8 })
  const target = 'socketPath' in address ? { socketPath: address.socketPath } : { host: address.host, port: address.port }
  const where = 'socketPath' in address ? address.socketPath : `${address.host}:${address.port}`

  const send = (method: string, path: string, options: SendOptions = {}) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const { body, signal } = options
      const streaming = body instanceof Readable || isPipeable(body)
      const payload = body === undefined || streaming ? undefined : Buffer.from(JSON.stringify(body))
      const headers: Record<string, string | number> = { host: 'docker' }
      if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length })
      if (streaming) headers['content-type'] = options.contentType ?? 'application/octet-stream'
      const request = http.request({
        ...target,
        agent,
        method,
        path: `${apiPrefix}${path}${encodeQuery(options.query)}`,
        headers,
        signal,
      })
      let sourceError: Error | undefined
      request.on('response', resolve)
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (sourceError) reject(new DockerError('docker_bad_request', 0, `request body for ${path} failed: ${sourceError.message}`, sourceError))
        else if (error.name === 'AbortError') reject(new DockerError('docker_aborted', 0, `${method} ${path} aborted`, error))
        else reject(new DockerError('docker_unreachable', 0, `docker daemon at ${where}: ${error.message}`, error))
      })
      if (streaming) {
        const source = body as NodeJS.ReadableStream
        source.on('error', (error: Error) => {
          sourceError = error
          request.destroy(error)
        })
        source.pipe(request)
      } else {
        request.end(payload)
      }
    })

  return { address, send, close: () => agent.destroy() }
}

/** tar-fs packs are streamx streams: pipeable, but not instances of node's Readable. */
function isPipeable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { pipe?: unknown }).pipe === 'function'
}

/** Reads a whole (small) response body. */
export async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
