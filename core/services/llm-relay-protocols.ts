/**
 * What the LLM relay knows about each wire protocol, as data: the endpoints it forwards (path under
 * `/api/relay/llm/<purpose>`, the purposes allowed, where it goes upstream), the shape of an error
 * body each client understands, and where each protocol reports token usage.
 *
 * Paths are what the CLIs send when given the relay base (docs/clis.md): Claude Code
 * `/v1/messages`, OpenCode and Aider `/chat/completions`, Codex `/responses`, Gemini CLI
 * `/v1beta/models/<m>:streamGenerateContent?alt=sse`, the Director `/v1/chat/completions`. A
 * leading `/v1` is optional on the OpenAI paths (a bare or a `/v1` base both reach them).
 */
import type { ServerResponse } from 'node:http'
import { embeddingsUrl } from './memory-embeddings.ts'
import { hostBaseUrl, openAiBaseUrl, versionedEndpoint, type RelayPurpose } from './llm-relay-urls.ts'

export type Wire = 'anthropic' | 'openai-chat' | 'openai-responses' | 'openai-embeddings' | 'openai-models' | 'gemini' | 'gemini-models'

export interface Endpoint {
  wire: Wire
  method: 'GET' | 'POST'
  pattern: RegExp
  purposes: RelayPurpose[]
  /** Tokens are counted and the job's budget enforced (generation and embeddings; not lists or counts). */
  metered: boolean
  /** The upstream URL for the configured base of the purpose (query added by the relay). */
  upstream(configured: string, purpose: RelayPurpose, match: RegExpExecArray): string
}

/** OpenAI-style leaf under the configured URL: the worker CLIs' spelling, or the Director's/embedding service's. */
const openAi = (leaf: string) => (configured: string, purpose: RelayPurpose) =>
  purpose === 'worker' ? `${openAiBaseUrl(configured)}/${leaf}`
    : purpose === 'embeddings' && leaf === 'embeddings' ? embeddingsUrl(configured)
    : versionedEndpoint(configured, leaf)

export const ENDPOINTS: Endpoint[] = [
  { wire: 'anthropic', method: 'POST', pattern: /^\/v1\/messages$/, purposes: ['worker'], metered: true,
    upstream: (configured) => `${hostBaseUrl(configured, '/v1')}/v1/messages` },
  { wire: 'anthropic', method: 'POST', pattern: /^\/v1\/messages\/count_tokens$/, purposes: ['worker'], metered: false,
    upstream: (configured) => `${hostBaseUrl(configured, '/v1')}/v1/messages/count_tokens` },
  { wire: 'openai-chat', method: 'POST', pattern: /^(?:\/v1)?\/chat\/completions$/, purposes: ['worker', 'director'], metered: true,
    upstream: openAi('chat/completions') },
  { wire: 'openai-responses', method: 'POST', pattern: /^(?:\/v1)?\/responses$/, purposes: ['worker'], metered: true,
    upstream: openAi('responses') },
  { wire: 'openai-embeddings', method: 'POST', pattern: /^(?:\/v1)?\/embeddings$/, purposes: ['embeddings'], metered: true,
    upstream: openAi('embeddings') },
  { wire: 'openai-models', method: 'GET', pattern: /^(?:\/v1)?\/models$/, purposes: ['worker', 'director'], metered: false,
    upstream: openAi('models') },
  // Model names are one path segment of safe characters: nothing the agent sends can change the path.
  { wire: 'gemini', method: 'POST', pattern: /^\/v1beta\/models\/([A-Za-z0-9][\w.-]*):(generateContent|streamGenerateContent)$/, purposes: ['worker'], metered: true,
    upstream: (configured, _purpose, match) => `${hostBaseUrl(configured, '/v1beta')}/v1beta/models/${match[1]}:${match[2]}` },
  { wire: 'gemini', method: 'POST', pattern: /^\/v1beta\/models\/([A-Za-z0-9][\w.-]*):countTokens$/, purposes: ['worker'], metered: false,
    upstream: (configured, _purpose, match) => `${hostBaseUrl(configured, '/v1beta')}/v1beta/models/${match[1]}:countTokens` },
  { wire: 'gemini-models', method: 'GET', pattern: /^\/v1beta\/models$/, purposes: ['worker'], metered: false,
    upstream: (configured) => `${hostBaseUrl(configured, '/v1beta')}/v1beta/models` },
]

