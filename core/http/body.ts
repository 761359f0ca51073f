/**
 * Reads a JSON request body with a size limit. Over the limit → 413 as soon as the limit is
 * crossed (the rest is not buffered); malformed JSON → 400.
 */
import type { IncomingMessage } from 'node:http'
import { badRequest, payloadTooLarge } from '../errors.ts'

export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) {
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
  if (size === 0) return undefined
  const contentType = String(req.headers['content-type'] ?? 'application/json')
  if (!/json/i.test(contentType)) throw badRequest(`expected an application/json body, got ${contentType}`)
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8'))
  } catch (error) {
    throw badRequest(`request body is not valid JSON: ${(error as Error).message}`, [
      { path: '/body', message: 'invalid JSON' },
    ])
  }
}
