/**
 * The embedded database's socket keeps serving after a message throws inside PGlite: the failing
 * query's connection is closed (postgres.js reports it and reconnects) and the next queries run,
 * instead of every later message waiting forever in pglite-socket's query queue.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { serveEmbedded } from '../core/db/embedded.ts'
import { guardSocketQueue } from '../core/db/socket-queue-guard.ts'
import { createSql, type Sql } from '../core/db/sql.ts'
import { createLogger } from '../core/log.ts'

const dir = mkdtempSync(join(tmpdir(), 'terarchitect-queue-'))
const socketPath = join(dir, 's.sock')
const lines: string[] = []
const log = createLogger('debug', {}, (line) => lines.push(line))
let pglite: PGlite
let server: PGLiteSocketServer
let sql: Sql

/** The query's result, or a rejection naming a hang when it does not answer within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (the socket's query queue is stuck)`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Makes PGlite's protocol entry point throw for its next `count` calls. */
function failNext(count: number): void {
  const original = pglite.execProtocolRawStream
  let left = count
  pglite.execProtocolRawStream = async function (this: PGlite, ...args: Parameters<PGlite['execProtocolRawStream']>) {
    if (left > 0) {
      left--
      if (left === 0) pglite.execProtocolRawStream = original
      throw new Error('simulated failure inside PGlite')
    }
    return original.apply(this, args)
  }
}

test.before(async () => {
  pglite = await PGlite.create()
  server = await serveEmbedded(pglite, socketPath, log)
  sql = createSql({ path: socketPath }, 1)
})

test.after(async () => {
  await sql.end({ timeout: 1 }).catch(() => {})
  await server.stop().catch(() => {})
  await pglite.close().catch(() => {})
  rmSync(dir, { recursive: true, force: true })
})

test('a query that throws inside PGlite fails alone; the next queries are answered', async () => {
  assert.equal((await within(sql`select 1 as one`, 10000, 'warm-up'))[0].one, 1)
  failNext(1)
  const failed = await within(sql`select 'secret-marker-value' as v`.then(() => null, (error: Error) => error), 10000, 'the failing query')
  assert.ok(failed instanceof Error, 'the query whose message threw is rejected')
  const after = await within(sql`select 2 as two`, 10000, 'the query after the failure')
  assert.equal(after[0].two, 2)
  await within(sql`create table t (id int primary key)`, 10000, 'a statement after the failure')
  await within(sql`insert into t values (1), (2)`, 10000, 'an insert after the failure')
  assert.equal((await within(sql`select count(*)::int as n from t`, 10000, 'a count'))[0].n, 2)
  const record = lines.map((line) => JSON.parse(line) as { level: string, msg: string, error?: { message: string } })
    .find((entry) => entry.msg.includes('socket query queue'))
  assert.ok(record, 'the failure is logged')
  assert.is(record!.level, 'error')
  assert.is(record!.error?.message, 'simulated failure inside PGlite')
  assert.not.ok(lines.join('\n').includes('secret-marker-value'), 'the query text is not logged')
})

test('failures in a row, and messages queued from another connection, are all answered', async () => {
  const other = createSql({ path: socketPath }, 1)
  try {
    await within(other`select 1`, 10000, 'the second connection')
    failNext(2)
    const results = await within(Promise.all([
      sql`select 'a' as v`.then((rows) => rows[0].v as string, () => 'failed'),
      other`select 'b' as v`.then((rows) => rows[0].v as string, () => 'failed'),
    ]), 10000, 'two connections during two failures')
    assert.equal(results, ['failed', 'failed'])
    const again = await within(Promise.all([sql`select 'c' as v`, other`select 'd' as v`]), 10000, 'both connections after the failures')
    assert.equal(again.map((rows) => rows[0].v), ['c', 'd'])
  } finally {
    await other.end({ timeout: 1 }).catch(() => {})
  }
})

test('the guard refuses a queue of another shape at start', () => {
  const fake = { queryQueue: { queue: [], processing: false } }
  assert.throws(() => guardSocketQueue(fake as unknown as PGLiteSocketServer, pglite, log), /does not have the shape/)
})

test.run()
