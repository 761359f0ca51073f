/**
 * Token usage through the LLM relay. `createUsageMeter` reads it out of an LLM answer as it streams
 * through the relay, without holding the answer: for Server-Sent Events only the current partial
 * line is kept, and only `data:` lines that mention usage are parsed; a plain JSON answer
 * (non-streaming calls, embeddings, Gemini's JSON-array stream) is kept up to `MAX_JSON_BYTES` and
 * parsed at the end. `withRelayUsage` reads what jobs spent (the `llm_usage` rows) for the jobs API.
 */
import { StringDecoder } from 'node:string_decoder'
import type { Sql } from '../db/index.ts'
import type { RelayUsage } from '../types.ts'
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

/**
 * `jobs`, each with `relay_usage`: its relayed tokens and calls over every purpose (worker,
 * Director, embeddings), or null when it made no relayed call. One aggregated query for the whole
 * list, whatever its length.
 */
export async function withRelayUsage<T extends { id: number }>(sql: Sql, jobs: T[]): Promise<(T & { relay_usage: RelayUsage | null })[]> {
  const ids = jobs.map((job) => job.id)
  const rows = ids.length
    ? await sql`select job_id, sum(input_tokens)::text as input_tokens, sum(output_tokens)::text as output_tokens, sum(calls)::text as calls
        from llm_usage where job_id = any(${ids}::int[]) group by job_id`
    : []
  // Sums of bigint columns come back as text; token counts stay far below 2^53.
  const byJob = new Map(rows.map((row) => [row.job_id as number, {
    input_tokens: Number(row.input_tokens), output_tokens: Number(row.output_tokens), calls: Number(row.calls),
  }]))
  return jobs.map((job) => ({ ...job, relay_usage: byJob.get(job.id) ?? null }))
}
