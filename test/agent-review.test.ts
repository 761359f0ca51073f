/**
 * The review flow end to end: from a writer's comment picked up by the review poller, and from
 * review jobs inserted directly (for the agent's own cases); a job is claimed through the worker API; the agent checks out the
 * PR's own head branch, has the worker address the comment, pushes to that branch and replies on
 * the PR with the hidden marker. Worker: the real Claude Code CLI against the fake LLM.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import { GIT_IDENTITY } from './fixtures/git-http.ts'
import { REPLY_MARKER } from '../core/agent/review-flow.ts'
import { reviewCycle } from '../core/services/review/loop.ts'
import { trackNewPrs } from '../core/services/review/prs.ts'
import { claimJob, cliDirs, createTicket, getTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, ticketEvents, type World } from './bench/agent-harness.ts'
import { assertWorldClean } from './secret-scan.ts'

let world: World
let claude: string

/** Writes HEALTH.md for a ticket prompt, READY.md when the prompt quotes a comment asking for it. */
function script(request: LlmRequest): Reply {
  if (request.lastIsToolResult || request.tools.length === 0) return { text: 'Done as asked.' }
  const review = request.lastUserText.includes('A reviewer left this comment')
  const call = review && request.lastUserText.includes('READY.md')
    ? writeFileCall(request, 'READY.md', 'ready\n')
    : writeFileCall(request, 'HEALTH.md', 'healthy\n')
  return { toolCalls: [call!] }
}

test.before(async () => {
  claude = cliDirs().get('claude')!
  world = await startWorld({ script, settings: { WORKER_MODE: 'claude-code' } })
})

test.after(async () => {
  await world?.close()
})

test('ingestion end to end: a writer\'s PR comment becomes a review job, the agent answers it, its own reply starts nothing', async () => {
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const ticket = await createTicket(world, { title: 'Health file, reviewed through the poller' })
  const first = await runAndClaim(world, ticket.id)
  assert.is((await runAgentProcess(world, first, { path: [claude] })).code, 0)
  const repo = world.gh.state.repo('acme/widgets')!
  const branch = `ticket-${ticket.id}`
  const pull = repo.pulls.find((p) => p.head.ref === branch)!
  const ctx = world.t.app.ctx
  await reviewCycle(ctx) // starts tracking the PR the agent reported

  repo.permissions['maintainer'] = 'write'
  const comment = world.gh.state.addComment(repo, pull.number, 'maintainer', 'Please also add READY.md saying ready.')
  await reviewCycle(ctx) // the poller's next cycle: no webhook involved
  const job = await claimJob(world)
  assert.is(job.kind, 'review')
  assert.is(job.ticket_id, ticket.id)
  assert.is(job.github_comment_id, comment.id)
  const result = await runAgentProcess(world, job, { path: [claude] })
  assert.is(result.code, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)
  assert.is(remoteGit(world, ['show', `${branch}:READY.md`]), 'ready\n')
  const replies = repo.comments.filter((c) => c.issue_number === pull.number && c.body.includes(REPLY_MARKER))
  assert.is(replies.length, 1, 'the agent replied on the PR with the marker')

  await reviewCycle(ctx) // sees the agent's reply
  const [{ n }] = await ctx.sql`select count(*)::int as n from agent_jobs where ticket_id = ${ticket.id} and kind = 'review'`
  assert.is(n, 1, 'the app does not enqueue a job for its own reply')
  const [stored] = await ctx.sql`select ignored_reason, addressed_at from pr_review_comments where github_id = ${comment.id}`
  assert.ok(stored?.addressed_at, 'the comment is marked addressed')
})

/** Inserts a pending review job for the ticket, then claims it as a coordinator would. */
async function reviewJob(ticketId: number, prNumber: number, comment: { id: number; body: string }) {
  // A review job pushes only for a PR the app tracks for its ticket, as dispatched ones are.
  await trackNewPrs(world.t.app.ctx)
  await world.t.app.ctx.sql`
    insert into agent_jobs (project_id, ticket_id, kind, pr_number, comment_body, github_comment_id)
    values (${world.projectId}, ${ticketId}, 'review', ${prNumber}, ${comment.body}, ${comment.id})`
  const job = await claimJob(world)
  assert.is(job.kind, 'review')
  assert.is(job.pr_number, prNumber)
  return job
}

