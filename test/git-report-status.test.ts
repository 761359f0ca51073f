/**
 * The git relay's reader of a receive-pack answer (core/services/git-report-status.ts): which ref
 * updates the git host accepted, read from git's report-status as the bytes stream by, plain or
 * inside side-band; anything it cannot read (cut short, an unpack failure, a fatal band, not
 * pkt-lines) accepts nothing. Real git's answers through the relay: test/ci-fix.test.ts.
 *   node --import ./scripts/ts-register.mjs test/git-report-status.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { reportStatusReader } from '../core/services/git-report-status.ts'

const pkt = (payload: Buffer | string) => {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0')), data])
}
const FLUSH = Buffer.from('0000')
const band = (n: number, data: Buffer | string) => pkt(Buffer.concat([Buffer.from([n]), typeof data === 'string' ? Buffer.from(data) : data]))
const report = (...lines: string[]) => Buffer.concat([...lines.map((line) => pkt(`${line}\n`)), FLUSH])

/** Feeds `bytes` in pieces of `size` bytes and answers what the reader accepted. */
function read(bytes: Buffer, sideBand: boolean, size = bytes.length) {
  const reader = reportStatusReader(sideBand, ['refs/heads/ticket-7', 'refs/heads/other'])
  for (let at = 0; at < bytes.length; at += size) reader.write(bytes.subarray(at, at + size))
  const accepted = reader.accepted()
  return { settled: reader.settled(), accepted: accepted && [...accepted].sort() }
}

test('a plain report: the refs said ok are accepted, whole or a byte at a time', () => {
  const bytes = report('unpack ok', 'ok refs/heads/ticket-7')
  assert.equal(read(bytes, false), { settled: true, accepted: ['refs/heads/ticket-7'] })
  assert.equal(read(bytes, false, 1), { settled: true, accepted: ['refs/heads/ticket-7'] })
})

test('inside side-band-64k: progress skipped, the report split across band-1 packets and chunks', () => {
  const inner = report('unpack ok', 'ok refs/heads/ticket-7', 'ng refs/heads/other pre-receive hook declined')
  const bytes = Buffer.concat([
    band(2, 'remote: Resolving deltas: 100% (3/3)\n'),
    band(1, inner.subarray(0, 7)),
    band(2, 'x'.repeat(60_000)),
    band(1, inner.subarray(7)),
    FLUSH,
  ])
  for (const size of [bytes.length, 1, 5, 4096]) {
    assert.equal(read(bytes, true, size), { settled: true, accepted: ['refs/heads/ticket-7'] }, `chunks of ${size}`)
  }
})

test('a refused ref (ng) is not accepted; the report itself was read', () => {
  assert.equal(read(report('unpack ok', 'ng refs/heads/ticket-7 pre-receive hook declined'), false), { settled: true, accepted: [] })
  assert.equal(read(Buffer.concat([band(1, report('unpack ok', 'ng refs/heads/ticket-7 non-fast-forward')), FLUSH]), true), { settled: true, accepted: [] })
})

test('a ref the host rewrote (report-status-v2 options after its ok) is not accepted', () => {
  const bytes = report('unpack ok', 'ok refs/heads/ticket-7', 'option refname refs/pull/1/head', 'option new-oid ' + 'a'.repeat(40))
  assert.equal(read(bytes, false), { settled: true, accepted: [] })
})

test('what cannot be read accepts nothing', () => {
  // Cut short: no closing flush yet (an answer that ends here records nothing).
  assert.equal(read(pkt('unpack ok\n'), false), { settled: false, accepted: null })
  assert.equal(read(Buffer.concat([pkt('unpack ok\n'), pkt('ok refs/heads/ticket-7\n')]), false), { settled: false, accepted: null })
  // The pack did not unpack: nothing was updated, whatever follows.
  assert.equal(read(report('unpack index-pack abnormal exit', 'ok refs/heads/ticket-7'), false), { settled: true, accepted: null })
  // A fatal error on band 3.
  assert.equal(read(Buffer.concat([band(3, 'fatal: out of space\n'), band(1, report('unpack ok', 'ok refs/heads/ticket-7')), FLUSH]), true), { settled: true, accepted: null })
  // Not pkt-lines; a report that does not start with unpack; a line of another kind.
  assert.equal(read(Buffer.from('<html>502 Bad Gateway</html>'), false), { settled: true, accepted: null })
  assert.equal(read(report('ok refs/heads/ticket-7'), false), { settled: true, accepted: null })
  assert.equal(read(report('unpack ok', 'done refs/heads/ticket-7'), false), { settled: true, accepted: null })
  // A side-band answer read as plain (the band byte makes the lines unreadable), and the reverse.
  assert.equal(read(Buffer.concat([band(1, report('unpack ok', 'ok refs/heads/ticket-7')), FLUSH]), false).accepted, null)
  assert.equal(read(report('unpack ok', 'ok refs/heads/ticket-7'), true).accepted, null)
  // Anything after the report's flush is not git's.
  assert.equal(read(Buffer.concat([report('unpack ok', 'ok refs/heads/ticket-7'), pkt('ok refs/heads/main\n')]), false), { settled: true, accepted: null })
})

test.run()
