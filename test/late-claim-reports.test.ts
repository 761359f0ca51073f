// A lost run's late reports never land on the job's next run. Every bound worker call names the claim
// it is about (`claim_seq` from the claim answer; one naming none is 400); once the job was queued again and claimed by the
// same coordinator, the first claim's complete, fail, heartbeat, release, requeue and executor are
// 409 `lease_lost` naming the claims, and leave the second run running, its lease untouched. On the
// coordinator's side, a report being retried stops once the heartbeat has seen the lease lost.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { tmpdir } from 'node:os'
import { runJob, type RunJobContext } from '../core/coordinator/run-job.ts'
import { ClientError, type ClaimedJob, type WorkerClient } from '../core/coordinator/client.ts'
import type { Executor } from '../core/executor.ts'
import { createLogger } from '../core/log.ts'
import { createRunnableProject, createTicket, startTestApp, type TestApp } from './helpers.ts'

const app = suite<{ t: TestApp; projectId: number }>('late reports of an ended claim (app)')
app.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
  context.projectId = (await createRunnableProject(context.t)).id
})
app.after(async ({ t }) => t.close())

const lost = 'its node swarm-worker-1 is down (heartbeat failure)'

/**
 * A job at attempt 1 of 3 claimed by `c1`, its run lost and reported (queued again at attempt 2),
 * then claimed again by `c1`: returns the job, its ticket, both claims' `claim_seq` and the second's job token.
 */
async function secondClaim(t: TestApp, projectId: number): Promise<{ id: number; ticketId: number; first: number; second: number; token: string }> {
  const ticketId = (await createTicket(t, projectId)).id
  const [row] = await t.app.ctx.sql`insert into agent_jobs (project_id, ticket_id, kind, attempt, max_attempts) values (${projectId}, ${ticketId}, 'ticket', 1, 3) returning id`
  const id = row!.id as number
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: 'c1' })
  assert.is(claim.body.job_id, id)
  const first = claim.body.claim_seq as number
  assert.type(first, 'number', 'the claim answer names the claim')
  const requeued = await t.api('POST', `/api/worker/jobs/${id}/requeue`, { coordinator_id: 'c1', claim_seq: first, reason: lost })
  assert.is(requeued.status, 200, JSON.stringify(requeued.body))
  const again = await t.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: 'c1' })
  assert.is(again.body.job_id, id)
  assert.is(again.body.attempt, 2)
  assert.is(again.body.claim_seq, first + 1)
  return { id, ticketId, first, second: again.body.claim_seq as number, token: again.body.agent_token as string }
}

const leaseOf = async (t: TestApp, id: number): Promise<Record<string, unknown>> => {
  const [row] = await t.app.ctx.sql`select status, attempt, claim_seq, claimed_by, lease_expires_at, error, executor from agent_jobs where id = ${id}`
  return { ...(row as Record<string, unknown>), lease_expires_at: (row!.lease_expires_at as Date).toISOString() }
}

const lateCalls: [string, (first: number) => Record<string, unknown>][] = [
  ['complete', (first) => ({ coordinator_id: 'c1', claim_seq: first, exit_code: 0, output_tail: 'attempt 1 done' })],
  ['fail', (first) => ({ coordinator_id: 'c1', claim_seq: first, exit_code: 1, error: 'attempt 1 failed' })],
  ['heartbeat', (first) => ({ coordinator_id: 'c1', claim_seq: first })],
  ['release', (first) => ({ coordinator_id: 'c1', claim_seq: first })],
  ['requeue', (first) => ({ coordinator_id: 'c1', claim_seq: first, reason: lost })],
  ['executor', (first) => ({ coordinator_id: 'c1', claim_seq: first, executor: 'local', fallback_reason: 'attempt 1 fell back' })],
]

for (const [route, body] of lateCalls) {
  app(`a late ${route} of the first claim, sent after the same coordinator claimed the next attempt, is 409 and leaves that attempt running`, async ({ t, projectId }) => {
    const { id, first, second } = await secondClaim(t, projectId)
    // Moves the lease back a little, so a heartbeat that extended it would show.
    await t.app.ctx.sql`update agent_jobs set lease_expires_at = lease_expires_at - interval '10 seconds' where id = ${id}`
    const before = await leaseOf(t, id)
    const late = await t.api('POST', `/api/worker/jobs/${id}/${route}`, body(first))
    assert.is(late.status, 409, JSON.stringify(late.body))
    assert.is(late.body.error.code, 'lease_lost')
    assert.match(late.body.error.message, `job ${id} runs claim ${second} (attempt 2) now; claim ${first} has ended`)
    assert.equal(await leaseOf(t, id), before, 'attempt 2 is untouched: running, same lease, no error, same executor')
    assert.equal([before.status, before.attempt, before.claimed_by], ['running', 2, 'c1'])
    // The second claim's own calls are taken.
    const beat = await t.api('POST', `/api/worker/jobs/${id}/heartbeat`, { coordinator_id: 'c1', claim_seq: second })
    assert.is(beat.status, 200, JSON.stringify(beat.body))
    const done = await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'c1', claim_seq: second, exit_code: 0 })
    assert.is(done.status, 200, JSON.stringify(done.body))
    assert.is(done.body.status, 'succeeded')
  })
}

