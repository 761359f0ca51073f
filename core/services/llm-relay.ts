/**
 * The LLM relay (issue 10): agents never hold an LLM key. A worker CLI, the Director and embedding
 * callers send their requests to `/api/relay/llm/<purpose>/…` with their job token where the
 * provider's key would go; the relay checks the token (a running job), checks the job's token
 * budget, swaps the token for the configured key and forwards the request, from the app's host, to
 * the configured URL of the purpose:
 *
 * | purpose      | upstream URL            | key                 |
 * | ------------ | ----------------------- | ------------------- |
 * | `worker`     | `WORKER_LLM_URL`        | `WORKER_API_KEY`    |
 * | `director`   | `AGENT_LLM_URL`         | `AGENT_API_KEY`     |
 * | `embeddings` | `EMBEDDING_SERVICE_URL` | `EMBEDDING_API_KEY` |
 *
 * A generating call's JSON body is parsed and forwarded as parsed (llm-relay-request.ts), and its
 * estimated tokens are reserved from the job's budget before it is forwarded (llm-relay-spend.ts).
 * The answer is streamed back chunk by chunk as it arrives (no buffering; the usage meter keeps only
 * a partial line), a client that goes away aborts the upstream call, and before the answer ends the
 * reservation is settled: the tokens the answer reports, or the estimate when it reported none
 * (a client gone, an upstream cut off), move to the job's spend and its `llm_usage` row.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { AppContext } from '../context.ts'
import { AppError } from '../errors.ts'
import { redactText } from '../log.ts'
import { verifyAgentCaller } from './job-tokens.ts'
import { createUsageMeter, type UsageMeter } from './llm-relay-usage.ts'
import { findEndpoint, sendRelayError, type Endpoint, type TokenCounts, type Wire } from './llm-relay-protocols.ts'
import type { RelayPurpose } from './llm-relay-urls.ts'
import { estimateTotal, prepareMeteredRequest, type Estimate } from './llm-relay-request.ts'
import { relaySettings } from './llm-relay-settings.ts'
import { reserveTokens, settleTokens, tokenLimit } from './llm-relay-spend.ts'

export const RELAY_PURPOSES: RelayPurpose[] = ['worker', 'director', 'embeddings']

/** The settings naming where each purpose goes and with which key. */
export const RELAY_SETTINGS: Record<RelayPurpose, { url: string; key: string }> = {
  worker: { url: 'WORKER_LLM_URL', key: 'WORKER_API_KEY' },
  director: { url: 'AGENT_LLM_URL', key: 'AGENT_API_KEY' },
  embeddings: { url: 'EMBEDDING_SERVICE_URL', key: 'EMBEDDING_API_KEY' },
}

/** Largest request body relayed (a long coding session's context is a few MB). */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024

/** Request headers that carry a provider credential: the job token arrives in one of them. */
const CREDENTIAL_HEADERS = ['x-api-key', 'x-goog-api-key', 'authorization', 'api-key'] as const
type CredentialHeader = (typeof CREDENTIAL_HEADERS)[number]

/** Never forwarded: hop-by-hop, the client's view of the connection, credentials, the length we recompute. */
const DROPPED_HEADERS = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'content-length', 'accept-encoding', 'cookie', 'forwarded', 'x-forwarded-for',
  'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', ...CREDENTIAL_HEADERS])
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'set-cookie', 'trailer', 'upgrade'])

export interface RelayJob {
  jobId: number
  projectId: number
  ticketId: number | null
}

const relayError = (code: string, status: number, message: string) => new AppError(code, status, message)

/** The credential the client sent and the header it used. */
export function credentialOf(req: IncomingMessage): { token: string; header: CredentialHeader } | undefined {
  for (const header of CREDENTIAL_HEADERS) {
    const value = req.headers[header]
    if (typeof value !== 'string' || !value.trim()) continue
    return { token: value.replace(/^Bearer\s+/i, '').trim(), header }
  }
  return undefined
}

/**
 * The job a relay token belongs to: a job token whose job is running now at the token's attempt and
 * claim (services/job-tokens.ts). A token of a job that ended (completed, failed, cancelled, or
 * handed back) is refused like a forged one; the worker key opens nothing here.
 */
