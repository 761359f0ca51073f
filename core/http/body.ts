/**
 * Reads a JSON request body with a size limit. Over the limit → 413 as soon as the limit is
 * crossed (the rest is not buffered); malformed JSON, another content type, a NUL character or
 * absurd nesting → 400 naming where.
 */
import type { IncomingMessage } from 'node:http'
import { badRequest, payloadTooLarge } from '../errors.ts'

/** The body's bytes, refused with 413 as soon as they pass `limit` (the rest is not buffered). */
export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume()
    throw payloadTooLarge(limit)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      req.resume()
      throw payloadTooLarge(limit)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}

export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const raw = await readRawBody(req, limit)
  if (raw.length === 0) return undefined
  const contentType = String(req.headers['content-type'] ?? 'application/json')
  if (!/json/i.test(contentType)) {
    throw badRequest(`expected an application/json body, got ${contentType}`, [
      { path: '/headers/content-type', message: 'must be application/json' },
    ])
  }
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch (error) {
    throw badRequest(`request body is not valid JSON: ${(error as Error).message}`, [
      { path: '/body', message: 'invalid JSON' },
    ])
  }
  const problem = inspect(value)
  if (problem) throw badRequest(`invalid body: ${problem.path} ${problem.message}`, [problem])
  return value
}

/** Deepest nesting accepted; real bodies use a handful of levels. */
const MAX_DEPTH = 64

/**
 * Refuses what the schemas cannot see but would fail later as a 500: a NUL character (PostgreSQL
 * text and jsonb cannot hold U+0000) in any string or key, and nesting deeper than MAX_DEPTH
 * (JSON.stringify and PostgreSQL both recurse). Iterative, so a hostile depth cannot overflow here.
 */
function inspect(root: unknown): { path: string; message: string } | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '/body', depth: 0 }]
  while (stack.length) {
    const { value, path, depth } = stack.pop()!
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { path, message: 'NUL characters (\\u0000) are not accepted' }
      continue
    }
    if (typeof value !== 'object' || value === null) continue
    if (depth >= MAX_DEPTH) return { path, message: `nested deeper than ${MAX_DEPTH} levels` }
    for (const [key, item] of Object.entries(value)) {
      const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      if (key.includes('\u0000')) return { path: at, message: 'NUL characters (\\u0000) are not accepted' }
      stack.push({ value: item, path: at, depth: depth + 1 })
    }
  }
  return null
}
