// The agent's lease watch (core/agent/cancel.ts) against a slow app: an answer that takes longer than
// the least wait still confirms the lease while the lease lasts (a loaded app is not a lost lease),
// and an app that never answers still stops the agent at the deadline, its request given up.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { AppClient, JobState } from '../core/agent/api.ts'
import { watchCancel } from '../core/agent/cancel.ts'
import { createLogger } from '../core/log.ts'
import { sleep, waitFor } from './helpers.ts'

const log = createLogger('error', {})

/** Each answer renews the lease (`leaseMs` from the app's now), after `delayMs`; the request's signal is honoured. */
function slowApp(delayMs: number, leaseMs: number) {
  const asked = { count: 0, answered: 0, givenUp: 0 }
  const api = {
    cancelRequested: (signal?: AbortSignal) => new Promise<JobState>((resolve, reject) => {
      asked.count++
      const timer = setTimeout(() => {
        asked.answered++
        const now = Date.now()
        resolve({ cancel_requested: false, status: 'running', attempt: 2, lease_sec: leaseMs / 1000, now: new Date(now).toISOString(), lease_expires_at: new Date(now + leaseMs).toISOString() })
      }, delayMs)
      signal?.addEventListener('abort', () => {
        clearTimeout(timer)
        asked.givenUp++
        reject(signal.reason)
      }, { once: true })
    }),
  } as unknown as AppClient
  return { api, asked }
}

test('answers slower than the least wait (10 s) still confirm the lease: the agent of a job that is still its own runs on', async () => {
  // Lease 24 s, margin 1 s: unconfirmed, the watch stops the agent 23 s after its start. Every
  // answer takes 10.5 s (a loaded app), longer than a poll's least wait, and renews the lease.
  const { api, asked } = slowApp(10_500, 24_000)
  const watch = watchCancel(api, { intervalMs: 50, log, lease: { attempt: 2, marginMs: 1000, givenSec: 24 } })
  try {
    await sleep(25_000)
    assert.not.ok(watch.signal.aborted, `stopped: ${watch.reason()}`)
    assert.ok(asked.answered >= 2, `${asked.answered} answers taken`)
  } finally {
    watch.stop()
  }
})

test('an app that never answers still stops the agent at the deadline, and the waiting request is given up', async () => {
  const { api, asked } = slowApp(60_000, 2000)
  const startedAt = Date.now()
  const watch = watchCancel(api, { intervalMs: 50, log, answerWaitMs: 100, lease: { attempt: 2, marginMs: 500, givenSec: 2 } })
  try {
    await waitFor(async () => watch.signal.aborted, 5000, 'the deadline to stop the agent')
    const took = Date.now() - startedAt
    assert.ok(took >= 1400 && took < 3000, `stopped after ${took} ms (expected ≈ 1500)`)
    assert.match(watch.reason() ?? '', 'lease of this job could not be confirmed')
    await waitFor(async () => asked.givenUp === asked.count, 1000, 'the request in flight to be given up')
    assert.is(asked.answered, 0)
  } finally {
    watch.stop()
  }
})

test.run()
