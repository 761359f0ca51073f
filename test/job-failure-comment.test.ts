/**
 * A failed ticket job whose ticket has a pull request says why on it (core/services/job-failure-comment.ts):
 * once per job, the plain reason redacted, a link to the job in the app (PUBLIC_URL), REPLY_MARKER;
 * nothing for a person's cancel; a forge that fails is logged and the job stays failed.
 * The app, the fake GitHub and the git remote are real processes of the test (test/bench/agent-harness.ts).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createTicket, runAndClaim, startWorld, type World } from './bench/agent-harness.ts'
import { sleep, waitFor } from './helpers.ts'
import { commentJobFailure } from '../core/services/job-failure-comment.ts'
import { REPLY_MARKER } from '../core/services/review/comments.ts'
import { expireLeases } from '../core/services/reaper.ts'
import type { ClaimedJob } from '../core/coordinator/client.ts'

const PUBLIC_URL = 'https://terarchitect.example.com'
let world: World

test.before(async () => {
  world = await startWorld({ appEnv: { PUBLIC_URL } })
})

test.after(async () => {
  await world?.close()
})

const worker = () => ({ authorization: `Bearer ${world.secrets.workerApiKey}` })
const comments = (number: number) => world.gh.state.repo('acme/widgets')!.comments.filter((c) => c.issue_number === number)
const jobOf = async (jobId: number) => (await world.t.api('GET', `/api/jobs/${jobId}`, undefined, world.people)).body

/** A ticket with an open PR from its branch, tracked by the app as the forge shows it. */
async function ticketWithPull(title: string) {
  const ticket = await createTicket(world, { title })
  const pull = world.gh.state.createPull('acme/widgets', { title, head: `ticket-${ticket.id}`, base: 'main' }, 'terarchitect-bot')
  await world.t.app.ctx.sql`
    insert into prs (project_id, ticket_id, repo, number, url, state, head_branch)
    values (${world.projectId}, ${ticket.id}, 'acme/widgets', ${pull.number}, ${pull.html_url}, 'open', ${`ticket-${ticket.id}`})`
  return { ticket, pull }
}

const fail = (job: ClaimedJob, text: string) => world.t.api('POST', `/api/worker/jobs/${job.job_id}/fail`, {
  coordinator_id: 'agent-tests', claim_seq: job.claim_seq, error: 'agent exited with code 1', output_tail: '', reason: { kind: 'git', text },
}, worker())

test('a failed ticket job comments its reason on the ticket\'s PR once, redacted, with the link to the job and the reply marker', async () => {
  const { ticket, pull } = await ticketWithPull('Fails on its PR')
  const claimed = await runAndClaim(world, ticket.id)
  const res = await fail(claimed, `Git push failed: remote refused ${world.secrets.githubToken}`)
  assert.is(res.status, 200, JSON.stringify(res.body))
  const [comment] = await waitFor(async () => (comments(pull.number).length ? comments(pull.number) : null), 10_000, 'the failure comment')
  const job = await jobOf(claimed.job_id)
  assert.ok(comment!.body.startsWith(`${REPLY_MARKER}\n`), comment!.body)
  assert.match(comment!.body, `Terarchitect job ${claimed.job_id} (attempt 1 of ${job.max_attempts}) on this ticket failed: Git push failed: remote refused `)
  assert.not.match(comment!.body, world.secrets.githubToken)
  const link = `${PUBLIC_URL}/projects/${world.projectId}/tickets/${ticket.id}`
  assert.match(comment!.body, `[Open the job's log](${link}`)
  assert.is(comment!.user.login, 'terarchitect-bot')

  // The same report again, and another try: still one comment.
  assert.is((await fail(claimed, 'Git push failed')).status, 200)
  await commentJobFailure(world.t.app.ctx, job)
  await sleep(300)
  assert.is(comments(pull.number).length, 1)
})

test('a job a person cancelled says nothing on the PR', async () => {
  const { ticket, pull } = await ticketWithPull('Stopped by a person')
  const claimed = await runAndClaim(world, ticket.id)
  assert.is((await world.t.api('POST', `/api/jobs/${claimed.job_id}/cancel`, undefined, world.people)).status, 200)
  const res = await fail(claimed, 'Stopped on request')
  assert.is(res.status, 200, JSON.stringify(res.body))
  assert.is((await jobOf(claimed.job_id)).status, 'cancelled')
  await commentJobFailure(world.t.app.ctx, await jobOf(claimed.job_id))
  await sleep(300)
  assert.is(comments(pull.number).length, 0)
})

test('a ticket without a PR: no comment, no forge call', async () => {
  const ticket = await createTicket(world, { title: 'No PR yet' })
  const before = world.gh.requests.length
  const claimed = await runAndClaim(world, ticket.id)
  assert.is((await fail(claimed, 'Git clone failed')).status, 200)
  await sleep(300)
  assert.is(world.gh.requests.slice(before).filter((r) => r.method === 'POST').length, 0)
})

test('a job failed by its lost lease comments too (the reaper)', async () => {
  const { ticket, pull } = await ticketWithPull('Coordinator gone')
  const claimed = await runAndClaim(world, ticket.id)
  await world.t.app.ctx.sql`update agent_jobs set max_attempts = 1, lease_expires_at = now() - interval '1 hour' where id = ${claimed.job_id}`
  assert.ok((await expireLeases(world.t.app.ctx)) >= 1)
  const [comment] = comments(pull.number)
  assert.ok(comment, 'the reaper commented before returning')
  assert.match(comment!.body, 'failed: Its coordinator stopped answering (lease lost) on attempt 1 of 1; not retried.')
})

test('a forge that fails is logged; the job stays failed with its reason', async () => {
  const { ticket, pull } = await ticketWithPull('Forge down')
  await world.settings({ GITHUB_API_URL: 'http://127.0.0.1:9' })
  try {
    const claimed = await runAndClaim(world, ticket.id)
    assert.is((await fail(claimed, 'Git fetch failed')).status, 200)
    await waitFor(async () => world.t.logs.some((line) => line.includes('could not comment the job failure')), 10_000, 'the warning')
    const job = await jobOf(claimed.job_id)
    assert.equal([job.status, job.reason_kind, job.reason], ['failed', 'git', 'Git fetch failed'])
    assert.is(comments(pull.number).length, 0)
  } finally {
    await world.settings({ GITHUB_API_URL: world.gh.url })
  }
})

test.run()
