/**
 * Why a job ended, stored on the job (sql/009_job_reason.sql) for each cause people meet first:
 * a local path that does not exist (a real coordinator cannot start the agent there), a worker that
 * changed nothing, a repository that is not found, a token that may not push, and a person's Stop.
 * The agent runs for real in local mode on a person's checkout, with Claude Code against the
 * scripted LLM, the git remote and the fake GitHub (test/bench/agent-harness.ts); each stored reason
 * is plain, classified, points at the log event it came from and, where there is one, at the fix.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import { claimJob, cliDirs, createTicket, runAgentProcess, runAndClaim, startWorld, ticketEvents, type World } from './bench/agent-harness.ts'
import { dirtyCheckout, hostCoordinator } from './checkout-fixtures.ts'
import { PASSWORD, PROXIED, signIn } from './people-helpers.ts'
import { waitFor } from './helpers.ts'
import { assertWorldClean } from './secret-scan.ts'
import { agentError, AgentError, reasonOf } from '../core/agent/errors.ts'
import { runAgent } from '../core/agent/run-agent.ts'
import type { AppClient } from '../core/agent/api.ts'
import { resolveAgentConfig } from '../core/agent-config.ts'
import { createLogger } from '../core/log.ts'
import type { JobEventInput } from '../core/types.ts'
import { expireLeases } from '../core/services/reaper.ts'

const scratch = mkdtempSync(join(tmpdir(), 'job-reasons-'))
let world: World
let claude: string

/**
 * By the ticket's title (the prompt's `# Ticket …: <title>` heading; past tickets may appear too, as
 * project memories): NOTHING, the worker only talks; HANG, its first call hangs 20 s; else it writes a file.
 */
function script(request: LlmRequest): Reply {
  if (request.tools.length === 0 || request.lastIsToolResult) return { text: 'Done.' }
  const title = /# Ticket [^:\n]+: ([^\n]*)/.exec(request.allText)?.[1] ?? ''
  if (title.includes('NOTHING')) return { text: 'I looked around; everything seems fine.' }
  const call = writeFileCall(request, 'HEALTH.md', 'healthy\n')!
  return title.includes('HANG') ? { toolCalls: [call], delayMs: 20_000 } : { toolCalls: [call] }
}

test.before(async () => {
  claude = cliDirs().get('claude')!
  world = await startWorld({ script, settings: { WORKER_MODE: 'claude-code' } })
  const checkout = join(scratch, 'checkout')
  dirtyCheckout(world.bare, checkout, world.repoUrl)
  const res = await world.t.api('PATCH', `/api/projects/${world.projectId}`, { execution_mode: 'local', project_path: checkout }, world.people)
  assert.is(res.status, 200, JSON.stringify(res.body))
})

test.after(async () => {
  await world?.close()
  rmSync(scratch, { recursive: true, force: true })
})

const jobOf = async (jobId: number) => (await world.t.api('GET', `/api/jobs/${jobId}`, undefined, world.people)).body

/** Runs a ticket's job with the agent on the host; returns the job as the jobs API shows it after. */
async function runTicket(title: string) {
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const ticket = await createTicket(world, { title })
  const claimed = await runAndClaim(world, ticket.id)
  const result = await runAgentProcess(world, claimed, { path: [claude] })
  assert.is.not(result.code, 0, 'the job fails')
  return { ticket, job: await jobOf(claimed.job_id), result }
}

/** The log event the reason points at. */
async function reasonEvent(ticketId: number, eventId: number | null) {
  assert.ok(eventId, 'the reason points at a log event')
  const event = (await ticketEvents(world, ticketId)).find((e) => e.seq === eventId)
  assert.ok(event, `event ${eventId} is in the ticket's log`)
  return event!
}

/** The stored reason, and the log event it points at (returned). */
async function assertReason(job: Record<string, any>, ticketId: number, expected: { status: string; kind: string; text: string | RegExp; fix: unknown }) {
  assert.is(job.status, expected.status, JSON.stringify(job))
  assert.is(job.reason_kind, expected.kind, JSON.stringify(job))
  if (typeof expected.text === 'string') assert.is(job.reason, expected.text)
  else assert.match(job.reason, expected.text)
  assert.equal(job.reason_fix, expected.fix)
  return reasonEvent(ticketId, job.reason_event_id)
}

