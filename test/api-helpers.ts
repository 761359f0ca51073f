/**
 * Helpers for the API suites on top of test/helpers.ts: the error-shape assertion every suite
 * shares, a whole-database snapshot (to prove a refused request wrote nothing), and a small
 * Server-Sent Events client over fetch.
 */
import * as assert from 'uvu/assert'
import type { Response, TestApp } from './helpers.ts'

/**
 * Asserts `res` is the API's error shape `{error:{code,message,details}}` with `status`; when
 * `path` is given, some detail must name it (a string is an exact path, a RegExp a pattern).
 */
export function assertError(res: Response, status: number, path?: string | RegExp, note = ''): void {
  const where = `${note ? note + ': ' : ''}${res.status} ${JSON.stringify(res.body)}`
  assert.is(res.status, status, where)
  const error = res.body?.error
  assert.type(error, 'object', `error body: ${where}`)
  assert.type(error.code, 'string', `error.code: ${where}`)
  assert.type(error.message, 'string', `error.message: ${where}`)
  assert.ok(Array.isArray(error.details), `error.details: ${where}`)
  for (const detail of error.details) {
    assert.type(detail.path, 'string', `details[].path: ${where}`)
    assert.type(detail.message, 'string', `details[].message: ${where}`)
  }
  if (path !== undefined) {
    const paths: string[] = error.details.map((detail: { path: string }) => detail.path)
    const hit = paths.some((candidate) => (typeof path === 'string' ? candidate === path : path.test(candidate)))
    assert.ok(hit, `expected a detail naming ${path}: ${where}`)
  }
}

/** Every row of every table in the app's schema, as comparable JSON (ordered by primary key). */
export async function snapshotTables(t: TestApp): Promise<Record<string, string>> {
  const sql = t.app.ctx.sql
  const tables = await sql<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`
  const out: Record<string, string> = {}
  for (const { name } of tables) {
    const rows = await sql.unsafe(`select * from "${name.replace(/"/g, '""')}" order by 1`)
    out[name] = JSON.stringify(rows)
  }
  return out
}

/**
 * A snapshot once background work (memory indexing after a change) has settled: two snapshots
 * taken 300 ms apart are equal.
 */
export async function settledSnapshot(t: TestApp, ms = 20000): Promise<Record<string, string>> {
  const deadline = Date.now() + ms
  let previous = await snapshotTables(t)
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 300))
    const current = await snapshotTables(t)
    if (JSON.stringify(current) === JSON.stringify(previous)) return current
    if (Date.now() > deadline) throw new Error('the database did not settle')
    previous = current
  }
}

export interface SseMessage {
  id: number | null
  event: string
  data: any
}

export interface SseStream {
  status: number
  messages: SseMessage[]
  /** Resolves with the first message (already received or arriving) that `match` accepts. */
  next(match: (message: SseMessage) => boolean, ms?: number, what?: string): Promise<SseMessage>
  close(): void
}

/**
 * Opens `GET path` as an event stream and parses messages as they arrive (`id`, `event`, `data`
 * lines; `data` is JSON-parsed). `lastEventId` is sent as the `Last-Event-ID` header.
 */
export async function openEvents(t: TestApp, path: string, options: { lastEventId?: number; headers?: Record<string, string> } = {}): Promise<SseStream> {
  const abort = new AbortController()
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers }
  if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId)
  const res = await fetch(t.url + path, { headers, signal: abort.signal })
  const messages: SseMessage[] = []
  const waiters = new Set<() => void>()
  let closed = false
  const pump = async () => {
    if (!res.body) return
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const message = parseBlock(block)
          if (message) {
            messages.push(message)
            for (const wake of waiters) wake()
          }
        }
      }
    } catch {
      // aborted by close()
    }
  }
  void pump()
  return {
    status: res.status,
    messages,
    async next(match, ms = 5000, what = 'an event') {
      const deadline = Date.now() + ms
      for (;;) {
        const found = messages.find(match)
        if (found) return found
        const left = deadline - Date.now()
        if (left <= 0 || closed) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages.map((m) => [m.id, m.event]))}`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, left)
          function done() {
            clearTimeout(timer)
            waiters.delete(done)
            resolve()
          }
          waiters.add(done)
        })
      }
    },
    close() {
      closed = true
      abort.abort()
      for (const wake of waiters) wake()
    },
  }
}

function parseBlock(block: string): SseMessage | null {
  let id: number | null = null
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') id = Number(value)
    else if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  if (!data.length) return null
  const text = data.join('\n')
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { id, event, data: parsed }
}
