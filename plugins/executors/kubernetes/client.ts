/**
 * A small client of the Kubernetes API over node:https: one keep-alive agent trusting the cluster's
 * CA, a bearer token (or a client certificate) on every call, JSON in and out. The statuses each
 * call expects sit with the call (`expect`); anything else becomes a KubernetesError built from the
 * server's Status object. Long-lived reads (watch, log follow) get the raw response to stream.
 */
import { readFileSync } from 'node:fs'
import https from 'node:https'
import type { IncomingMessage } from 'node:http'
import { errorForStatus, KubernetesError } from './errors.ts'

/** Where the API server is and how to authenticate to it (connection.ts resolves it). */
export interface KubernetesConnection {
  /** `https://host:port`, without a trailing slash. */
  server: string
  /** PEM of the CA that signed the server's certificate; absent = the system's roots. */
  ca?: string
  /** Bearer token; never logged. */
  token?: string
  /** A file holding the bearer token, re-read every minute (rotated service account tokens). */
  tokenFile?: string
  /** PEM client certificate and key (kubeconfig client-certificate-data / client-key-data). */
  cert?: string
  key?: string
  /** The namespace jobs run in. */
  namespace: string
  /** Where the settings came from, for messages: `in-cluster` or the kubeconfig path and context. */
  source: string
}

export type Query = Record<string, string | number | boolean | undefined>

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** Default application/json; merge patches send application/merge-patch+json. */
  contentType?: string
  /** The statuses that mean success; default 200 and 201. */
  expect?: number[]
  signal?: AbortSignal
}

export interface KubernetesClient {
  readonly connection: KubernetesConnection
  /** Sends one call and returns its parsed JSON body. */
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>
  /** Opens a streaming GET (watch, log follow); the status is checked before it is returned. */
  stream(path: string, query: Query, signal?: AbortSignal): Promise<IncomingMessage>
  close(): void
}

export function encodeQuery(query: Query | undefined): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.append(key, typeof value === 'boolean' ? String(value) : String(value))
  }
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

export function createKubernetesClient(connection: KubernetesConnection): KubernetesClient {
  const agent = new https.Agent({ keepAlive: true, maxFreeSockets: 4, ca: connection.ca, cert: connection.cert, key: connection.key })
  const base = new URL(connection.server)
  let fileToken = { value: '', readAt: 0 }
  const token = () => {
    if (!connection.tokenFile) return connection.token
    if (Date.now() - fileToken.readAt > 60_000) {
      try {
        fileToken = { value: readFileSync(connection.tokenFile, 'utf8').trim(), readAt: Date.now() }
      } catch {
        // Keep the last token read: a rotation in progress must not fail the call.
      }
    }
    return fileToken.value || connection.token
  }

  const send = (method: string, path: string, options: RequestOptions) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
      const headers: Record<string, string | number> = { accept: 'application/json' }
      const bearer = token()
      if (bearer) headers.authorization = `Bearer ${bearer}`
      if (payload) Object.assign(headers, { 'content-type': options.contentType ?? 'application/json', 'content-length': payload.length })
      const request = https.request({
        host: base.hostname.replace(/^\[|\]$/g, ''), port: base.port || 443, agent, method, headers,
        path: `${base.pathname.replace(/\/+$/, '')}${path}${encodeQuery(options.query)}`,
        signal: options.signal,
      })
      request.on('response', resolve)
      request.on('error', (error) => {
        if (error.name === 'AbortError') reject(new KubernetesError('k8s_aborted', 0, `${method} ${path} aborted`, undefined, error))
        else reject(new KubernetesError('k8s_unreachable', 0, `Kubernetes API at ${connection.server}: ${error.message}`, undefined, error))
      })
      request.end(payload)
    })

  async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await send(method, path, options)
    const text = await readBody(response)
    if (!(options.expect ?? [200, 201]).includes(response.statusCode ?? 0)) throw errorForStatus(response.statusCode ?? 0, text, `${method} ${path}`)
    return (text === '' ? undefined : JSON.parse(text)) as T
  }

  async function stream(path: string, query: Query, signal?: AbortSignal): Promise<IncomingMessage> {
    const response = await send('GET', path, { query, signal })
    if (response.statusCode !== 200) throw errorForStatus(response.statusCode ?? 0, await readBody(response), `GET ${path}`)
    return response
  }

  return { connection, request, stream, close: () => agent.destroy() }
}

export async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
