// test-runner: alone
// Review: PRs tracked from tickets, comments ingested by signed webhooks and by the poller alone,
// one review job per PR at a time, merged/closed/approved PR states, and the review endpoints
// against the fake GitHub, on real PostgreSQL 15 and on PGlite.
import { createHmac } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { start as startGithub, type FakeGithub } from './fixtures/fake-github.ts'
import { assertError } from './api-helpers.ts'
import { dispatchReview, retryDelayMs } from '../core/services/review/dispatch.ts'
import { DB_KINDS, createTicket, sleep, startTestApp, stopOwnCluster, waitFor, type DbKind, type TestApp } from './helpers.ts'

const SECRET = 'whsec_test_secret'
const MARKER = '<!-- terarchitect:reply -->'

interface Ctx {
  t: TestApp
  gh: FakeGithub
}

async function startReviewApp(kind: DbKind, extra: Record<string, string> = {}): Promise<Ctx> {
  const gh = await startGithub()
  const t = await startTestApp({
    kind,
    env: { GITHUB_TOKEN: 'ghp_review_test', GITHUB_API_URL: gh.url, GITHUB_WEBHOOK_SECRET: SECRET, REVIEW_POLL_INTERVAL_SEC: '3600', ...extra },
  })
  return { t, gh }
}

interface Setup {
  projectId: number
  ticketId: number
  repo: string
  number: number
}

/** A project on `acme/<random>`, a ticket whose (simulated) agent opened PR #1 and finished. */
async function ticketWithPr({ t, gh }: Ctx, writers: string[] = ['alice']): Promise<Setup> {
  const name = `r${Math.random().toString(36).slice(2, 8)}`
  const repo = `acme/${name}`
  const project = await t.api('POST', '/api/projects', { name, repo_url: `https://github.com/${repo}.git` })
  assert.is(project.status, 201)
  const ticket = await createTicket(t, project.body.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.body.id, coordinator_id: 'c1' })
  assert.is(claim.status, 200)
  const pull = gh.state.createPull(repo, { title: `Ticket ${ticket.id}`, head: `ticket-${ticket.id}`, base: 'main' }, 'terarchitect-bot')
  for (const login of writers) gh.state.repo(repo)!.permissions[login] = 'write'
  const auth = { authorization: `Bearer ${claim.body.agent_token}` }
  const done = await t.api('POST', `/api/projects/${project.body.id}/tickets/${ticket.id}/complete`,
    { pr_url: pull.html_url, pr_number: pull.number, summary: 'Implemented it' }, auth)
  assert.is(done.status, 200, JSON.stringify(done.body))
  const complete = await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
  assert.is(complete.body.status, 'succeeded')
  await waitFor(async () => (await reviewOf(t, project.body.id)).length > 0, 10000, 'the PR to be tracked')
  return { projectId: project.body.id, ticketId: ticket.id, repo, number: pull.number }
}

async function reviewOf(t: TestApp, projectId: number): Promise<any[]> {
  const res = await t.api('GET', `/api/projects/${projectId}/review`)
  assert.is(res.status, 200, JSON.stringify(res.body))
  return res.body.prs
}

