/**
 * Retries finish what earlier attempts did: a later attempt starts from `ticket-<id>` as earlier
 * attempts left it; when an earlier attempt of the same job already pushed its finished change the
 * attempt goes straight on to the PR (no worker turn, no "changed nothing" failure), and a review
 * job's to its reply; a change of another job on the branch is worked on top; and pushes are
 * leased on the commit the attempt started from, so a newer push is never overwritten. Also the
 * agent's side of the lease: the cancel-requested answer and the watch that stops an agent whose
 * job is no longer its own.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AppClient, JobState } from '../core/agent/api.ts'
import { watchCancel } from '../core/agent/cancel.ts'
import { REPLY_MARKER } from '../core/agent/review-flow.ts'
import { createGit, pushLeased } from '../core/agent/git.ts'
import { createLogger } from '../core/log.ts'
import { GIT_IDENTITY } from './fixtures/git-http.ts'
import { createTicket, getTicket, remoteGit, runAgentProcess, startWorld, ticketEvents, writeAiderStub, type World } from './bench/agent-harness.ts'
import { sleep, waitFor } from './helpers.ts'
import { assertWorldClean } from './secret-scan.ts'

const scratch = mkdtempSync(join(tmpdir(), 'retry-continues-'))
const log = createLogger('error')
let world: World
let stub: string
const record = join(scratch, 'aider-record.txt')
const worker = () => ({ authorization: `Bearer ${world.secrets.workerApiKey}` })

// A lost coordinator's attempt is requeued once its lease runs out, so the lease is short; but the
// agent stops when it cannot confirm its lease a quarter of it before the end, counting each
// answer's whole round trip against it, and an agent starting on a loaded machine (the runner's
// two lanes, coverage) has taken ~2 s to its first answer: 6 s leaves it 4 s.
const LEASE_SEC = 6

test.before(async () => {
  world = await startWorld({ settings: { WORKER_MODE: 'aider' }, appEnv: { JOB_LEASE_SEC: String(LEASE_SEC), JOB_LEASE_GRACE_SEC: '0', REAPER_INTERVAL_SEC: '0.2' } })
  stub = writeAiderStub(join(scratch, 'stub'), record)
})

test.after(async () => {
  await world?.close()
  rmSync(scratch, { recursive: true, force: true })
})

/** Pushes a commit with `files` and `message` on top of `from` to `branch` of the bare remote. */
function pushCommit(branch: string, from: string, files: Record<string, string>, message: string): string {
  const dir = mkdtempSync(join(scratch, 'pusher-'))
  const git = (...args: string[]) => {
    const result = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY } })
    if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`)
    return result.stdout.trim()
  }
  git('init', '-q')
  git('fetch', '-q', world.bare, `${from}:refs/heads/work`)
  git('checkout', '-q', 'work')
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content)
  git('add', '--all')
  git('commit', '-q', '-m', message)
  git('push', '-q', world.bare, `HEAD:refs/heads/${branch}`)
  const sha = git('rev-parse', 'HEAD')
  rmSync(dir, { recursive: true, force: true })
  return sha
}

/** Runs the agent for `job` while heartbeating its lease as its coordinator would. */
async function heldRun(job: Awaited<ReturnType<Awaited<ReturnType<typeof secondAttempt>>['claim']>>) {
  const beat = setInterval(() => void world.t.api('POST', `/api/worker/jobs/${job.job_id}/heartbeat`, { coordinator_id: 'agent-tests', claim_seq: job.claim_seq }, worker()).catch(() => {}), 500)
  try {
    return await runAgentProcess(world, job, { path: [stub] })
  } finally {
    clearInterval(beat)
  }
}

/**
 * The coordinator of attempt 1 is lost: its lease runs out now instead of LEASE_SEC from the claim
 * (no heartbeat would renew it), and the reaper requeues the job within REAPER_INTERVAL_SEC.
 */
const leaseRunsOut = (jobId: number) => world.t.app.ctx.sql`update agent_jobs set lease_expires_at = now() where id = ${jobId} and status = 'running'`

/** Enqueues the ticket, claims attempt 1 for a coordinator that then dies, and claims attempt 2. */
async function secondAttempt(ticketId: number) {
  await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticketId}/run`, undefined, world.people)
  const first = await world.t.api('POST', '/api/worker/jobs/start', { project_id: world.projectId, coordinator_id: 'lost' }, worker())
  assert.is(first.body.attempt, 1)
  return { jobId: first.body.job_id as number, claim: async () => {
    await leaseRunsOut(first.body.job_id)
    const again = await world.t.api('POST', '/api/worker/jobs/start', { project_id: world.projectId, coordinator_id: 'agent-tests', wait_ms: 30_000 }, worker())
    assert.is(again.body.job_id, first.body.job_id)
    assert.is(again.body.attempt, 2)
    return again.body
  } }
}

