/**
 * The conformance suite every Executor plugin runs (CONVENTIONS §3). The job is a small node
 * program chosen by the `SCENARIO` env, so the same cases run in a container and on the host.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Executor, JobSpec, OutputChunk, RunResult } from '../core/executor.ts'
import { createLogger, type Logger } from '../core/log.ts'

/** The job program, run as `node -e SCENARIO_SCRIPT`. Plain JS: it runs wherever node does. */
export const SCENARIO_SCRIPT = `
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const scenario = process.env.SCENARIO
;(async () => {
  if (scenario === 'exit') {
    console.log('hello-out'); console.error('hello-err')
    process.exitCode = Number(process.env.EXIT_CODE)
  } else if (scenario === 'stream') {
    console.log('first'); await wait(1500); console.log('last')
  } else if (scenario === 'sleep') {
    console.log('sleeping'); await wait(60000)
  } else if (scenario === 'env') {
    const hash = require('crypto').createHash('sha256').update(process.env.SECRET_TOKEN || '').digest('hex')
    console.log('secret-sha256=' + hash)
  } else if (scenario === 'print-env') {
    console.log('token is ' + process.env.SECRET_TOKEN)
  } else {
    console.error('unknown scenario ' + scenario); process.exitCode = 99
  }
})()
`

export interface ConformanceTarget {
  /** Suite title, e.g. `docker-dind`. */
  name: string
  /** Builds the executor under test running `command`, logging to `log`. Called once, in `before`. */
  create(command: string[], log: Logger): Executor | Promise<Executor>
  /** How node is invoked where the job runs: `node` in a container, `process.execPath` on the host. */
  node: string
  /** Spec fields this executor needs (e.g. `projectPath` for local). */
  spec?: Partial<JobSpec>
  /** Ceiling for abort → resolved, in ms. Default 5000. */
  stopWithinMs?: number
  /**
   * Set (to the reason) when the executor cannot tell stdout from stderr: both then must arrive,
   * as `stdout`. Kubernetes: the pod log API serves one merged stream.
   */
  mergedStreams?: string
}

export function makeSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    jobId: randomInt(1_000_000, 9_999_999), ticketId: 1, projectId: 1, kind: 'ticket', executionMode: 'docker',
    projectPath: null, env: {}, labels: {}, timeoutMs: 0, ...overrides,
  }
}

/** A run whose chunks are recorded with the time they arrived and whether the run had ended. */
export async function record(executor: Executor, spec: JobSpec, signal = new AbortController().signal,
  onChunk?: (chunk: OutputChunk) => void) {
  const chunks: (OutputChunk & { at: number; afterEnd: boolean })[] = []
  let ended = false
  const started = Date.now()
  const result: RunResult = await executor.run(spec, (chunk) => {
    chunks.push({ ...chunk, at: Date.now(), afterEnd: ended })
    onChunk?.(chunk)
  }, signal).finally(() => { ended = true })
  const text = (stream?: OutputChunk['stream']) =>
    chunks.filter((chunk) => !stream || chunk.stream === stream).map((chunk) => chunk.text).join('')
  return { result, chunks, text, started, ended: Date.now() }
}

/** Returns the uvu suite for `target`; the caller `.run()`s it. */
export function executorConformance(target: ConformanceTarget) {
  const test = suite(`conformance: ${target.name}`)
  const logLines: string[] = []
  const log = createLogger('debug', { test: target.name }, (line) => logLines.push(line))
  let executor: Executor
  const spec = (overrides: Partial<JobSpec>) => makeSpec({ ...target.spec, ...overrides, env: { ...overrides.env } })
  const stopWithinMs = target.stopWithinMs ?? 5000

  test.before(async () => {
    executor = await target.create([target.node, '-e', SCENARIO_SCRIPT], log)
  })
  test.after(async () => {
    await executor?.close?.()
  })

  test('probe says ok', async () => {
    const probe = await executor.probe()
    assert.ok(probe.ok, probe.ok ? '' : probe.reason)
  })

  for (const code of [0, 3]) {
    test(`exit code ${code} is propagated; stdout and stderr are told apart${target.mergedStreams ? ' (merged here: see mergedStreams)' : ''}`, async () => {
      const run = await record(executor, spec({ env: { SCENARIO: 'exit', EXIT_CODE: String(code) } }))
      assert.equal(run.result, { exitCode: code })
      assert.match(run.text('stdout'), 'hello-out')
      if (target.mergedStreams) {
        assert.match(run.text('stdout'), 'hello-err', target.mergedStreams)
        return
      }
      assert.match(run.text('stderr'), 'hello-err')
      assert.not.match(run.text('stdout'), 'hello-err')
    })
  }

  test('output is streamed while the job runs, not at the end', async () => {
    const run = await record(executor, spec({ env: { SCENARIO: 'stream' } }))
    assert.equal(run.result, { exitCode: 0 })
    const first = run.chunks.find((chunk) => chunk.text.includes('first'))
    assert.ok(first, `no "first" chunk in ${JSON.stringify(run.text())}`)
    assert.not.ok(first.afterEnd)
    assert.ok(run.ended - first.at >= 1000, `"first" arrived only ${run.ended - first.at} ms before the end`)
    assert.match(run.text('stdout'), /first\s+last/)
  })

  test('abort stops the run quickly and says so', async () => {
    const controller = new AbortController()
    let abortedAt = 0
    const run = await record(executor, spec({ env: { SCENARIO: 'sleep' } }), controller.signal, (chunk) => {
      if (chunk.text.includes('sleeping') && !abortedAt) {
        abortedAt = Date.now()
        controller.abort()
      }
    })
    assert.ok(abortedAt > 0, 'the job never printed "sleeping"')
    assert.is(run.result.stoppedBy, 'abort')
    assert.ok(run.ended - abortedAt < stopWithinMs, `stopped ${run.ended - abortedAt} ms after abort`)
    assert.is.not(run.result.exitCode, 0)
  })

  test('an already-aborted signal starts nothing', async () => {
    const controller = new AbortController()
    controller.abort()
    const run = await record(executor, spec({ env: { SCENARIO: 'print-env', SECRET_TOKEN: 'never-printed' } }), controller.signal)
    assert.is(run.result.stoppedBy, 'abort')
    assert.is(run.text(), '')
  })

  test('timeout stops the run', async () => {
    const run = await record(executor, spec({ env: { SCENARIO: 'sleep' }, timeoutMs: 1500 }))
    assert.is(run.result.stoppedBy, 'timeout')
    const took = run.ended - run.started
    assert.ok(took >= 1400 && took < 1500 + stopWithinMs + 2000, `timeout run took ${took} ms`)
  })

  test('env is delivered and never appears in output or logs unless the job prints it', async () => {
    const secret = `sekrit-${randomBytes(12).toString('hex')}`
    const before = logLines.length
    const run = await record(executor, spec({ env: { SCENARIO: 'env', SECRET_TOKEN: secret } }))
    assert.equal(run.result, { exitCode: 0 })
    const hash = createHash('sha256').update(secret).digest('hex')
    assert.match(run.text('stdout'), `secret-sha256=${hash}`)
    assert.not.ok(run.chunks.some((chunk) => chunk.text.includes(secret)), 'secret in output')
    assert.ok(logLines.length > before, 'the executor logged nothing, so the leak check proves nothing')
    assert.not.ok(logLines.some((line) => line.includes(secret)), 'secret in executor log')

    // The same check would catch it: a job that prints its env does show it.
    const printed = await record(executor, spec({ env: { SCENARIO: 'print-env', SECRET_TOKEN: secret } }))
    assert.match(printed.text('stdout'), secret)
  })

  return test
}