/** What every listed job shows: the same reason in the project's and the global Jobs list. */
async function listed(jobId: number) {
  const project = (await world.t.api('GET', `/api/projects/${world.projectId}/jobs`, undefined, world.people)).body.find((j: { id: number }) => j.id === jobId)
  const global = (await world.t.api('GET', '/api/jobs', undefined, world.people)).body.find((j: { id: number }) => j.id === jobId)
  assert.equal([global.reason_kind, global.reason], [project.reason_kind, project.reason])
  return project
}

test('the agent\'s errors in words: the git relay\'s answers, budgets, its own messages; anything else as it is', () => {
  const cases: [AgentError, string, RegExp, unknown][] = [
    [agentError('git', 'push to ticket-3 failed: git push failed (exit 128): remote: the git host refused the forge token (403): check GITHUB_TOKEN'),
      'forge', /may not push/, { kind: 'setting', key: 'GITHUB_TOKEN' }],
    [agentError('git', 'git clone failed (exit 128): remote: the git host refused the forge token (401): check GITHUB_TOKEN'),
      'forge', /refused the token/, { kind: 'setting', key: 'GITHUB_TOKEN' }],
    [agentError('git', 'git fetch main failed: remote: the repository was not found on the git host'), 'forge', /repository was not found/, { kind: 'project', field: 'repo_url' }],
    [agentError('github', 'opening the pull request failed (the branch ticket-1 is pushed): GitHub 404 not found on GitHub'), 'forge', /not found/, { kind: 'project', field: 'repo_url' }],
    [agentError('config', 'PROJECT_PATH /srv/shop is neither a git checkout nor empty'), 'setup', /not a git checkout: \/srv\/shop/, { kind: 'project', field: 'project_path' }],
    [agentError('nothing_to_push', 'the job produced no change to push'), 'worker', /^No change was made/, null],
    [new AgentError('budget', 'budget exhausted: DIRECTOR_MAX_TURNS (turn budget of 6 used up (6 worker turns)); no pull request was opened'),
      'budget', /turn budget of 6 used up/, { kind: 'setting', key: 'DIRECTOR_MAX_TURNS' }],
    [agentError('worker', 'the worker exited 1: API Error: 401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'),
      'config', /refused the API key/, { kind: 'setting', key: 'WORKER_API_KEY' }],
    [agentError('worker', 'the worker exited 1: 502 WORKER_LLM_URL unreachable from the app: ECONNREFUSED (Terarchitect relay)'),
      'config', /could not be reached/, { kind: 'setting', key: 'WORKER_LLM_URL' }],
    [agentError('worker', 'the worker exited 1: 401 send the job token as the API key (Terarchitect relay)'), 'worker', /^The worker exited 1/, null],
    [agentError('git', 'git checkout failed (exit 1): error: pathspec'), 'git', /^Git checkout failed/, null],
    [agentError('app', 'POST complete: 409 conflict'), 'internal', /^POST complete: 409/, null],
  ]
  for (const [error, kind, text, fix] of cases) {
    const reason = reasonOf(error)
    assert.is(reason.kind, kind, error.message)
    assert.match(reason.text, text)
    assert.equal(reason.fix ?? null, fix, error.message)
  }
})

test('a review job that fails replies on its PR with the reason; a stopped one does not', async () => {
  const config = resolveAgentConfig({ TERARCHITECT_API_URL: 'http://127.0.0.1:9', TERARCHITECT_AGENT_TOKEN: 'tj1.unit', PROJECT_ID: '1', TICKET_ID: '2', JOB_ID: '3', PR_NUMBER: '4', COMMENT_BODY: 'Rename it' }, 'review')
  for (const [thrown, replies] of [[agentError('github', 'reading PR #4: GitHub 404 not found on GitHub'), 1], [agentError('cancelled', 'cancelled: cancel requested; nothing was pushed'), 0]] as const) {
    const posted: JobEventInput[] = []
    const bodies: string[] = []
    const api = {
      workerContext: async () => { throw thrown },
      postEvents: async (events: JobEventInput[]) => void posted.push(...events),
      cancelRequested: async () => ({ cancel_requested: false }),
      replyOnPull: async (body: string) => (bodies.push(body), { id: 1, url: 'https://github.example/acme/widgets/pull/4#issuecomment-1' }),
    } as unknown as AppClient
    await runAgent(config, { api, workerFor: () => { throw new Error('no worker in this test') }, log: createLogger('error') })
    assert.is(bodies.length, replies, thrown.message)
    if (replies) {
      assert.match(bodies[0]!, '<!-- terarchitect:reply -->')
      assert.match(bodies[0]!, 'This comment could not be addressed: GitHub: the repository or pull request was not found')
      const failure = posted.find((event) => event.event?.kind === 'failure')!.event as Record<string, unknown>
      assert.equal([failure.reason_kind, failure.fix], ['forge', { kind: 'project', field: 'repo_url' }])
    }
  }
})

