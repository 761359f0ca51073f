/**
 * Embeddings for project memory from an OpenAI-compatible `POST …/v1/embeddings`
 * (EMBEDDING_SERVICE_URL, EMBEDDING_API_KEY, MEMORY_EMBEDDING_MODEL). Vectors are returned at unit
 * length, so cosine similarity is a plain dot product wherever they are compared.
 */
import type { AppContext } from '../context.ts'
import { AppError } from '../errors.ts'
import { resolveSettings } from './settings.ts'

/** Used when MEMORY_EMBEDDING_MODEL is unset (OpenAI's small embedding model). */
export const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small'
/** Inputs per request; OpenAI accepts up to 2048, smaller batches keep one failure cheap. */
const BATCH = 64
/** Characters of one input; longer texts are cut (models have token limits of ~8k tokens). */
const MAX_INPUT_CHARS = 16000

export interface EmbeddingConfig {
  url: string
  apiKey: string | null
  model: string
}

/** The configured service, or null: memory then searches by keywords only. */
export async function embeddingConfig(ctx: AppContext): Promise<EmbeddingConfig | null> {
  const settings = await resolveSettings(ctx)
  if (!settings.EMBEDDING_SERVICE_URL) return null
  return {
    url: embeddingsUrl(settings.EMBEDDING_SERVICE_URL),
    apiKey: settings.EMBEDDING_API_KEY ?? null,
    model: settings.MEMORY_EMBEDDING_MODEL ?? DEFAULT_EMBEDDING_MODEL,
  }
}

/** Accepts the endpoint itself, an OpenAI-style base ending in `/v1`, or a bare host. */
export function embeddingsUrl(configured: string): string {
  const url = configured.replace(/\/+$/, '')
  if (url.endsWith('/embeddings')) return url
  return url.endsWith('/v1') ? `${url}/embeddings` : `${url}/v1/embeddings`
}

const embeddingError = (message: string, cause?: unknown) => new AppError('embedding_failed', 502, `embedding service: ${message}`, [], cause)

/** One unit vector per text, in order. Throws `embedding_failed` (502) on any failure. */
export async function embedTexts(config: EmbeddingConfig, texts: string[], timeoutMs = 60000): Promise<number[][]> {
  const out: number[][] = []
  for (let i = 0; i < texts.length; i += BATCH) {
    const batch = texts.slice(i, i + BATCH).map((text) => text.slice(0, MAX_INPUT_CHARS) || ' ')
    out.push(...(await embedBatch(config, batch, timeoutMs)))
  }
  return out
}

async function embedBatch(config: EmbeddingConfig, input: string[], timeoutMs: number): Promise<number[][]> {
  let res: Response
  try {
    res = await fetch(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}) },
      body: JSON.stringify({ model: config.model, input }),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    throw embeddingError(`unreachable: ${(error as Error).message}`, error)
  }
  // The status only, never the body: EMBEDDING_SERVICE_URL may point anywhere (an internal
  // service, a cloud metadata endpoint), and echoing its answer would make this a read primitive.
  if (!res.ok) {
    await res.body?.cancel().catch(() => {})
    throw embeddingError(`HTTP ${res.status}`)
  }
  const text = await res.text().catch(() => '')
  let data: { data?: { index?: number; embedding?: unknown }[] }
  try {
    data = JSON.parse(text)
  } catch {
    throw embeddingError(`answer is not JSON (HTTP ${res.status})`)
  }
  const rows = Array.isArray(data.data) ? data.data.slice() : []
  if (rows.length !== input.length) throw embeddingError(`asked for ${input.length} embeddings, got ${rows.length}`)
  rows.sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
  const vectors = rows.map((row) => row.embedding)
  const dims = Array.isArray(vectors[0]) ? vectors[0].length : 0
  if (!dims || !vectors.every((v) => Array.isArray(v) && v.length === dims && v.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
    throw embeddingError('answer holds no usable vectors (same length, finite numbers)')
  }
  return (vectors as number[][]).map(normalize)
}

export function normalize(vector: number[]): number[] {
  const norm = Math.hypot(...vector)
  return norm > 0 ? vector.map((x) => x / norm) : vector
}