test('a retry whose earlier attempt already pushed the finished change goes on to the PR without a worker turn', async () => {
  const ticket = await createTicket(world, { title: 'Pushed, then lost' })
  const { jobId, claim } = await secondAttempt(ticket.id)
  const main = remoteGit(world, ['rev-parse', 'main'])!.trim()
  // What attempt 1 left before its coordinator was lost: its commit (ticketWork's message), pushed.
  const pushed = pushCommit(`ticket-${ticket.id}`, main, { 'HEALTH.md': 'healthy\n' },
    `Ticket #${ticket.id}: Pushed, then lost\n\nAdded HEALTH.md saying the service is healthy.\n\nTerarchitect job ${jobId} (aider)`)
  const job = await claim()

  const answer = await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticket.id}/cancel-requested`, undefined, { authorization: `Bearer ${job.agent_token}` })
  assert.is(answer.status, 200)
  assert.is(answer.body.status, 'running')
  assert.is(answer.body.attempt, 2)
  assert.is(answer.body.lease_sec, LEASE_SEC)
  assert.ok(Date.parse(answer.body.lease_expires_at) > Date.parse(answer.body.now), JSON.stringify(answer.body))

  rmSync(record, { force: true })
  const result = await heldRun(job)
  assert.is(result.code, 0, result.stdout.slice(-3000))
  assert.not.ok(existsSync(record), 'no worker turn ran')
  const events = await ticketEvents(world, ticket.id)
  assert.match(events.find((e) => e.step === 'retry')?.summary ?? '', `already pushed its change to ticket-${ticket.id}`)
  assert.is(remoteGit(world, ['rev-parse', `ticket-${ticket.id}`])!.trim(), pushed, 'the branch is as attempt 1 left it')
  const pulls = (world.gh.state.repo('acme/widgets')?.pulls ?? []).filter((pull: { head: { ref: string } }) => pull.head.ref === `ticket-${ticket.id}`)
  assert.is(pulls.length, 1)
  assert.match(pulls[0].body ?? '', 'Added HEALTH.md saying the service is healthy.')
  const after = await getTicket(world, ticket.id)
  assert.is(after.column_id, 'in_review')
  assert.is(after.job.status, 'succeeded')
})

test('a change of another job on the branch is worked on top, and the push is leased on it', async () => {
  const ticket = await createTicket(world, { title: 'On top of an earlier run' })
  const { claim } = await secondAttempt(ticket.id)
  const main = remoteGit(world, ['rev-parse', 'main'])!.trim()
  const earlier = pushCommit(`ticket-${ticket.id}`, main, { 'OTHER.md': 'from an earlier run\n' }, `Ticket #${ticket.id}: earlier\n\nSomething else.\n\nTerarchitect job 9999 (aider)`)
  const job = await claim()
  const result = await heldRun(job)
  assert.is(result.code, 0, result.stdout.slice(-3000))
  assert.ok(existsSync(record), 'the worker ran')
  assert.is(remoteGit(world, ['rev-parse', `ticket-${ticket.id}~1`])!.trim(), earlier, 'the earlier change is kept under the new one')
  assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH.md`]), 'healthy\n')
  assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:OTHER.md`]), 'from an earlier run\n')
})