app('a late report that names no claim is refused (400) and leaves the next attempt running', async ({ t, projectId }) => {
  const { id, first } = await secondClaim(t, projectId)
  const before = await leaseOf(t, id)
  for (const [route, body] of lateCalls) {
    const { claim_seq: _, ...unnamed } = body(first)
    const late = await t.api('POST', `/api/worker/jobs/${id}/${route}`, unnamed)
    assert.is(late.status, 400, `${route}: ${JSON.stringify(late.body)}`)
    assert.ok(late.body.error.details.some((detail: { path: string }) => detail.path === '/body/claim_seq'), `${route}: ${JSON.stringify(late.body)}`)
  }
  assert.equal(await leaseOf(t, id), before, 'attempt 2 is untouched')
  assert.is((await t.api('POST', `/api/jobs/${id}/cancel`)).status, 200)
})

app('after the next run ended, a late report of the first claim is still 409; the second claim\'s own report again is idempotent', async ({ t, projectId }) => {
  const { id, first, second } = await secondClaim(t, projectId)
  assert.is((await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'c1', claim_seq: second, exit_code: 0 })).status, 200)
  const again = await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'c1', claim_seq: second, exit_code: 0 })
  assert.is(again.status, 200, 'the same report again (its answer was lost) is taken')
  const late = await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'c1', claim_seq: first, exit_code: 0 })
  assert.is(late.status, 409, JSON.stringify(late.body))
  assert.match(late.body.error.message, `job ${id} is succeeded after claim ${second}; claim ${first} has ended`)
  const fail = await t.api('POST', `/api/worker/jobs/${id}/fail`, { coordinator_id: 'c1', claim_seq: first, error: 'attempt 1 failed' })
  assert.is(fail.status, 409)
  const [row] = await t.app.ctx.sql`select status, attempt, error from agent_jobs where id = ${id}`
  assert.equal({ ...row }, { status: 'succeeded', attempt: 2, error: null })
})

app('another credential naming the current claim is still 403', async ({ t, projectId }) => {
  const { id, second } = await secondClaim(t, projectId)
  const token = (await t.api('POST', '/api/coordinators/tokens', { name: 'late-other-box' })).body.token as string
  const res = await t.api('POST', `/api/worker/jobs/${id}/complete`, { coordinator_id: 'c1', claim_seq: second, exit_code: 0 }, { authorization: `Bearer ${token}` })
  assert.is(res.status, 403)
  assert.is((await t.api('POST', `/api/jobs/${id}/cancel`)).status, 200)
})

app('the cancel-requested answer reads status, attempt, cancel flag, lease and clock from the job as it is', async ({ t, projectId }) => {
  const { id, ticketId, token } = await secondClaim(t, projectId)
  const bearer = { authorization: `Bearer ${token}` }
  assert.is((await t.api('POST', `/api/jobs/${id}/cancel`)).status, 200)
  const res = await t.api('GET', `/api/projects/${projectId}/tickets/${ticketId}/cancel-requested`, undefined, bearer)
  assert.is(res.status, 200, JSON.stringify(res.body))
  const lease = await leaseOf(t, id)
  assert.equal(
    { job_id: res.body.job_id, status: res.body.status, attempt: res.body.attempt, cancel_requested: res.body.cancel_requested, lease_expires_at: res.body.lease_expires_at },
    { job_id: id, status: 'running', attempt: 2, cancel_requested: true, lease_expires_at: lease.lease_expires_at },
  )
  const clock = Date.parse(res.body.now)
  assert.ok(clock <= Date.parse(lease.lease_expires_at as string), 'the database clock is before the lease end')
  const other = await createTicket(t, projectId)
  const elsewhere = await t.api('GET', `/api/projects/${projectId}/tickets/${other.id}/cancel-requested`, undefined, bearer)
  assert.ok(elsewhere.status === 403 || elsewhere.status === 404, `another ticket is refused: ${elsewhere.status}`)
})

app.run()

// The coordinator: a report retried while the app does not answer stops once the app refuses the claim's heartbeat.
const coordinator = suite('a report being retried stops when the app refuses the claim (coordinator)')

