/**
 * The git relay's reader of a push's answer (core/services/git-report-status.ts) keeps no more than
 * the push it relays: git reports one status per command it was sent, so a status for a ref the
 * push did not name, or more statuses than it had commands, is not git's report of that push. The
 * answer is then unreadable (nothing is recorded), and the reader stops there instead of holding
 * every line of an endless answer.
 *   node --import ./scripts/ts-register.mjs test/security/report-status-bounds.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { reportStatusReader } from '../../core/services/git-report-status.ts'

const pkt = (payload: string) => Buffer.concat([Buffer.from((Buffer.byteLength(payload) + 4).toString(16).padStart(4, '0')), Buffer.from(payload)])
const band1 = (data: Buffer) => Buffer.concat([Buffer.from((data.length + 5).toString(16).padStart(4, '0')), Buffer.from([1]), data])
const OWN = 'refs/heads/ticket-7'

test('an endless answer of statuses for refs the push did not name is given up on at the first', () => {
  for (const sideBand of [false, true]) {
    const reader = reportStatusReader(sideBand, [OWN])
    const line = (text: string) => (sideBand ? band1(pkt(text)) : pkt(text))
    reader.write(line('unpack ok\n'))
    assert.not.ok(reader.settled(), 'the report has only begun')
    reader.write(line('ok refs/heads/other-0\n'))
    assert.ok(reader.settled(), `side-band ${sideBand}: a ref the push did not name ends the reading`)
    // What follows is not read (an endless answer costs nothing more).
    for (let i = 1; i < 2000; i++) reader.write(line(`ok refs/heads/other-${i}\n`))
    reader.write(line(`ok ${OWN}\n`))
    reader.write(sideBand ? Buffer.concat([band1(Buffer.from('0000')), Buffer.from('0000')]) : Buffer.from('0000'))
    assert.is(reader.accepted(), null, 'nothing is taken as accepted')
  }
})

test('more statuses than the push had commands: unreadable; one per command: read', () => {
  const twice = reportStatusReader(false, [OWN])
  for (const text of ['unpack ok\n', `ok ${OWN}\n`, `ok ${OWN}\n`]) twice.write(pkt(text))
  assert.ok(twice.settled(), 'a second status for a push of one command ends the reading')
  twice.write(Buffer.from('0000'))
  assert.is(twice.accepted(), null)

  const once = reportStatusReader(false, [OWN])
  for (const text of ['unpack ok\n', `ok ${OWN}\n`]) once.write(pkt(text))
  once.write(Buffer.from('0000'))
  assert.equal(once.accepted() && [...once.accepted()!], [OWN])
})

test.run()