test('a review comment is addressed on the PR branch and answered with the marker', async () => {
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const ticket = await createTicket(world, { title: 'Health file for review' })
  const first = await runAndClaim(world, ticket.id)
  assert.is((await runAgentProcess(world, first, { path: [claude] })).code, 0)
  const branch = `ticket-${ticket.id}`
  const before = remoteGit(world, ['rev-parse', branch])!.trim()
  const repo = world.gh.state.repo('acme/widgets')!
  const pull = repo.pulls.find((p) => p.head.ref === branch)!

  const comment = world.gh.state.addComment(repo, pull.number, 'reviewer', 'Please also add READY.md saying ready.')
  const job = await reviewJob(ticket.id, pull.number, comment)
  const result = await runAgentProcess(world, job, { path: [claude] })
  assert.is(result.code, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)

  // Pushed to the same branch, on top of the PR's head; no new branch, no new PR.
  assert.is(remoteGit(world, ['rev-parse', `${branch}~1`])!.trim(), before)
  assert.is(remoteGit(world, ['show', `${branch}:READY.md`]), 'ready\n')
  assert.is(remoteGit(world, ['show', `${branch}:HEALTH.md`]), 'healthy\n')
  assert.match(remoteGit(world, ['log', '-1', '--format=%s', branch]) ?? '', `Address review comment on #${pull.number} (${comment.id})`)
  assert.is(repo.pulls.filter((p) => p.head.ref === branch).length, 1)

  const replies = repo.comments.filter((c) => c.issue_number === pull.number && c.body.includes(REPLY_MARKER))
  assert.is(replies.length, 1)
  assert.is(replies[0]!.user.login, 'terarchitect-bot')
  assert.match(replies[0]!.body, '> Please also add READY.md saying ready.')

  const events = (await ticketEvents(world, ticket.id)).filter((e) => e.job_id === job.job_id)
  const addressed = events.find((e) => e.event?.kind === 'review_comment_addressed')
  assert.ok(addressed, 'the comment is reported addressed')
  assert.is(addressed!.event!.github_comment_id, comment.id)
  assert.is(addressed!.event!.reply_id, replies[0]!.id)
  assert.ok(events.some((e) => e.step === 'branch' && e.summary.startsWith(`on ${branch} of PR #${pull.number}`)))
  assert.is((await getTicket(world, ticket.id)).column_id, 'in_review')
})

test('the PR head branch is used whatever its name (a branch a person created)', async () => {
  const ticket = await createTicket(world, { title: 'Human branch' })
  // A person pushed feature/health and opened the PR by hand.
  const work = mkdtempSync(join(tmpdir(), 'review-seed-'))
  const git = (...args: string[]) => spawnSync('git', args, { cwd: work, env: { ...process.env, ...GIT_IDENTITY }, encoding: 'utf8' })
  try {
    git('clone', '-q', world.bare, '.')
    git('checkout', '-q', '-b', 'feature/health')
    writeFileSync(join(work, 'HEALTH.md'), 'healthy\n')
    git('add', '.')
    git('commit', '-q', '-m', 'health by hand')
    assert.is(git('push', '-q', 'origin', 'feature/health').status, 0)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  const repo = world.gh.state.repo('acme/widgets')!
  const pull = world.gh.state.createPull(repo, { title: 'Health by hand', head: 'feature/health', base: 'main' }, 'someone')
  const comment = world.gh.state.addComment(repo, pull.number, 'reviewer', 'Add READY.md too.')
  // The ticket is linked to that PR (as when its agent's PR was renamed or a person opened it for
  // the ticket): review jobs exist only for PRs the app tracks, and push only to those.
  await world.t.app.ctx.sql`update tickets set pr_number = ${pull.number} where id = ${ticket.id}`
  const job = await reviewJob(ticket.id, pull.number, comment)
  const result = await runAgentProcess(world, job, { path: [claude] })
  assert.is(result.code, 0, result.stdout.slice(-3000))
  assert.is(remoteGit(world, ['show', 'feature/health:READY.md']), 'ready\n')
  assert.is(remoteGit(world, ['rev-parse', '--verify', '-q', `ticket-${ticket.id}`]), null, 'no ticket branch was made')
  assert.ok(repo.comments.some((c) => c.issue_number === pull.number && c.body.startsWith(REPLY_MARKER)))
})

test('a review of a closed PR fails with the reason and pushes nothing', async () => {
  const ticket = await createTicket(world, { title: 'Closed PR' })
  const repo = world.gh.state.repo('acme/widgets')!
  const pull = world.gh.state.createPull(repo, { title: 'Closed', head: 'main', base: 'main' }, 'someone')
  world.gh.state.closePull(repo, pull.number)
  const job = await reviewJob(ticket.id, pull.number, { id: 1, body: 'Too late.' })
  const result = await runAgentProcess(world, job, { path: [claude] })
  assert.is(result.code, 1)
  const events = (await ticketEvents(world, ticket.id)).filter((e) => e.job_id === job.job_id)
  assert.match(events.find((e) => e.step === 'error')?.summary ?? '', `PR #${pull.number} is closed`)
})

test('nothing the suite stored holds a secret: database, fake GitHub, app log, agent output', async () => {
  assert.ok(world, 'the suite ran agents')
  await assertWorldClean(world)
})

test.run()