const jobOf = (id: number): ClaimedJob => ({
  job_id: id, ticket_id: null, project_id: 3, kind: 'ticket', repo_url: null, execution_mode: 'local', project_path: tmpdir(),
  attempt: 1, claim_seq: 5, lease_sec: 60, agent_token: 'tj1.payload-0123.signature-0123',
})

/** A run context on the host executor (exits 0 at once) whose app client is `client` over quiet defaults. */
function contextOf(client: Partial<WorkerClient>): { ctx: RunJobContext; lines: string[] } {
  const quiet: WorkerClient = {
    claim: async () => null,
    heartbeat: async () => ({ cancel_requested: false }),
    complete: async () => {},
    fail: async () => {},
    recordExecutor: async () => {},
    postEvents: async () => {},
    release: async () => {},
    readSettings: async () => ({ maxConcurrent: null, limits: {} }),
    handForgeToken: async () => {},
    report: async () => {},
  }
  const host: Executor = { name: 'local', probe: async () => ({ ok: true }), run: async () => ({ exitCode: 0 }) }
  const lines: string[] = []
  const ctx: RunJobContext = {
    client: { ...quiet, ...client }, log: createLogger('debug', {}, (line) => lines.push(line)), apiUrl: 'http://127.0.0.1:1', defaultImage: 'terarchitect-agent', timeoutMs: 0,
    repoRoot: tmpdir(), fallbackToHost: false, heartbeatMaxMs: 50, shutdown: new AbortController().signal, flushMs: 10,
    executors: { host, containers: null },
  }
  return { ctx, lines }
}

coordinator('the complete is tried once, then no more after the heartbeat\'s 409; every call names the claim', async () => {
  const calls: { kind: string; claim: unknown }[] = []
  const { ctx, lines } = contextOf({
    heartbeat: async (_id, claimSeq) => {
      calls.push({ kind: 'heartbeat', claim: claimSeq })
      // The reaper handed the job on while the app was out of reach of the report.
      if (calls.some((call) => call.kind === 'complete')) throw new ClientError(409, 'lease_lost', 'job 41 runs claim 6 (attempt 2) now; claim 5 has ended')
      return { cancel_requested: false }
    },
    complete: async (_id, body) => {
      calls.push({ kind: 'complete', claim: body.claim_seq })
      throw new ClientError(0, 'unreachable', 'POST complete: connection reset')
    },
    fail: async (_id, body) => void calls.push({ kind: 'fail', claim: body.claim_seq }),
    recordExecutor: async (_id, body) => void calls.push({ kind: 'executor', claim: body.claim_seq }),
    release: async (_id, claimSeq) => void calls.push({ kind: 'release', claim: claimSeq }),
  })
  // Without the stop, the report is retried for two leases (120 s here): a generous ceiling shows it did not.
  const ceiling = new Promise<'ceiling'>((resolve) => setTimeout(() => resolve('ceiling'), 20_000).unref())
  assert.is(await Promise.race([runJob(jobOf(41), ctx).then(() => 'ended' as const), ceiling]), 'ended')
  assert.is(calls.filter((call) => call.kind === 'complete').length, 1, JSON.stringify(calls))
  assert.ok(calls.some((call) => call.kind === 'heartbeat'), 'the heartbeat ran')
  assert.ok(calls.every((call) => call.claim === 5), JSON.stringify(calls))
  assert.ok(lines.some((line) => line.includes('the lease was lost; not reporting the job')), lines.join('\n'))
})

coordinator('an app that is only unreachable still gets the report once it answers, though the heartbeat gave the lease up', async () => {
  const job: ClaimedJob = { ...jobOf(42), lease_sec: 2 }
  const started = Date.now()
  const calls: string[] = []
  const { ctx, lines } = contextOf({
    heartbeat: async () => {
      calls.push('heartbeat')
      throw new ClientError(0, 'unreachable', 'POST heartbeat: connection refused')
    },
    complete: async (_id, body) => {
      // Unreachable until after the heartbeat has gone a whole lease (2 s) without an answer.
      if (Date.now() - started < 2_500) {
        calls.push('complete refused')
        throw new ClientError(0, 'unreachable', 'POST complete: connection refused')
      }
      calls.push(`complete taken for claim ${body.claim_seq}`)
    },
  })
  await runJob(job, ctx)
  assert.ok(lines.some((line) => line.includes('no heartbeat accepted')), 'the heartbeat gave the lease up first')
  assert.is(calls.at(-1), 'complete taken for claim 5', calls.join(', '))
  assert.not.ok(lines.some((line) => line.includes('the lease was lost; not reporting the job')), lines.join('\n'))
})

coordinator.run()