/** The endpoint for a method and the path after `/api/relay/llm/<purpose>`, with its match. */
export function findEndpoint(method: string, rest: string): { endpoint: Endpoint; match: RegExpExecArray } | undefined {
  for (const endpoint of ENDPOINTS) {
    if (endpoint.method !== method) continue
    const match = endpoint.pattern.exec(rest)
    if (match) return { endpoint, match }
  }
  return undefined
}

/** The wire an error is shaped for when no endpoint matched: guessed from the path. */
export function wireOfPath(rest: string): Wire {
  if (rest.startsWith('/v1beta/')) return 'gemini'
  if (rest.startsWith('/v1/messages')) return 'anthropic'
  return 'openai-chat'
}

const GEMINI_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 402: 'FAILED_PRECONDITION', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  413: 'INVALID_ARGUMENT', 415: 'INVALID_ARGUMENT', 429: 'RESOURCE_EXHAUSTED', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE',
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error'
  if (status === 402) return 'billing_error'
  if (status === 403) return 'permission_error'
  if (status === 404) return 'not_found_error'
  if (status === 413) return 'request_too_large'
  if (status === 429) return 'rate_limit_error'
  if (status >= 500) return 'api_error'
  return 'invalid_request_error'
}

/** The protocol's own error body, so each CLI shows `message` as the provider's error. */
export function errorBody(wire: Wire, status: number, code: string, message: string): unknown {
  if (wire === 'anthropic') return { type: 'error', error: { type: errorType(status), message } }
  if (wire === 'gemini' || wire === 'gemini-models') return { error: { code: status, message, status: GEMINI_STATUS[status] ?? 'UNKNOWN' } }
  return { error: { message, type: errorType(status), code, param: null } }
}

export function sendRelayError(res: ServerResponse, wire: Wire, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const text = JSON.stringify(errorBody(wire, status, code, message))
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' })
  res.end(text)
}

export interface TokenCounts {
  input?: number
  output?: number
}

const count = (...values: unknown[]) => values.reduce<number>((sum, value) => sum + (typeof value === 'number' && Number.isFinite(value) ? value : 0), 0)
const has = (value: unknown) => typeof value === 'number'

/**
 * Token counts one JSON frame (an SSE `data:` payload or a whole JSON answer) reports, or undefined.
 * Every protocol reports running totals within one answer, so the last figure seen wins:
 * - Anthropic: `message_start.message.usage` (input, cache reads/writes, output 1), then
 *   `message_delta.usage.output_tokens` (the answer's total); non-streaming `usage`.
 * - Chat Completions: `usage` on the final chunk (only with `stream_options.include_usage`, which the
 *   relay adds) or the answer.
 * - Responses: `response.completed` (or `.incomplete`/`.failed`) `response.usage`; non-streaming `usage`.
 * - Gemini: `usageMetadata` on every chunk (prompt, candidates, thoughts), the last one complete.
 * - Embeddings: `usage.prompt_tokens`.
 */
export function usageOf(wire: Wire, frame: any): TokenCounts | undefined {
  if (!frame || typeof frame !== 'object') return undefined
  switch (wire) {
    case 'anthropic': {
      const usage = frame.type === 'message_start' ? frame.message?.usage : frame.usage
      if (!usage || typeof usage !== 'object') return undefined
      const input = has(usage.input_tokens) || has(usage.cache_read_input_tokens) || has(usage.cache_creation_input_tokens)
        ? count(usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) : undefined
      return { input, output: has(usage.output_tokens) ? count(usage.output_tokens) : undefined }
    }
    case 'openai-chat':
    case 'openai-embeddings': {
      const usage = frame.usage
      if (!usage || typeof usage !== 'object') return undefined
      return { input: count(usage.prompt_tokens), output: count(usage.completion_tokens) }
    }
    case 'openai-responses': {
      const usage = frame.response?.usage ?? (frame.object === 'response' ? frame.usage : undefined)
      if (!usage || typeof usage !== 'object') return undefined
      return { input: count(usage.input_tokens), output: count(usage.output_tokens) }
    }
    case 'gemini': {
      const usage = frame.usageMetadata
      if (!usage || typeof usage !== 'object') return undefined
      return { input: count(usage.promptTokenCount), output: count(usage.candidatesTokenCount, usage.thoughtsTokenCount) }
    }
    default:
      return undefined
  }
}
