/**
 * A failed GitLab job's trace is read only up to a bound (plugins/forges/gitlab/checks.ts): a 64 MiB
 * trace is streamed keeping its last 16 KiB and the read stops at TRACE_READ_MAX_BYTES (the excerpt
 * says the tail was cut); a short trace's excerpt is its whole tail; of many failed jobs only the
 * first 8 traces are fetched, a few at a time. A local HTTP server plays GitLab. Under 2 s.
 *   node --import ./scripts/ts-register.mjs test/security/gitlab-trace-bounded.test.ts
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gitlab } from '../../plugins/forges/gitlab/index.ts'
import { TRACE_READ_MAX_BYTES } from '../../plugins/forges/gitlab/checks.ts'

const SHA = 'a'.repeat(40)
const HUGE_BYTES = 64 * 1024 * 1024
const JOBS = 30

interface World { server: Server; apiUrl: string; sent: number; traced: number[]; atOnce: number; most: number }
const test = suite<World>('GitLab CI traces: bounded reads')

test.before(async (w) => {
  w.sent = 0
  w.traced = []
  w.atOnce = 0
  w.most = 0
  w.server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (path.endsWith('/pipelines')) return json([{ id: 7, sha: SHA, status: 'failed' }])
    // Job 9 has a huge trace, job 10 a short one, jobs 100.. are many more failures.
    if (path.endsWith('/pipelines/7/jobs')) {
      return json([{ id: 9, name: 'huge', status: 'failed' }, { id: 10, name: 'short', status: 'failed' },
        ...Array.from({ length: JOBS }, (_, i) => ({ id: 100 + i, name: `job-${i}`, status: 'failed' }))])
    }
    const traced = /\/jobs\/(\d+)\/trace$/.exec(path)
    if (!traced) return res.writeHead(404).end('{}')
    const id = Number(traced[1])
    w.traced.push(id)
    // Concurrency is counted on the slow short traces (a cancelled stream's socket closes later).
    if (id >= 100) {
      w.most = Math.max(w.most, ++w.atOnce)
      res.on('finish', () => w.atOnce--)
    }
    res.writeHead(200, { 'content-type': 'text/plain' })
    if (id === 10) return res.end('\x1b[31mline one\x1b[0m\nFAIL: the end\n')
    if (id !== 9) return void setTimeout(() => res.end(`log of job ${id}\n`), 20)
    const chunk = Buffer.alloc(1024 * 1024, 'x')
    const write = () => {
      while (w.sent < HUGE_BYTES && !res.destroyed) {
        w.sent += chunk.length
        if (!res.write(chunk)) return void res.once('drain', write)
      }
      res.end()
    }
    write()
  })
  await new Promise<void>((resolve) => w.server.listen(0, '127.0.0.1', resolve))
  w.apiUrl = `http://127.0.0.1:${(w.server.address() as AddressInfo).port}/api/v4`
})
test.after(async (w) => {
  w.server?.closeAllConnections()
  await new Promise((resolve) => w.server?.close(resolve))
})

test('a huge trace is read up to the cap, its excerpt ≤ 16 KiB and marked cut; a short one is whole; 8 traces at most, 3 at once', async (w) => {
  const client = gitlab().connect({ apiUrl: w.apiUrl, token: 'glpat-test-token-0123456789', timeoutMs: 60_000 })
  const list = await client.checks!.list('acme/widgets', SHA)
  assert.is(list.length, JOBS + 2)
  const huge = list.find((check) => check.name === 'huge')!
  assert.is(huge.state, 'failure')
  assert.ok((huge.excerpt?.length ?? 0) <= 16 * 1024, `excerpt of ${huge.excerpt?.length} chars`)
  assert.match(huge.excerpt!, 'read no further')
  assert.ok(huge.excerpt!.endsWith('xxxx'))
  // What the server wrote includes what sat in socket buffers when the reader was cancelled.
  assert.ok(w.sent <= TRACE_READ_MAX_BYTES + 4 * 1024 * 1024, `the app let the server send ${w.sent} bytes of one trace`)
  const short = list.find((check) => check.name === 'short')!
  assert.is(short.excerpt, 'line one\nFAIL: the end\n')
  assert.is(w.traced.length, 8, `traces fetched: ${w.traced.join(', ')}`)
  assert.ok(w.most <= 3, `${w.most} traces read at once`)
  assert.ok(list.filter((check) => check.excerpt).length <= 8)
  assert.is(list.filter((check) => check.state === 'failure').length, JOBS + 2, 'every failed job is still listed')
})

test.run()
