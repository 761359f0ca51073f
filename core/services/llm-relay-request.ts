/**
 * What the LLM relay does to a metered request's body before forwarding it: refuse a
 * `content-encoding` (the relay must read what the provider will read), parse the JSON (a body that
 * is not a JSON object is a 400), ask a streaming Chat Completions call for its usage, and estimate
 * the tokens the call may use, which the job reserves before the call (llm-relay-spend.ts).
 *
 * The body forwarded is the one parsed, serialised again: the provider acts on exactly the request
 * the relay read, whatever escapes or repeated keys the client wrote (`"str\u0065am"` is `stream`;
 * of two `max_tokens` the relay and the provider see the same one).
 */
import type { IncomingHttpHeaders } from 'node:http'
import { AppError } from '../errors.ts'
import type { Wire } from './llm-relay-protocols.ts'

/**
 * The estimate of one call, in tokens (documented in docs/SECURITY.md "The LLM relay"):
 * - input: the body's size divided by `BYTES_PER_TOKEN` (JSON and English or code run at 3–5 bytes
 *   a token; base64 images count far more than they cost, which the cap bounds);
 * - output: the maximum the request names (`max_tokens`, `max_completion_tokens`,
 *   `max_output_tokens`, Gemini's `maxOutputTokens`) times the choices asked for (`n`,
 *   `candidateCount`), or `DEFAULT_OUTPUT_TOKENS` when it names none; 0 for embeddings;
 * - both together at most `MAX_ESTIMATE`.
 */
export interface Estimate {
  input: number
  output: number
}

const BYTES_PER_TOKEN = 4
const DEFAULT_OUTPUT_TOKENS = 4096
const MAX_ESTIMATE = 1_000_000
/** Choices per call beyond this are not believed (no provider allows more). */
const MAX_CHOICES = 128

export const estimateTotal = (estimate: Estimate) => estimate.input + estimate.output

export interface PreparedRequest {
  body: Buffer
  estimate: Estimate
}

const invalid = (status: number, code: string, message: string) => new AppError(code, status, `${message} (Terarchitect relay)`)

/** Checks, rewrites and estimates a metered request; throws a 415 or 400 AppError. */
export function prepareMeteredRequest(wire: Wire, headers: IncomingHttpHeaders, body: Buffer | undefined): PreparedRequest {
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase()
  if (encoding && encoding !== 'identity') {
    throw invalid(415, 'unsupported_content_encoding', `content-encoding ${JSON.stringify(encoding)} is not accepted: send the JSON body uncompressed`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'))
  } catch {
    throw invalid(400, 'invalid_json', 'the request body is not JSON')
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(400, 'invalid_json', 'the request body must be a JSON object')
  const request = parsed as Record<string, any>
  // A streaming Chat Completions request reports usage only when asked: the relay always asks.
  if (wire === 'openai-chat' && request.stream === true) {
    const options = request.stream_options && typeof request.stream_options === 'object' && !Array.isArray(request.stream_options) ? request.stream_options : {}
    request.stream_options = { ...options, include_usage: true }
  }
  const forwarded = Buffer.from(JSON.stringify(request))
  return { body: forwarded, estimate: estimate(wire, request, forwarded.length) }
}

const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.ceil(value) : undefined

function outputEstimate(wire: Wire, request: Record<string, any>): number {
  if (wire === 'openai-embeddings') return 0
  const config = request.generationConfig ?? request.generation_config
  const [maximum, choices] = wire === 'anthropic' ? [request.max_tokens, 1]
    : wire === 'openai-chat' ? [request.max_completion_tokens ?? request.max_tokens, request.n]
    : wire === 'openai-responses' ? [request.max_output_tokens, 1]
    : [config?.maxOutputTokens ?? config?.max_output_tokens, config?.candidateCount ?? config?.candidate_count]
  return (positive(maximum) ?? DEFAULT_OUTPUT_TOKENS) * Math.min(positive(choices) ?? 1, MAX_CHOICES)
}

function estimate(wire: Wire, request: Record<string, any>, bytes: number): Estimate {
  const input = Math.min(Math.ceil(bytes / BYTES_PER_TOKEN), MAX_ESTIMATE)
  const output = Math.min(outputEstimate(wire, request), MAX_ESTIMATE - input)
  return { input, output }
}