function sign(body: string, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

function deliver(t: TestApp, event: string, payload: unknown, signature?: string | null) {
  const body = JSON.stringify(payload)
  const headers: Record<string, string> = { 'x-github-event': event, 'x-github-delivery': String(Math.random()) }
  if (signature !== null) headers['x-hub-signature-256'] = signature ?? sign(body)
  return t.api('POST', '/api/webhooks/github', body, headers)
}

/** A comment written on GitHub and its webhook delivery. */
function issueCommentEvent(gh: FakeGithub, s: Setup, login: string, body: string) {
  const comment = gh.state.addComment(s.repo, s.number, login, body)
  return {
    comment,
    payload: { action: 'created', issue: { number: s.number, pull_request: { url: 'x' } }, comment, repository: { full_name: s.repo } },
  }
}

async function reviewJobs(t: TestApp, projectId: number): Promise<any[]> {
  const res = await t.api('GET', `/api/projects/${projectId}/jobs`)
  return res.body.filter((job: any) => job.kind === 'review').reverse()
}

async function storedComments(t: TestApp, githubId: number) {
  return t.app.ctx.sql`select * from pr_review_comments where github_id = ${githubId}`
}

for (const kind of DB_KINDS) {
  const test = suite<Ctx>(`review webhooks (${kind})`)
  test.before(async (context) => {
    Object.assign(context, await startReviewApp(kind))
  })
  test.after(async ({ t, gh }) => {
    await t.close()
    await gh.close()
  })

  test('a signed webhook comment from a writer → review job within 1 s', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    const { comment, payload } = issueCommentEvent(gh, s, 'alice', 'Please rename foo to bar')
    const started = Date.now()
    const res = await deliver(t, 'issue_comment', payload)
    assert.is(res.status, 200, JSON.stringify(res.body))
    const job = await waitFor(async () => (await reviewJobs(t, s.projectId))[0], 1000, 'the review job')
    assert.ok(Date.now() - started <= 1000)
    assert.is(job.status, 'pending')
    assert.is(job.ticket_id, s.ticketId)
    assert.is(job.pr_number, s.number)
    assert.is(job.github_comment_id, comment.id)
    assert.is(job.comment_body, 'Please rename foo to bar')
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: s.projectId, coordinator_id: 'c1' })
    assert.is(claim.body.kind, 'review')
    assert.is(claim.body.pr_number, s.number)
    assert.is(claim.body.github_comment_id, comment.id)
    // A redelivery (the same body) is refused as a repeat; past the replay window, or the poller
    // seeing it, it stores nothing twice and starts nothing twice.
    assert.is((await deliver(t, 'issue_comment', payload)).status, 409)
    await t.app.ctx.sql`delete from webhook_deliveries`
    const again = await deliver(t, 'issue_comment', payload)
    assert.is(again.body.created, false)
    assert.is((await storedComments(t, comment.id)).length, 1)
    assert.is((await reviewJobs(t, s.projectId)).length, 1)
  })

  test('unsigned or wrongly signed → 401 and nothing stored', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    const payload = { action: 'created', issue: { number: s.number, pull_request: {} }, repository: { full_name: s.repo },
      comment: { id: 987654321, body: 'sneaky', user: { login: 'alice', type: 'User' }, created_at: new Date().toISOString() } }
    assertError(await deliver(t, 'issue_comment', payload, null), 401)
    assertError(await deliver(t, 'issue_comment', payload, sign(JSON.stringify(payload), 'wrong-secret')), 401)
    assertError(await deliver(t, 'issue_comment', payload, 'sha256=nothex'), 401)
    // Signed for other bytes than the ones sent.
    assertError(await deliver(t, 'issue_comment', payload, sign(JSON.stringify({ ...payload, action: 'edited' }))), 401)
    assert.is((await storedComments(t, 987654321)).length, 0)
    assert.is((await reviewJobs(t, s.projectId)).length, 0)
    const ping = await deliver(t, 'ping', { zen: 'Keep it logically awesome.' })
    assert.is(ping.status, 200)
  })

  test('a non-writer\'s comment is stored without a job; the app\'s own reply and bots start nothing', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    gh.state.repo(s.repo)!.permissions.mallory = 'read'
    const outsider = issueCommentEvent(gh, s, 'mallory', 'Delete the tests')
    assert.is((await deliver(t, 'issue_comment', outsider.payload)).status, 200)
    const reply = issueCommentEvent(gh, s, 'alice', `Done: renamed.\n\n${MARKER}`)
    assert.is((await deliver(t, 'issue_comment', reply.payload)).status, 200)
    const bot = issueCommentEvent(gh, s, 'dependabot[bot]', 'Bump lodash')
    assert.is((await deliver(t, 'issue_comment', bot.payload)).status, 200)
    const [stored] = await storedComments(t, outsider.comment.id)
    assert.is(stored!.ignored_reason, 'not_a_writer')
    assert.is(stored!.authorized, false)
    assert.is((await storedComments(t, reply.comment.id))[0]!.ignored_reason, 'own_reply')
    assert.is((await storedComments(t, bot.comment.id))[0]!.ignored_reason, 'bot')
    await sleep(300)
    assert.is((await reviewJobs(t, s.projectId)).length, 0)
    const [pr] = await reviewOf(t, s.projectId)
    assert.is(pr.comments.total, 3)
    assert.is(pr.comments.ignored, 3)
  })

  test('REVIEW_ALLOWED_AUTHORS trigger work without write access', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh }, [])
    await t.api('PUT', '/api/settings', { values: { REVIEW_ALLOWED_AUTHORS: 'Carol, dave' } })
    try {
      const { payload } = issueCommentEvent(gh, s, 'carol', 'Add a changelog entry')
      const res = await deliver(t, 'issue_comment', payload)
      assert.is(res.body.authorized, true)
      assert.ok(res.body.job_id)
    } finally {
      await t.api('PUT', '/api/settings', { values: { REVIEW_ALLOWED_AUTHORS: null } })
    }
  })

  test('3 comments on one PR → 3 review jobs, one after another, in order', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    const bodies = ['First: add tests', 'Second: fix the typo', 'Third: update docs']
    const ids: number[] = []
    for (const body of bodies) {
      const { comment, payload } = issueCommentEvent(gh, s, 'alice', body)
      ids.push(comment.id)
      assert.is((await deliver(t, 'issue_comment', payload)).status, 200)
    }
    for (const [i, body] of bodies.entries()) {
      const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: s.projectId, coordinator_id: 'c1', wait_ms: 10000 })
      assert.is(claim.status, 200, `job ${i + 1} claimable`)
      assert.is(claim.body.kind, 'review')
      assert.is(claim.body.comment_body, body)
      assert.is(claim.body.github_comment_id, ids[i])
      const active = (await reviewJobs(t, s.projectId)).filter((job) => ['pending', 'running'].includes(job.status))
      assert.is(active.length, 1, 'one review job per PR at a time')
      const done = await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
      assert.is(done.body.status, 'succeeded')
    }
    await waitFor(async () => (await reviewOf(t, s.projectId))[0].comments.addressed === 3, 5000, 'all three addressed')
    assert.is((await t.api('POST', '/api/worker/jobs/start', { project_id: s.projectId })).status, 204)
    const review = await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review`)
    assert.is(review.status, 200, JSON.stringify(review.body))
    assert.equal(review.body.comments.map((c: any) => c.status), ['addressed', 'addressed', 'addressed'])
  })

  test('a comment whose job keeps failing stops after max attempts with its error shown', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    const failing = issueCommentEvent(gh, s, 'alice', 'Impossible request')
    await deliver(t, 'issue_comment', failing.payload)
    const next = issueCommentEvent(gh, s, 'alice', 'Easy request')
    await deliver(t, 'issue_comment', next.payload)
    let jobId: number | undefined
    for (let attempt = 1; attempt <= 3; attempt++) {
      const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: s.projectId, coordinator_id: 'c1', wait_ms: 10000 })
      assert.is(claim.body.github_comment_id, failing.comment.id, `attempt ${attempt} is the failing comment again`)
      // One job, its attempts: "attempt 2 of 3", not a fresh job labelled "attempt 1" each time.
      jobId ??= claim.body.job_id
      assert.is(claim.body.job_id, jobId)
      assert.is(claim.body.attempt, attempt)
      await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/fail`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, error: `push rejected (${attempt})`, exit_code: 1 })
      if (attempt === 3) break
      // Backoff: nothing runs before the delay (30 s, then 2 min) has passed since the failure.
      const [pr] = await t.app.ctx.sql`select id from prs where ticket_id = ${s.ticketId}`
      await waitFor(async () => (await storedComments(t, failing.comment.id))[0]?.error?.includes(`trying again in ${attempt === 1 ? '30 s' : '2 min'}`), 5000, 'the failure settled')
      assert.is(await dispatchReview(t.app.ctx, pr!.id), null, 'no retry before the delay')
      assert.is((await t.api('POST', '/api/worker/jobs/start', { project_id: s.projectId, coordinator_id: 'c1' })).status, 204)
      await t.app.ctx.sql`update agent_jobs set finished_at = now() - make_interval(secs => ${retryDelayMs(attempt) / 1000 + 1}) where id = ${jobId!}`
      assert.is((await dispatchReview(t.app.ctx, pr!.id))?.id, jobId, 'the same job again once the delay passed')
    }
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: s.projectId, coordinator_id: 'c1', wait_ms: 10000 })
    assert.is(claim.body.github_comment_id, next.comment.id, 'the queue moves on')
    const [stored] = await storedComments(t, failing.comment.id)
    assert.ok(stored!.failed_at)
    assert.match(stored!.error, /gave up after 3 attempt\(s\); last error: push rejected \(3\)/)
    const review = await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review`)
    const shown = review.body.comments.find((c: any) => c.id === failing.comment.id)
    assert.is(shown.status, 'failed')
    assert.match(shown.error, /push rejected \(3\)/)
  })

  test('merged PR (webhook) → ticket in Done, tracking stops', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    gh.state.mergePull(s.repo, s.number)
    const pull = gh.state.pullOf(s.repo, s.number)
    const res = await deliver(t, 'pull_request', { action: 'closed', number: s.number, pull_request: pull, repository: { full_name: s.repo } })
    assert.is(res.status, 200, JSON.stringify(res.body))
    assert.is(res.body.state, 'merged')
    const ticket = await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}`)
    assert.is(ticket.body.column_id, 'done')
    const [pr] = await reviewOf(t, s.projectId)
    assert.is(pr.state, 'merged')
    assert.is(pr.tracking, false)
  })

  test('closed PR → tracking stops and GET review says so; later comments start nothing', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    gh.state.closePull(s.repo, s.number)
    const pull = gh.state.pullOf(s.repo, s.number)
    const res = await deliver(t, 'pull_request', { action: 'closed', pull_request: pull, repository: { full_name: s.repo } })
    assert.is(res.body.state, 'closed')
    const [pr] = await reviewOf(t, s.projectId)
    assert.is(pr.state, 'closed')
    assert.is(pr.tracking, false)
    const review = await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review`)
    assert.is(review.status, 200)
    assert.is(review.body.pr.state, 'closed')
    assert.is(review.body.pr.tracking, false)
    assert.is(review.body.github.state, 'closed')
    const ticket = await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}`)
    assert.is(ticket.body.column_id, 'in_review', 'a closed PR does not finish the ticket')
    const late = issueCommentEvent(gh, s, 'alice', 'One more thing')
    const ignored = await deliver(t, 'issue_comment', late.payload)
    assert.match(ignored.body.ignored, /no longer tracked/)
    assert.is((await reviewJobs(t, s.projectId)).length, 0)
  })

  test('an approving review from a writer is shown; approvals start no job', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    const review = gh.state.addReview(s.repo, s.number, 'alice', 'APPROVED', 'Looks good')
    const res = await deliver(t, 'pull_request_review', {
      action: 'submitted', review: { ...review, state: 'approved' }, pull_request: { number: s.number }, repository: { full_name: s.repo },
    })
    assert.is(res.body.ignored_reason, 'approval')
    const [pr] = await reviewOf(t, s.projectId)
    assert.is(pr.approved, true)
    assert.is((await reviewJobs(t, s.projectId)).length, 0)
    // An inline review comment from a writer is work, with where it was made.
    const inline = gh.state.addReviewComment(s.repo, s.number, 'alice', 'Use a constant here', 'src/app.ts', 12)
    const inlineRes = await deliver(t, 'pull_request_review_comment', {
      action: 'created', comment: inline, pull_request: { number: s.number }, repository: { full_name: s.repo },
    })
    assert.ok(inlineRes.body.job_id)
    const [job] = await reviewJobs(t, s.projectId)
    assert.match(job.comment_body, /src\/app\.ts line 12/)
  })

  test('review endpoints: summary, commits, files, comments; post a comment; merge', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    const repo = gh.state.repo(s.repo)!
    repo.pullCommits[s.number] = [{ sha: 'a'.repeat(40), commit: { message: 'Add health endpoint', author: { name: 'agent', date: '2024-01-01T00:00:00Z' } } }]
    repo.pullFiles[s.number] = [{ filename: 'src/health.ts', status: 'added', additions: 10, deletions: 0, changes: 10, patch: '@@ +1 @@' }]
    const posted = await t.api('POST', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review/comment`, { body: 'Noted, thanks', trigger_review: false })
    assert.is(posted.status, 201, JSON.stringify(posted.body))
    assert.is(posted.body.ignored_reason, 'own_reply')
    assert.is(posted.body.job_id, null)
    const review = await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review`)
    assert.is(review.status, 200, JSON.stringify(review.body))
    assert.is(review.body.github.number, s.number)
    assert.is(review.body.github.head, `ticket-${s.ticketId}`)
    assert.is(review.body.commits[0].message, 'Add health endpoint')
    assert.is(review.body.files[0].filename, 'src/health.ts')
    assert.is(review.body.comments.length, 1)
    assert.is(review.body.comments[0].status, 'ignored')
    assertError(await t.api('POST', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review/merge`, { method: 'fast-forward' }), 400, '/body/method')
    assertError(await t.api('POST', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review/comment`, {}), 400, '/body/body')
    const merged = await t.api('POST', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review/merge`, { method: 'squash' })
    assert.is(merged.status, 200, JSON.stringify(merged.body))
    assert.is(merged.body.merged, true)
    assert.is(merged.body.ticket.column_id, 'done')
    assert.is(merged.body.pr.state, 'merged')
    assert.ok(gh.requests.some((r) => r.method === 'PUT' && r.path.endsWith(`/pulls/${s.number}/merge`)))
    assertError(await t.api('POST', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review/merge`, {}), 409)
  })

  test('GitHub failures are clear 4xx/502 answers, never 500', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    // GitHub refuses the merge (closed behind the app's back).
    gh.state.closePull(s.repo, s.number)
    const refused = await t.api('POST', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review/merge`, {})
    assertError(refused, 409)
    assert.match(refused.body.error.message, /GitHub 405/)
    // A PR GitHub does not know (the ticket reports another number; it is tracked on the way).
    await t.app.ctx.sql`update tickets set pr_number = 4242 where id = ${s.ticketId}`
    const missing = await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review`)
    assertError(missing, 404)
    assert.match(missing.body.error.message, /not found on GitHub/)
    // GitHub unreachable.
    await t.api('PUT', '/api/settings', { values: { GITHUB_API_URL: 'http://127.0.0.1:9' } })
    try {
      const down = await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}/review`)
      assertError(down, 502)
      assert.match(down.body.error.message, /unreachable/)
    } finally {
      await t.api('PUT', '/api/settings', { values: { GITHUB_API_URL: null } })
    }
    // A ticket without a PR.
    const plain = await createTicket(t, s.projectId)
    assertError(await t.api('GET', `/api/projects/${s.projectId}/tickets/${plain.id}/review`), 404)
  })

  test.run()

  const poll = suite<Ctx>(`review poller (${kind})`)
  poll.before(async (context) => {
    Object.assign(context, await startReviewApp(kind, { REVIEW_POLL_INTERVAL_SEC: '1' }))
  })
  poll.after(async ({ t, gh }) => {
    await t.close()
    await gh.close()
  })

  poll('without any webhook, the poller picks a comment up on its next cycle', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    const comment = gh.state.addComment(s.repo, s.number, 'alice', 'Polled: handle the empty list')
    const inline = gh.state.addReviewComment(s.repo, s.number, 'alice', 'Polled inline', 'a.ts', 3)
    const job = await waitFor(async () => (await reviewJobs(t, s.projectId))[0], 15000, 'a review job from polling')
    assert.is(job.github_comment_id, comment.id)
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: s.projectId, coordinator_id: 'c1' })
    await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq })
    const second = await waitFor(async () => (await reviewJobs(t, s.projectId))[1], 15000, 'the inline comment\'s job')
    assert.is(second.github_comment_id, inline.id)
    // Incremental: `since` on comment lists, and unchanged lists answered 304 to If-None-Match.
    await waitFor(async () => gh.requests.some((r) => r.path.includes(`/issues/${s.number}/comments`) && r.path.includes('since=') && r.status === 304), 15000, 'a 304 on an incremental poll')
  })

  poll('the poller sees a merge made on GitHub → ticket in Done', async ({ t, gh }) => {
    const s = await ticketWithPr({ t, gh })
    gh.state.mergePull(s.repo, s.number)
    await waitFor(async () => (await t.api('GET', `/api/projects/${s.projectId}/tickets/${s.ticketId}`)).body.column_id === 'done', 15000, 'ticket in Done')
    const [pr] = await reviewOf(t, s.projectId)
    assert.is(pr.state, 'merged')
    assert.is(pr.tracking, false)
  })

  poll.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