test('no change made: "worker", in words, pointing at the agent\'s failure event; nothing to fix', async () => {
  const { ticket, job } = await runTicket('NOTHING to do here')
  const event = await assertReason(job, ticket.id, { status: 'failed', kind: 'worker', text: 'The worker finished without changing anything', fix: null })
  assert.is(event.step, 'error')
  assert.match(event.summary, 'exited 0 but changed nothing')
  const row = await listed(job.id)
  assert.is(row.ticket_title, 'NOTHING to do here')
  // The board's card reads the same summary.
  const board = (await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticket.id}`, undefined, world.people)).body
  assert.is(board.job.reason, job.reason)
  assert.is(board.job.reason_kind, 'worker')
})

test('token without push permission: "forge", naming the push, with the GitHub token as the fix', async () => {
  spawnSync('git', ['--git-dir', world.bare, 'config', 'http.receivepack', 'false'])
  try {
    const { ticket, job } = await runTicket('Push refused')
    const event = await assertReason(job, ticket.id, { status: 'failed', kind: 'forge', text: /may not push to the repository/, fix: { kind: 'setting', key: 'GITHUB_TOKEN' } })
    assert.match(event.summary, 'push')
    assert.is((await listed(job.id)).reason, job.reason)
  } finally {
    spawnSync('git', ['--git-dir', world.bare, 'config', 'http.receivepack', 'true'])
  }
})

test('repository not found: "forge", with the project\'s repository URL as the fix', async () => {
  const moved = `${world.bare}.moved`
  renameSync(world.bare, moved)
  try {
    const { ticket, job } = await runTicket('Where did it go')
    await assertReason(job, ticket.id, { status: 'failed', kind: 'forge', text: /repository was not found/, fix: { kind: 'project', field: 'repo_url' } })
    assert.is((await listed(job.id)).reason, job.reason)
  } finally {
    renameSync(moved, world.bare)
  }
})

test('cancelled by a person: "Stopped by" their display name, status cancelled', async () => {
  const created = await world.t.api('POST', '/api/users', { login: 'alice', display_name: 'Alice', password: PASSWORD, role: 'member' }, world.people)
  assert.is(created.status, 201, JSON.stringify(created.body))
  const alice = { ...(await signIn(world.t, 'alice')), ...PROXIED }
  const ticket = await createTicket(world, { title: 'HANG until Alice stops it' })
  const claimed = await runAndClaim(world, ticket.id)
  const running = runAgentProcess(world, claimed, { path: [claude], env: { CANCEL_POLL_SEC: '0.5' } })
  await waitFor(async () => world.llm.requests.some((r) => JSON.stringify(r.body ?? '').includes('HANG until Alice')), 120_000, 'the worker call')
  const stop = await world.t.api('POST', `/api/jobs/${claimed.job_id}/cancel`, undefined, alice)
  assert.is(stop.status, 200, JSON.stringify(stop.body))
  assert.is((await running).code, 130)
  const job = await jobOf(claimed.job_id)
  const event = await assertReason(job, ticket.id, { status: 'cancelled', kind: 'cancelled', text: 'Stopped by Alice', fix: null })
  assert.is(event.step, 'cancelled')
  assert.is((await listed(job.id)).reason, 'Stopped by Alice')
})

test('a pending job stopped by a person ends at once with the same reason', async () => {
  const ticket = await createTicket(world, { title: 'Queued, then stopped' })
  const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
  assert.is(run.status, 201)
  const stop = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/cancel`, undefined, world.people)
  assert.is(stop.status, 200, JSON.stringify(stop.body))
  assert.is(stop.body.status, 'cancelled')
  assert.is(stop.body.reason_kind, 'cancelled')
  assert.match(stop.body.reason, /^Stopped by /)
})

