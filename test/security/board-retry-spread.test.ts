/**
 * The board's self-retry (frontend/retry-controller.ts) must not bring every open browser back at
 * the same instant when the server returns: each delay is jittered, the one at the 30 s cap too
 * (browsers that failed together would otherwise retry in step every 30 s); no delay is over 30 s;
 * a refusal that does not pass by itself (401 after a sign-out, 403, 404) is not retried; a
 * detached board schedules nothing. The controller runs here without a browser: its host is a stub
 * and setTimeout is recorded.
 *   node --import ./scripts/ts-register.mjs test/security/board-retry-spread.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RetryController } from '../../frontend/retry-controller.ts'
import { ApiError } from '../../frontend/api.ts'

/** A controller on a stub host, the delays it scheduled, and Math.random answering `random`. */
function controller(random: number) {
  const delays: number[] = []
  const realTimeout = globalThis.setTimeout
  const realRandom = Math.random
  const retry = new RetryController({ addController() {}, removeController() {}, requestUpdate() {}, updateComplete: Promise.resolve(true) }, () => {})
  retry.hostConnected()
  const fail = (error: unknown) => {
    globalThis.setTimeout = ((_: () => void, delay: number) => (delays.push(delay), 0)) as unknown as typeof setTimeout
    Math.random = () => random
    try {
      retry.failed(error)
    } finally {
      globalThis.setTimeout = realTimeout
      Math.random = realRandom
    }
  }
  return { retry, delays, fail }
}

const unavailable = new ApiError(503, 'unavailable', 'the database is restarting')

test('at the 30 s cap the delays still spread (by up to a fifth), and none is over 30 s', () => {
  const low = controller(0)
  const high = controller(0.999)
  for (let i = 0; i < 12; i++) {
    low.fail(unavailable)
    high.fail(unavailable)
  }
  for (const delay of [...low.delays, ...high.delays]) assert.ok(delay <= 30_000, `a delay of ${delay} ms is over 30 s`)
  const lowCapped = low.delays.at(-1)!
  const highCapped = high.delays.at(-1)!
  assert.ok(highCapped - lowCapped >= 30_000 * 0.15, `at the cap, delays of ${lowCapped} and ${highCapped} ms: browsers retry in step`)
  assert.ok(lowCapped >= 30_000 * 0.8, `at the cap, no delay under four fifths of 30 s (${lowCapped})`)
  // The first delays keep their schedule: 1 s, 2 s, 4 s within a fifth.
  for (const [i, base] of [1000, 2000, 4000].entries()) {
    assert.ok(low.delays[i]! >= base * 0.8 && high.delays[i]! <= base * 1.2, `retry ${i + 1}: ${low.delays[i]}–${high.delays[i]} ms`)
  }
})

test('a refusal that does not pass by itself, or a detached board, schedules nothing', () => {
  for (const status of [400, 401, 403, 404]) {
    const { delays, fail, retry } = controller(0.5)
    fail(new ApiError(status, `http_${status}`, 'refused'))
    assert.equal(delays, [], `${status} is not retried`)
    assert.not.ok(retry.scheduled)
  }
  const gone = controller(0.5)
  gone.retry.hostDisconnected()
  gone.fail(unavailable)
  assert.equal(gone.delays, [], 'nothing scheduled for a board that left the page')
})

test.run()