test('a review job\'s retry whose earlier attempt pushed its commit replies without a worker turn', async () => {
  const ticket = await createTicket(world, { title: 'Reviewed, then lost' })
  await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
  const made = await world.t.api('POST', '/api/worker/jobs/start', { project_id: world.projectId, coordinator_id: 'agent-tests' }, worker())
  assert.is((await heldRun(made.body)).code, 0)
  const repo = world.gh.state.repo('acme/widgets')!
  const pull = repo.pulls.find((p: { head: { ref: string } }) => p.head.ref === `ticket-${ticket.id}`)!
  const comment = world.gh.state.addComment(repo, pull.number, 'reviewer', 'Please also add READY.md saying ready.')
  await world.t.app.ctx.sql`
    insert into agent_jobs (project_id, ticket_id, kind, pr_number, comment_body, github_comment_id)
    values (${world.projectId}, ${ticket.id}, 'review', ${pull.number}, ${comment.body}, ${comment.id})`
  const first = await world.t.api('POST', '/api/worker/jobs/start', { project_id: world.projectId, coordinator_id: 'lost' }, worker())
  assert.is(first.body.kind, 'review')
  const head = remoteGit(world, ['rev-parse', `ticket-${ticket.id}`])!.trim()
  const pushed = pushCommit(`ticket-${ticket.id}`, head, { 'READY.md': 'ready\n' },
    `Address review comment on #${pull.number} (${comment.id})\n\nAdded READY.md.\n\nTerarchitect job ${first.body.job_id} (aider)`)
  await leaseRunsOut(first.body.job_id)
  const again = await world.t.api('POST', '/api/worker/jobs/start', { project_id: world.projectId, coordinator_id: 'agent-tests', wait_ms: 30_000 }, worker())
  assert.is(again.body.job_id, first.body.job_id)
  assert.is(again.body.attempt, 2)

  rmSync(record, { force: true })
  const result = await heldRun(again.body)
  assert.is(result.code, 0, result.stdout.slice(-3000))
  assert.not.ok(existsSync(record), 'no worker turn ran')
  assert.is(remoteGit(world, ['rev-parse', `ticket-${ticket.id}`])!.trim(), pushed)
  const replies = repo.comments.filter((c: { issue_number: number; body: string }) => c.issue_number === pull.number && c.body.includes(REPLY_MARKER))
  assert.is(replies.length, 1)
  assert.match(replies[0]!.body, `Pushed ${pushed.slice(0, 10)}`)
  assert.match(replies[0]!.body, 'Added READY.md.')
  const events = (await ticketEvents(world, ticket.id)).filter((e) => e.job_id === again.body.job_id)
  assert.match(events.find((e) => e.step === 'retry')?.summary ?? '', 'going on to the reply')
})

test('a push leased on a commit the branch has moved from is refused (a newer attempt\'s work stays)', async () => {
  const bare = join(scratch, 'lease.git')
  spawnSync('git', ['init', '-q', '--bare', bare])
  const dir = join(scratch, 'lease-work')
  const git = createGit({ cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch }, author: { name: 'A', email: 'a@example.invalid' } })
  spawnSync('git', ['clone', '-q', bare, dir])
  writeFileSync(join(dir, 'a.txt'), 'a\n')
  const first = await git.commitAll('first')
  await pushLeased(git, bare, 'ticket-1', null)
  writeFileSync(join(dir, 'b.txt'), 'b\n')
  await git.commitAll('second')
  const refused = await pushLeased(git, bare, 'ticket-1', null).then(() => false, () => true)
  assert.ok(refused, 'a lease on "absent" is refused once the branch exists')
  await pushLeased(git, bare, 'ticket-1', first)
  const newer = spawnSync('git', ['--git-dir', bare, 'rev-parse', 'ticket-1'], { encoding: 'utf8' }).stdout.trim()
  writeFileSync(join(dir, 'c.txt'), 'c\n')
  await git.commitAll('third, from a stale attempt')
  try {
    await pushLeased(git, bare, 'ticket-1', first)
    assert.unreachable('a stale lease was accepted')
  } catch (error) {
    assert.match((error as Error).message, 'ticket-1 moved on the remote since this attempt started')
  }
  assert.is(spawnSync('git', ['--git-dir', bare, 'rev-parse', 'ticket-1'], { encoding: 'utf8' }).stdout.trim(), newer)
})

/** An app client whose cancel-requested answers come from `answer`. */
function fakeApi(answer: () => JobState | Error): AppClient {
  return {
    cancelRequested: async () => {
      const value = answer()
      if (value instanceof Error) throw value
      return value
    },
  } as unknown as AppClient
}