test('missing path: a real coordinator cannot start the agent there; "setup", naming the path, with the project path as the fix', async () => {
  const missing = join(scratch, 'no-such-checkout')
  const res = await world.t.api('PATCH', `/api/projects/${world.projectId}`, { project_path: missing }, world.people)
  assert.is(res.status, 200, JSON.stringify(res.body))
  const coordinator = hostCoordinator(world, claude, 1)
  try {
    const ticket = await createTicket(world, { title: 'Nowhere to run' })
    const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
    assert.is(run.status, 201, JSON.stringify(run.body))
    const job = await waitFor(async () => {
      const [latest] = (await world.t.api('GET', `/api/projects/${world.projectId}/jobs?ticket_id=${ticket.id}`, undefined, world.people)).body
      return latest?.status === 'failed' ? latest : null
    }, 60_000, 'the job to fail')
    const event = await assertReason(job, ticket.id, { status: 'failed', kind: 'setup', text: /does not exist on/, fix: { kind: 'project', field: 'project_path' } })
    assert.ok(job.reason.startsWith(`The project path ${missing} does not exist`), job.reason)
    assert.is(event.step, 'coordinator')
  } finally {
    await coordinator.stop()
  }
})

test('a lost lease: "cancelled", its coordinator stopped answering; queued again, then not retried; the old holder is told', async () => {
  const ctx = world.t.app.ctx
  const ticket = await createTicket(world, { title: 'Lease lost twice' })
  const first = await runAndClaim(world, ticket.id)
  await ctx.sql`update agent_jobs set max_attempts = 2 where id = ${first.job_id}`
  const expire = async () => {
    await ctx.sql`update agent_jobs set lease_expires_at = now() - interval '1 hour' where id = ${first.job_id}`
    assert.ok((await expireLeases(ctx)) >= 1, 'the reaper took the job back')
    return jobOf(first.job_id)
  }
  const requeued = await expire()
  assert.is(requeued.status, 'pending')
  assert.is(requeued.reason_kind, 'cancelled')
  assert.is(requeued.reason, 'Its coordinator stopped answering (lease lost); queued again as attempt 2 of 2')
  assert.is((await reasonEvent(ticket.id, requeued.reason_event_id)).step, 'lease_expired')
  // The coordinator that held it hears lease_lost on its next heartbeat; the reason stays.
  const beat = await world.t.api('POST', `/api/worker/jobs/${first.job_id}/heartbeat`, { coordinator_id: 'agent-tests', claim_seq: first.claim_seq }, { authorization: `Bearer ${world.secrets.workerApiKey}` })
  assert.is(beat.status, 409, JSON.stringify(beat.body))
  assert.is(beat.body.error.code, 'lease_lost')
  assert.is((await jobOf(first.job_id)).reason, requeued.reason)
  // Claimed again: the last attempt's reason is not this one's.
  const second = await claimJob(world)
  assert.is(second.job_id, first.job_id)
  assert.is(second.attempt, 2)
  const running = await jobOf(first.job_id)
  assert.equal([running.status, running.reason_kind, running.reason], ['running', null, null])
  const ended = await expire()
  const event = await assertReason(ended, ticket.id, { status: 'failed', kind: 'cancelled', text: 'Its coordinator stopped answering (lease lost) on attempt 2 of 2; not retried', fix: null })
  assert.is(event.step, 'lease_expired')
  assert.is((await listed(ended.id)).reason, ended.reason)
  const card = (await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticket.id}`, undefined, world.people)).body
  assert.equal([card.job.reason_kind, card.job.reason], ['cancelled', ended.reason])
})

test('a lost lease after a cancel: cancelled, "Stopped by" the person who asked', async () => {
  const ctx = world.t.app.ctx
  const ticket = await createTicket(world, { title: 'Stopped while its coordinator was gone' })
  const claimed = await runAndClaim(world, ticket.id)
  assert.is((await world.t.api('POST', `/api/jobs/${claimed.job_id}/cancel`, undefined, world.people)).status, 200)
  await ctx.sql`update agent_jobs set lease_expires_at = now() - interval '1 hour' where id = ${claimed.job_id}`
  assert.ok((await expireLeases(ctx)) >= 1)
  const job = await jobOf(claimed.job_id)
  assert.equal([job.status, job.reason_kind], ['cancelled', 'cancelled'])
  assert.match(job.reason, /^Stopped by /)
})

test('nothing the suite stored holds a secret', async () => {
  await assertWorldClean(world)
})

test.run()
