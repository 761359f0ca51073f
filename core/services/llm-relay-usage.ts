/**
 * Reads token usage out of an LLM answer as it streams through the relay, without holding the
 * answer: for Server-Sent Events only the current partial line is kept, and only `data:` lines that
 * mention usage are parsed; a plain JSON answer (non-streaming calls, embeddings, Gemini's JSON-array
 * stream) is kept up to `MAX_JSON_BYTES` and parsed at the end.
 */
import { StringDecoder } from 'node:string_decoder'
import { usageOf, type TokenCounts, type Wire } from './llm-relay-protocols.ts'

/** Larger plain-JSON answers are passed on uncounted (real answers are far smaller). */
const MAX_JSON_BYTES = 16 * 1024 * 1024

export interface UsageMeter {
  push(chunk: Buffer): void
  /** The answer's tokens so far (after the end: all of them). */
  totals(): Required<TokenCounts>
  end(): Required<TokenCounts>
  /** Whether any frame so far reported usage (an answer without it is charged its estimate). */
  reported(): boolean
}

export function createUsageMeter(wire: Wire, contentType: string): UsageMeter {
  const sse = /text\/event-stream/i.test(contentType)
  const decoder = new StringDecoder('utf8')
  const seen: TokenCounts = {}
  let partial = ''
  const json: Buffer[] = []
  let jsonBytes = 0

  const frame = (value: unknown) => {
    for (const item of Array.isArray(value) ? value : [value]) {
      const usage = usageOf(wire, item)
      if (usage?.input !== undefined) seen.input = usage.input
      if (usage?.output !== undefined) seen.output = usage.output
    }
  }
  const line = (text: string) => {
    // `usage` and `usageMetadata` both hold "sage": the cheap test spares parsing every delta.
    if (!text.startsWith('data:') || !text.includes('sage')) return
    try {
      frame(JSON.parse(text.slice(5)))
    } catch {
      // a frame that is not JSON ([DONE], a comment) carries no usage
    }
  }
  const totals = () => ({ input: seen.input ?? 0, output: seen.output ?? 0 })

  return {
    push(chunk) {
      if (!sse) {
        if (jsonBytes + chunk.length <= MAX_JSON_BYTES) json.push(chunk)
        jsonBytes += chunk.length
        return
      }
      partial += decoder.write(chunk)
      let newline: number
      while ((newline = partial.indexOf('\n')) >= 0) {
        line(partial.slice(0, newline).replace(/\r$/, ''))
        partial = partial.slice(newline + 1)
      }
    },
    totals,
    reported: () => seen.input !== undefined || seen.output !== undefined,
    end() {
      if (sse) {
        line((partial + decoder.end()).replace(/\r$/, ''))
        partial = ''
      } else if (jsonBytes <= MAX_JSON_BYTES && jsonBytes > 0) {
        try {
          frame(JSON.parse(Buffer.concat(json).toString('utf8')))
        } catch {
          // not JSON: nothing to count
        }
      }
      return totals()
    },
  }
}