const lease = (msLeft: number, fields: Partial<JobState> = {}): JobState => {
  const now = Date.now()
  return { cancel_requested: false, status: 'running', attempt: 1, lease_sec: 60, now: new Date(now).toISOString(), lease_expires_at: new Date(now + msLeft).toISOString(), ...fields }
}

test('the lease watch: stops at expiry minus the margin when the lease is not renewed, at once when the job is no longer this agent\'s', async () => {
  // Renewed on every poll: keeps going. A short lease shortens the poll interval (5 s here) to a
  // sixth of it, so a live coordinator's renewals are always seen before the deadline.
  const renewed = watchCancel(fakeApi(() => lease(3000, { lease_sec: 3 })), { intervalMs: 5000, log, lease: { attempt: 1, marginMs: 10_000 } })
  await sleep(4000)
  assert.not.ok(renewed.signal.aborted, String(renewed.reason()))
  renewed.stop()

  // Not renewed (the coordinator is gone): stops about lease - margin after the first answer.
  const expiry = Date.now() + 1500
  const stale = watchCancel(fakeApi(() => lease(expiry - Date.now())), { intervalMs: 50, log, lease: { attempt: 1, marginMs: 1000 } })
  const started = Date.now()
  await waitFor(async () => stale.signal.aborted, 3000, 'the lease watch to stop the agent')
  const took = Date.now() - started
  assert.ok(took >= 350 && took < 1200, `stopped after ${took} ms (expected ≈ 500)`)
  assert.match(stale.reason() ?? '', 'lease of this job could not be confirmed')
  // The agent must then be gone by the time the lease ends (the app may be unreachable).
  const leaveBy = stale.leaveBy()
  assert.ok(leaveBy !== undefined && Math.abs(leaveBy - expiry) < 400, `leave by ${leaveBy} for a lease ending at ${expiry}`)
  stale.stop()

  // The app unreachable from the first answer on: the last confirmed lease still ends it.
  let calls = 0
  const unreachable = watchCancel(fakeApi(() => (calls++ === 0 ? lease(1200) : new Error('ECONNREFUSED'))), { intervalMs: 50, log, lease: { attempt: 1, marginMs: 1000 } })
  await waitFor(async () => unreachable.signal.aborted, 3000, 'an unconfirmed lease to stop the agent')
  unreachable.stop()

  // The app never answers (the host was cut off before the first poll): the lease given at the
  // claim, counted from the agent's start, still ends it, a quarter of it early at most.
  const cutOff = watchCancel(fakeApi(() => new Error('ETIMEDOUT')), { intervalMs: 50, log, lease: { attempt: 1, marginMs: 1000, givenSec: 1.6 } })
  const cutAt = Date.now()
  await waitFor(async () => cutOff.signal.aborted, 3000, 'the given lease to stop an agent that never reached the app')
  assert.ok(Date.now() - cutAt >= 1000, `stopped after ${Date.now() - cutAt} ms (expected ≈ 1200)`)
  assert.ok(cutOff.leaveBy()! - cutAt <= 1700, 'gone by the end of the given lease')
  cutOff.stop()

  for (const [state, reason] of [
    [lease(60_000, { attempt: 2 }), 'handed to attempt 2'],
    [lease(60_000, { status: 'pending' }), 'the job is pending'],
    [Object.assign(new Error('401 job token refused'), { status: 401 }), 'refused this job\'s token (401)'],
    [lease(60_000, { cancel_requested: true }), 'cancel requested'],
  ] as const) {
    const watch = watchCancel(fakeApi(() => state), { intervalMs: 50, log, lease: { attempt: 1, marginMs: 1000 } })
    await waitFor(async () => watch.signal.aborted, 2000, reason)
    assert.match(watch.reason() ?? '', reason)
    assert.is(watch.leaveBy(), undefined, 'the app answered: no deadline to leave by')
    watch.stop()
  }

  // A manual run (worker key, no lease to confirm) is stopped by a cancel only.
  const manual = watchCancel(fakeApi(() => lease(10, { attempt: 5, status: 'pending' })), { intervalMs: 50, log })
  await sleep(300)
  assert.not.ok(manual.signal.aborted)
  manual.stop()
})

test('nothing the suite stored holds a secret: database, fake GitHub, app log, agent output', async () => {
  assert.ok(world, 'the suite ran agents')
  await assertWorldClean(world)
})

test.run()