export async function verifyRelayToken(ctx: AppContext, token: string): Promise<RelayJob> {
  const claims = token.startsWith('tj1.') ? ctx.secrets.verifyJobToken(token) : null
  if (!claims) throw relayError('unauthorized', 401, 'the LLM relay needs a valid job token as the API key (Terarchitect relay)')
  const job = await verifyAgentCaller(ctx, token)
  return { jobId: job.jobId, projectId: job.projectId, ticketId: job.ticketId }
}

/**
 * Relays one request whose path is `/api/relay/llm/<purpose><rest>`. Answers every refusal itself,
 * in the error shape of the protocol the path speaks; never throws.
 */
export async function relayLlmRequest(ctx: AppContext, req: IncomingMessage, res: ServerResponse, purpose: RelayPurpose, rest: string, search: URLSearchParams, fallbackWire: Wire): Promise<void> {
  let wire = fallbackWire
  try {
    const found = findEndpoint(req.method ?? 'GET', rest)
    if (!found || !found.endpoint.purposes.includes(purpose)) {
      throw relayError('not_found', 404, `the LLM relay does not forward ${req.method} ${rest} for ${purpose}`)
    }
    const { endpoint, match } = found
    wire = endpoint.wire
    const credential = credentialOf(req)
    if (!credential) {
      const inQuery = search.has('key') ? ' (a key in the URL query is not accepted: send it in a header)' : ''
      throw relayError('unauthorized', 401, `send the job token as the API key${inQuery} (Terarchitect relay)`)
    }
    // The body arrives while the token and the (cached) settings of the job's project are read.
    const bodyRead = req.method === 'POST' ? readBody(req) : Promise.resolve(undefined)
    bodyRead.catch(() => {}) // awaited below unless refused first
    const job = await verifyRelayToken(ctx, credential.token)
    const settings = await relaySettings(ctx, job.projectId)
    const names = RELAY_SETTINGS[purpose]
    const configured = settings[names.url]
    if (!configured) throw relayError('relay_unconfigured', 503, `${names.url} is not set: the app has no ${purpose} LLM to relay to`)
    const upstream = new URL(endpoint.upstream(configured, purpose, match))
    for (const [name, value] of search) if (name !== 'key') upstream.searchParams.append(name, value)
    let body = await bodyRead
    let spend: Spend | undefined
    if (endpoint.metered) {
      const prepared = prepareMeteredRequest(endpoint.wire, req.headers, body)
      body = prepared.body
      const reserved = await reserveTokens(ctx, job.jobId, estimateTotal(prepared.estimate), tokenLimit(settings))
      spend = { estimate: prepared.estimate, reserved }
    }
    await forward(ctx, { req, res, endpoint, upstream, body, credential: credential.header, apiKey: settings[names.key], job, purpose, spend })
  } catch (error) {
    // A refused request's unread body is not waited for: the answer closes the connection.
    if (!req.readableEnded && !res.headersSent) {
      res.setHeader('connection', 'close')
      req.resume()
    }
    const known = error instanceof AppError
    if (!known) ctx.log.error('LLM relay failed', { error, purpose, path: rest })
    sendRelayError(res, wire, known ? error.status : 500, known ? error.code : 'internal', known ? error.message : 'internal error (Terarchitect relay)')
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_REQUEST_BYTES) throw relayError('payload_too_large', 413, `request body is larger than ${MAX_REQUEST_BYTES} bytes (Terarchitect relay)`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** A metered call's estimate and the tokens reserved for it. */
interface Spend {
  estimate: Estimate
  reserved: number
}

/**
 * What a metered call is charged: the usage the answer reported when it ended normally and reported
 * one; otherwise (cut short, or no usage) the larger of what it reported and the estimate.
 */
function charge(spend: Spend, meter: UsageMeter, complete: boolean): Required<TokenCounts> {
  const reported = complete ? meter.end() : meter.totals()
  if (complete && meter.reported()) return reported
  return reported.input + reported.output >= estimateTotal(spend.estimate) ? reported : { ...spend.estimate }
}

interface Forward {
  req: IncomingMessage
  res: ServerResponse
  endpoint: Endpoint
  upstream: URL
  body: Buffer | undefined
  credential: CredentialHeader
  apiKey: string | undefined
  job: RelayJob
  purpose: RelayPurpose
  /** Set for metered calls: settled exactly once when the call ends. */
  spend: Spend | undefined
}

function upstreamHeaders(f: Forward): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(f.req.headers)) {
    if (value === undefined || DROPPED_HEADERS.has(name)) continue
    headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  // The real key goes where the client put its token (x-api-key stays x-api-key, Bearer stays Bearer).
  if (f.apiKey) headers[f.credential] = f.credential === 'authorization' ? `Bearer ${f.apiKey}` : f.apiKey
  // Plain bytes: the usage meter reads the answer as it passes.
  headers['accept-encoding'] = 'identity'
  if (f.body) headers['content-length'] = String(f.body.length)
  return headers
}

function forward(ctx: AppContext, f: Forward): Promise<void> {
  const { res, endpoint } = f
  const started = Date.now()
  /** Ends the call's reservation; a failure to write it is logged, never raised into the answer. */
  const settle = async (charged: Required<TokenCounts> | undefined) => {
    if (!f.spend) return
    try {
      await settleTokens(ctx, f.job.jobId, f.purpose, f.spend.reserved, charged)
    } catch (error) {
      ctx.log.error('LLM relay could not record usage', { error, jobId: f.job.jobId })
    }
  }
  return new Promise<void>((resolve) => {
    const send = f.upstream.protocol === 'https:' ? httpsRequest : httpRequest
    const upstreamReq = send(f.upstream, { method: f.req.method, headers: upstreamHeaders(f) })
    let finished = false
    // Once the request is flushed to the upstream, the provider may be generating: a call lost
    // after that (client gone before the answer, connection reset) is charged its estimate.
    let sent = false
    upstreamReq.once('finish', () => (sent = true))
    // The agent went away (cancel, timeout, a killed CLI): stop the provider's work too.
    res.once('close', () => {
      if (!finished) upstreamReq.destroy(new Error('client closed the relayed request'))
    })
    upstreamReq.once('error', async (error) => {
      if (finished) return
      finished = true
      await settle(sent && f.spend ? { ...f.spend.estimate } : undefined)
      // The cause (refused, DNS, TLS) helps the operator; the upstream's answer body is never echoed here.
      sendRelayError(res, endpoint.wire, 502, 'llm_unreachable', redactText(`${RELAY_SETTINGS[f.purpose].url} unreachable from the app: ${(error as NodeJS.ErrnoException).code ?? error.message} (Terarchitect relay)`))
      resolve()
    })
    upstreamReq.once('response', (upstreamRes) => {
      const status = upstreamRes.statusCode ?? 502
      const headers: Record<string, string | string[]> = {}
      for (const [name, value] of Object.entries(upstreamRes.headers)) if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) headers[name] = value
      res.writeHead(status, headers)
      res.flushHeaders()
      // An error answer costs nothing; a success is charged what it reports (or its estimate).
      const meter = f.spend && status < 300 ? createUsageMeter(endpoint.wire, String(upstreamRes.headers['content-type'] ?? '')) : undefined
      upstreamRes.on('data', (chunk: Buffer) => {
        meter?.push(chunk)
        if (!res.write(chunk)) {
          upstreamRes.pause()
          res.once('drain', () => upstreamRes.resume())
        }
      })
      const done = async (complete: boolean) => {
        if (finished) return
        finished = true
        const charged = meter && f.spend ? charge(f.spend, meter, complete) : undefined
        // Settled before the answer ends, so the job's next call is judged with these tokens in.
        await settle(charged)
        ctx.log.debug('llm relay', { jobId: f.job.jobId, purpose: f.purpose, wire: endpoint.wire, status, ms: Date.now() - started, tokens: charged, complete })
        if (complete) res.end()
        else res.destroy()
        resolve()
      }
      upstreamRes.once('end', () => void done(true))
      upstreamRes.once('error', () => void done(false))
      upstreamRes.once('aborted', () => void done(false))
      res.once('close', () => void done(false))
    })
    upstreamReq.end(f.body)
  })
}
