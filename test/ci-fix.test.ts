// test-runner: slow
/**
 * CI auto-fix (docs/ci-fix.md). End to end on the fake GitHub (PostgreSQL 15) and the fake GitLab
 * (PGlite), each running "CI" on every push to a branch with an open request (a check that fails
 * unless FIXED exists on the head commit, read with real git): the real agent (local mode, Claude
 * Code against the scripted LLM) opens the request; its checks fail; the follower queues ONE ci_fix
 * job with the failing check (name, summary, redacted log excerpt) in its prompt; the agent pushes
 * a fix to the same branch and comments with the marker; the checks pass and nothing more starts.
 * A check that keeps failing stops at CI_FIX_MAX_ROUNDS (the app's 2 on GitHub, a project's 1 on
 * GitLab), the ticket's CI view says so and `ci_fix.exhausted` is queued for the subscribed endpoint.
 * Then, on the GitHub world with requests set up directly (no agent run): merged or closed → nothing;
 * a person's newer commit (or one the request's commit list does not show) → nothing; a person's
 * push after the round was queued → the job fixes nothing (no worker turn) and the new head is
 * theirs; checks that never start → reported after the timeout; a webhook and the poller racing →
 * one job; a token in a log excerpt never stored; the route's refusals.
 * About 1-2 min (seven real agent runs, and one that stops before its worker).
 *   node --import ./scripts/ts-register.mjs test/ci-fix.test.ts
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { REPLY_MARKER } from '../core/agent/review-flow.ts'
import { ciCycle } from '../core/services/ci-fix/loop.ts'
import { followPr } from '../core/services/ci-fix/follow.ts'
import { recordFinding } from '../core/services/ci-fix/record.ts'
import { ciFixSettings } from '../core/services/ci-fix/settings.ts'
import { reviewAccess } from '../core/services/review/forge.ts'
import { maskCredentials } from '../core/services/ci-fix/excerpt.ts'
import { handleWebhook } from '../core/services/review/webhook.ts'
import { trackNewPrs } from '../core/services/review/prs.ts'
import { recordRelayPush } from '../core/services/relay-pushes.ts'
import type { Job } from '../core/types.ts'
import { writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import { requireFile, type Ci } from './fixtures/fake-ci-checks.ts'
import { enableGithubCi } from './fixtures/fake-github-checks.ts'
import { enableGitlabCi } from './fixtures/fake-gitlab-checks.ts'
import { webhookDelivery } from './fixtures/fake-github.ts'
import { GIT_IDENTITY } from './fixtures/git-http.ts'
import { claimJob, cliDirs, createTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, type World } from './bench/agent-harness.ts'
import type { ClaimedJob } from '../core/coordinator/client.ts'
import { stopOwnCluster, waitFor } from './helpers.ts'
import { github as githubPlugin } from '../plugins/forges/github/index.ts'
import { gitlab as gitlabPlugin } from '../plugins/forges/gitlab/index.ts'
import { gitea as giteaPlugin } from '../plugins/forges/gitea/index.ts'

/** A token shape no setting holds (masked by shape) and, per world, the forge token itself (masked as a known secret). */
const LEAKED_SHAPE = `ghp_${'Z9'.repeat(18)}`
const logOf = (w: World) => `npm test\nFAIL test/health.test.js\n  Error: FIXED is missing\n  at deploy with token ${LEAKED_SHAPE} and ${w.secrets.githubToken}\n`

/** Ticket prompts write HEALTH.md; CI-fix prompts write FIXED, unless the ticket is "Keeps failing" (then a file that fixes nothing). */
function script(request: LlmRequest): Reply {
  if (request.lastIsToolResult || request.tools.length === 0) return { text: 'Done as asked.' }
  const ciFix = request.lastUserText.includes('The CI checks of this pull request failed')
  if (!ciFix) return { toolCalls: [writeFileCall(request, 'HEALTH.md', 'healthy\n')!] }
  if (request.lastUserText.includes('Keeps failing')) return { toolCalls: [writeFileCall(request, 'ATTEMPT.md', `attempt ${Date.now()}\n`)!] }
  return { toolCalls: [writeFileCall(request, 'FIXED', 'fixed\n')!] }
}

interface Forge {
  world: World
  ci: Ci
  stopCi(): void
  /** The open request of `ticket-<id>`: its number and the bodies of its comments. */
  request(ticketId: number): { number: number; comments: string[] } | null
}

let claude = ''

async function githubForge(): Promise<Forge> {
  const world = await startWorld({ script, database: 'postgres', settings: { WORKER_MODE: 'claude-code' } })
  const { ci, stop } = enableGithubCi(world.gh.state, 'acme/widgets', { gitRoot: world.git.root, name: 'ci/test', script: requireFile('FIXED', logOf(world)) })
  return {
    world, ci, stopCi: stop,
    request(ticketId) {
      const repo = world.gh.state.repo('acme/widgets')!
      const pull = repo.pulls.find((p) => p.head.ref === `ticket-${ticketId}`)
      return pull ? { number: pull.number, comments: repo.comments.filter((c) => c.issue_number === pull.number).map((c) => c.body) } : null
    },
  }
}

async function gitlabForge(): Promise<Forge> {
  const world = await startWorld({ script, forge: 'gitlab', settings: { WORKER_MODE: 'claude-code' } })
  const { ci, stop } = enableGitlabCi(world.gitlab!.state, 'acme/widgets', { gitRoot: world.git.root, name: 'test', script: requireFile('FIXED', logOf(world)) })
  return {
    world, ci, stopCi: stop,
    request(ticketId) {
      const mr = world.gitlab!.state.project('acme/widgets')!.mrs.find((m) => m.source_branch === `ticket-${ticketId}`)
      return mr ? { number: mr.iid, comments: mr.notes.map((n) => n.body) } : null
    },
  }
}

const ciJobs = async (w: World, ticketId: number) =>
  w.t.app.ctx.sql`select id, status from agent_jobs where ticket_id = ${ticketId} and kind = 'ci_fix' order by id`

/** Runs follower cycles (the poller's guarantee) until the ticket has `count` ci_fix jobs, then claims the newest. */
async function nextCiJob(w: World, ticketId: number, count: number) {
  await waitFor(async () => {
    await ciCycle(w.t.app.ctx)
    return (await ciJobs(w, ticketId)).length >= count
  }, 20_000, `ci_fix job ${count} of ticket ${ticketId}`)
  const job = await claimJob(w)
  assert.is(job.kind, 'ci_fix')
  assert.is(job.ticket_id, ticketId)
  return job
}

/** Follower cycles until the ticket's newest CI record has `outcome`. */
async function outcome(w: World, ticketId: number, wanted: string) {
  return waitFor(async () => {
    await ciCycle(w.t.app.ctx)
    const [row] = await w.t.app.ctx.sql`select * from ci_rounds where ticket_id = ${ticketId} order by id desc limit 1`
    return row?.outcome === wanted ? row : null
  }, 20_000, `CI outcome ${wanted} on ticket ${ticketId}`)
}

const ciView = async (w: World, ticketId: number) => (await w.t.api('GET', `/api/projects/${w.projectId}/tickets/${ticketId}/ci`, undefined, w.people)).body

async function subscribeExhausted(w: World): Promise<void> {
  const res = await w.t.api('POST', '/api/notifications/endpoints', { url: 'http://127.0.0.1:9/hook', events: ['ci_fix.exhausted'] }, w.people)
  assert.is(res.status, 201, JSON.stringify(res.body))
}

/** Acceptance 1 on one forge: fixed in one round; and a check that keeps failing stops at the cap. */
function endToEnd(name: string, start: () => Promise<Forge>, cap: { project?: number; expected: number }) {
  const s = suite<{ f: Forge }>(`ci-fix end to end: ${name}`)
  s.before(async (ctx) => {
    claude = cliDirs().get('claude') ?? ''
    ctx.f = await start()
    if (cap.project !== undefined) {
      const res = await ctx.f.world.t.api('PUT', `/api/projects/${ctx.f.world.projectId}/settings`, { values: { CI_FIX_MAX_ROUNDS: cap.project } }, ctx.f.world.people)
      assert.is(res.status, 200, JSON.stringify(res.body))
    }
    await subscribeExhausted(ctx.f.world)
  })
  s.after(async ({ f }) => {
    f?.stopCi()
    await f?.world.close()
    // The PostgreSQL cluster this file started when run alone (the runner shares one instead): its
    // server process would keep this process alive after the last test.
    await stopOwnCluster()
  })

  s('a failing check gets one ci_fix job that pushes a fix; the check passes and no further job starts', async ({ f }) => {
    if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
    const w = f.world
    const ticket = await createTicket(w, { title: 'Add a health file' })
    assert.is((await runAgentProcess(w, await runAndClaim(w, ticket.id), { path: [claude] })).code, 0)
    const request = f.request(ticket.id)!
    assert.ok(request, 'the agent opened the request')
    const job = await nextCiJob(w, ticket.id, 1)
    assert.is(job.pr_number, request.number)
    const result = await runAgentProcess(w, job, { path: [claude] })
    assert.is(result.code, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)
    const branch = `ticket-${ticket.id}`
    assert.is(remoteGit(w, ['show', `${branch}:FIXED`]), 'fixed\n', 'the fix is on the same branch')
    assert.is(f.request(ticket.id)!.number, request.number, 'no new request')
    const comment = f.request(ticket.id)!.comments.find((body) => body.includes(REPLY_MARKER) && body.includes('CI fix, round 1'))
    assert.ok(comment, 'the request says what was fixed, with the marker')
    const passed = await outcome(w, ticket.id, 'passed')
    assert.is(passed.sha, remoteGit(w, ['rev-parse', branch])!.trim())
    await ciCycle(w.t.app.ctx)
    assert.is((await ciJobs(w, ticket.id)).length, 1, 'no further job')
    const view = await ciView(w, ticket.id)
    assert.equal(view.rounds.map((r: any) => r.outcome), ['passed', 'fixed'])
    assert.is(view.rounds[1].failing[0].name, f.ci.config.name)
    // The prompt had the failing check and its log, redacted; no token reached the LLM.
    const prompts = JSON.stringify(w.llm.llmCalls().map((call) => call.body))
    assert.ok(prompts.includes('FIXED is missing'), 'the log excerpt reached the prompt')
    assert.not.ok(prompts.includes(LEAKED_SHAPE), 'a token-shaped string is masked')
    assert.not.ok(prompts.includes(w.secrets.githubToken), 'the forge token is masked')
  })

  s(`a check that keeps failing stops at the cap (${cap.expected}); the ticket says so and ci_fix.exhausted is queued`, async ({ f }) => {
    if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
    const w = f.world
    const ticket = await createTicket(w, { title: 'Keeps failing' })
    assert.is((await runAgentProcess(w, await runAndClaim(w, ticket.id), { path: [claude] })).code, 0)
    for (let round = 1; round <= cap.expected; round++) {
      const job = await nextCiJob(w, ticket.id, round)
      assert.is((await runAgentProcess(w, job, { path: [claude] })).code, 0)
    }
    const last = await outcome(w, ticket.id, 'exhausted')
    assert.match(last.reason, `CI_FIX_MAX_ROUNDS (${cap.expected}) reached`)
    await ciCycle(w.t.app.ctx)
    assert.is((await ciJobs(w, ticket.id)).length, cap.expected, 'rounds stop at the cap')
    const view = await ciView(w, ticket.id)
    assert.is(view.exhausted, true)
    assert.is(view.rounds_used, cap.expected)
    assert.is(view.max_rounds, cap.expected)
    const [delivery] = await w.t.app.ctx.sql`select body from notification_deliveries where event = 'ci_fix.exhausted' and (body->'ticket'->>'id')::int = ${ticket.id}`
    assert.ok(delivery, 'ci_fix.exhausted is queued for the subscribed endpoint')
    assert.is(delivery!.body.ci.rounds, cap.expected)
    const events = (await w.t.api('GET', `/api/projects/${w.projectId}/tickets/${ticket.id}/logs?limit=1000`, undefined, w.people)).body.events
    assert.ok(events.some((e: any) => e.event?.kind === 'ci_exhausted'), 'the ticket\'s log says the cap was reached')
  })
  return s
}

/**
 * A request "the agent opened" without running it: branch `ticket-<id>` pushed with one commit by
 * `author` (the agent's git name unless said otherwise), the pull request opened by the app's user,
 * the ticket's job recorded as its opener, tracked; then waits for its CI run to finish (unless
 * `wait` is false). The commit goes through the app's git relay with the ticket's running job's
 * token, as the agent pushes; `direct`: straight to the git host instead, as a person with push
 * access would.
 */
async function agentPr(f: Forge, title: string, options: { author?: string; wait?: boolean; direct?: boolean } = {}) {
  const w = f.world
  const ctx = w.t.app.ctx
  const ticket = await createTicket(w, { title })
  const branch = `ticket-${ticket.id}`
  let jobId: number
  let sha: string
  if (options.direct) {
    sha = await pushCommit(w, branch, options.author ?? 'Terarchitect', title, { create: true })
    const [job] = await ctx.sql`insert into agent_jobs (project_id, ticket_id, kind, status, finished_at) values (${w.projectId}, ${ticket.id}, 'ticket', 'succeeded', now()) returning id`
    jobId = job!.id as number
  } else {
    const job = await runAndClaim(w, ticket.id)
    assert.is(job.ticket_id, ticket.id)
    sha = await pushCommit(w, branch, options.author ?? 'Terarchitect', title, { create: true, job })
    await ctx.sql`update agent_jobs set status = 'succeeded', finished_at = now() where id = ${job.job_id}`
    jobId = job.job_id
  }
  const pull = w.gh.state.createPull('acme/widgets', { title, head: branch, base: 'main' }, 'terarchitect-bot')
  await ctx.sql`update tickets set pr_number = ${pull.number}, pr_url = ${pull.html_url} where id = ${ticket.id}`
  await ctx.sql`update agent_jobs set pr_number = ${pull.number} where id = ${jobId}`
  await trackNewPrs(ctx)
  const [pr] = await ctx.sql`select id from prs where ticket_id = ${ticket.id}`
  if (options.wait !== false) await waitFor(async () => f.ci.runsOf(sha).some((r) => r.stage === 'done'), 10_000, `CI of ${sha}`)
  return { ticketId: ticket.id, number: pull.number, sha, prId: pr!.id as number, jobId }
}

/**
 * One commit by `author` pushed to `branch` (created from main when `create`): straight to the git
 * host, or with `job` through the app's git relay with that job's token (a credential helper, as
 * the agent's). Answers the commit; the push must succeed, or with `refused` must fail.
 */
async function pushCommit(w: World, branch: string, author: string, title: string, options: { create?: boolean; job?: ClaimedJob; refused?: boolean } = {}): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'ci-fix-seed-'))
  const env: Record<string, string | undefined> = { ...process.env, ...GIT_IDENTITY, GIT_AUTHOR_NAME: author, GIT_COMMITTER_NAME: author, GIT_TERMINAL_PROMPT: '0' }
  const helper = options.job ? ['-c', 'credential.helper=', '-c', 'credential.helper=!f() { echo username=job; echo "password=$RELAY_TEST_TOKEN"; }; f'] : []
  if (options.job) env.RELAY_TEST_TOKEN = options.job.agent_token
  const remote = options.job ? `${w.t.url}/api/relay/git/${w.projectId}/${options.job.ticket_id}/repo.git` : w.bare
  // Not spawnSync: the relay is served by this very process.
  const git = (...args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile('git', [...helper, ...args], { cwd: work, env, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }))
  })
  try {
    const cloned = await git('clone', '-q', '--', remote, '.')
    assert.is(cloned.status, 0, cloned.stderr)
    await git('checkout', '-q', ...(options.create ? ['-b', branch] : [branch]))
    writeFileSync(join(work, `${title.replace(/\W+/g, '-')}.md`), `${title}\n`)
    await git('add', '.')
    await git('commit', '-q', '-m', title)
    const pushed = await git('push', '-q', 'origin', branch)
    if (options.refused) assert.is.not(pushed.status, 0, 'the push is refused')
    else assert.is(pushed.status, 0, pushed.stderr)
    return (await git('rev-parse', 'HEAD')).stdout.trim()
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** The commits the app's git relay recorded for `branch` (what the follower trusts). */
const relayPushes = async (w: World, branch: string) =>
  w.t.app.ctx.sql`select oid, job_id from relay_pushes where project_id = ${w.projectId} and branch = ${branch} order by id`

const rounds = async (w: World, ticketId: number) => w.t.app.ctx.sql`select * from ci_rounds where ticket_id = ${ticketId} order by id`

/**
 * A request whose head the agent's job pushed straight to the git host (no relay record yet),
 * judged `skipped` for want of the record; with the job, for recording the push as the relay would.
 */
async function skippedAgentPr(f: Forge, title: string) {
  const w = f.world
  const pr = await agentPr(f, title, { direct: true })
  assert.is((await outcome(w, pr.ticketId, 'skipped')).sha, pr.sha)
  const [job] = await w.t.app.ctx.sql`select * from agent_jobs where id = ${pr.jobId}`
  return { pr, job: job as unknown as Job }
}

/** The follower (this test's look, or the app's own meanwhile) queues a fix for the commit; the fix job is cancelled. */
async function fixQueued(w: World, ticketId: number) {
  const round = await outcome(w, ticketId, 'fixing')
  assert.ok(round.job_id, JSON.stringify(round))
  assert.is((await w.t.api('POST', `/api/jobs/${round.job_id}/cancel`, undefined, w.people)).status, 200)
}

const github = endToEnd('GitHub', githubForge, { expected: 2 })

github('a merged or closed request gets nothing, though its checks fail', async ({ f }) => {
  const w = f.world
  const merged = await agentPr(f, 'Merged before CI')
  const closed = await agentPr(f, 'Closed before CI')
  w.gh.state.mergePull('acme/widgets', merged.number)
  w.gh.state.closePull('acme/widgets', closed.number)
  await ciCycle(w.t.app.ctx)
  await ciCycle(w.t.app.ctx)
  for (const pr of [merged, closed]) {
    assert.is((await rounds(w, pr.ticketId)).length, 0, 'no CI record')
    assert.is((await ciJobs(w, pr.ticketId)).length, 0, 'no ci_fix job')
  }
  const [row] = await w.t.app.ctx.sql`select state, tracking from prs where id = ${merged.prId}`
  assert.equal({ ...row }, { state: 'merged', tracking: false })
})

github('a person\'s commit at the head (pushed straight to the git host): nothing, and the record names them', async ({ f }) => {
  const w = f.world
  const pr = await agentPr(f, 'A person pushed', { author: 'Alice Person', direct: true })
  const skipped = await outcome(w, pr.ticketId, 'skipped')
  assert.match(skipped.reason, 'Alice Person')
  assert.match(skipped.reason, 'was not pushed by the agent')
  assert.is((await ciJobs(w, pr.ticketId)).length, 0)
})

github('a commit written under the agent\'s name but pushed by a person straight to the git host is not the agent\'s: nothing', async ({ f }) => {
  const w = f.world
  const pr = await agentPr(f, 'Posing as the agent', { direct: true })
  // The request's commit list shows the agent's git name on the head commit: a name anyone can write.
  const { client } = await reviewAccess(w.t.app.ctx, w.projectId)
  assert.equal((await client!.requestCommits('acme/widgets', pr.number)).map((c) => [c.sha, c.author]), [[pr.sha, 'Terarchitect']])
  assert.equal([...await relayPushes(w, `ticket-${pr.ticketId}`)], [], 'the relay saw no push of it')
  const skipped = await outcome(w, pr.ticketId, 'skipped')
  assert.is(skipped.sha, pr.sha)
  assert.match(skipped.reason, `the head commit ${pr.sha.slice(0, 10)} by Terarchitect was not pushed by the agent`)
  assert.match(skipped.reason, `no job of this project pushed it to ticket-${pr.ticketId} through the app's git relay`)
  await ciCycle(w.t.app.ctx)
  assert.is((await ciJobs(w, pr.ticketId)).length, 0, 'no ci_fix job')
})

github('a forge event that reaches the follower before the relay records the agent\'s push: the skip is forgotten with the record, and the next look queues the fix', async ({ f }) => {
  const w = f.world
  const ctx = w.t.app.ctx
  // The commit reached the git host; the relay's record of it is not written yet (simulated by a
  // direct push, whose job the record names a moment later, as the relay would).
  const { pr, job } = await skippedAgentPr(f, 'Record written late')
  await recordRelayPush(ctx, job, `ticket-${pr.ticketId}`, pr.sha)
  assert.is((await rounds(w, pr.ticketId)).length, 0, 'the skip made for want of the record is gone')
  const found = await followPr(ctx, pr.prId)
  assert.is(found.round?.outcome, 'fixing', JSON.stringify(found))
  assert.equal((await ciJobs(w, pr.ticketId)).map((j) => j.id), [found.jobId])
  assert.is((await w.t.api('POST', `/api/jobs/${found.jobId}/cancel`, undefined, w.people)).status, 200)
})

github('the relay\'s record landing while the follower judges the commit: a skip the follower decided before it is not written, and the next look queues the fix', async ({ f }) => {
  const w = f.world
  const ctx = w.t.app.ctx
  const { pr, job } = await skippedAgentPr(f, 'Record lands mid-look')
  await recordRelayPush(ctx, job, `ticket-${pr.ticketId}`, pr.sha)
  // A follower that read relay_pushes before the record and writes its finding after it.
  const late = await recordFinding(ctx, pr.prId, pr.sha, { kind: 'person', branch: `ticket-${pr.ticketId}`, author: null }, await ciFixSettings(ctx, w.projectId))
  assert.is(late.round, null, JSON.stringify(late))
  assert.equal((await rounds(w, pr.ticketId)).filter((row) => row.outcome === 'skipped'), [], 'no skip written against the record')
  await fixQueued(w, pr.ticketId)
})

github('the relay\'s record arriving while the follower holds the request writing a skip: the record waits for it, then forgets the skip', async ({ f }) => {
  const w = f.world
  const ctx = w.t.app.ctx
  const { pr, job } = await skippedAgentPr(f, 'Record waits for the follower')
  await ctx.sql`delete from ci_rounds where pr_id = ${pr.prId}`
  let recorded: Promise<void> | undefined
  let recordedAt = 0
  // The follower's write (record.ts): the request's row held, the skip written, committed a moment later.
  await ctx.sql.begin(async (tx) => {
    await tx`select id from prs where id = ${pr.prId} for update`
    await tx`insert into ci_rounds (pr_id, project_id, ticket_id, sha, outcome, reason) values (${pr.prId}, ${w.projectId}, ${pr.ticketId}, ${pr.sha}, 'skipped', 'not pushed by the agent')`
    recorded = recordRelayPush(ctx, job, `ticket-${pr.ticketId}`, pr.sha).then(() => void (recordedAt = Date.now()))
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.is(recordedAt, 0, 'the record waited for the follower\'s write')
  })
  await recorded
  // The app's own follower may have looked meanwhile (and waited on the same row): it leaves the commit waiting, never skipped.
  assert.equal((await rounds(w, pr.ticketId)).filter((row) => row.outcome !== 'waiting').map((row) => row.outcome), [], 'the skip made for want of the record is gone')
  await fixQueued(w, pr.ticketId)
})

github('the agent\'s push through the relay is recorded with its job and gets the fix job, whatever the commit list shows; a person\'s unlisted commit is named as such', async ({ f }) => {
  const w = f.world
  const ctx = w.t.app.ctx
  const pr = await agentPr(f, 'Head not listed', { author: 'Someone Else' })
  assert.equal((await relayPushes(w, `ticket-${pr.ticketId}`)).map((row) => ({ ...row })), [{ oid: pr.sha, job_id: pr.jobId }])
  const { client } = await reviewAccess(ctx, w.projectId)
  // The list without the head commit (a request past the forge's listing cap, say): the relay's record is what counts.
  const unlisted = { ...client!, requestCommits: async (repo: string, n: number) => (await client!.requestCommits(repo, n)).filter((c) => c.sha !== pr.sha) }
  const found = await followPr(ctx, pr.prId, unlisted)
  assert.is(found.round?.outcome, 'fixing', JSON.stringify(found))
  assert.ok(found.jobId, 'a ci_fix job')
  assert.equal((await ciJobs(w, pr.ticketId)).map((job) => job.id), [found.jobId])
  assert.is((await w.t.api('POST', `/api/jobs/${found.jobId}/cancel`, undefined, w.people)).status, 200)
  // A person's commit the list does not show either: skipped, saying the author is not known.
  const person = await agentPr(f, 'Person not listed', { author: 'Alice Person', direct: true })
  const hidden = { ...client!, requestCommits: async (repo: string, n: number) => (await client!.requestCommits(repo, n)).filter((c) => c.sha !== person.sha) }
  const skipped = await followPr(ctx, person.prId, hidden)
  assert.is(skipped.round?.outcome, 'skipped', JSON.stringify(skipped))
  assert.is(skipped.jobId, null)
  assert.match(skipped.round!.reason!, `the head commit ${person.sha.slice(0, 10)} was not pushed by the agent`)
  assert.match(skipped.round!.reason!, 'does not show its author')
  await ciCycle(ctx)
  assert.is((await ciJobs(w, person.ticketId)).length, 0, 'no ci_fix job')
  assert.is((await rounds(w, person.ticketId))[0]!.outcome, 'skipped', 'the poller keeps the record')
})

github('a push the git host refuses (ng) records nothing; the same push accepted is recorded', async ({ f }) => {
  const w = f.world
  const ticket = await createTicket(w, { title: 'Refused by the host' })
  const job = await runAndClaim(w, ticket.id)
  const branch = `ticket-${ticket.id}`
  // The git host's own refusal, after the relay let the push through: its report-status says `ng`.
  const hook = join(w.bare, 'hooks', 'pre-receive')
  writeFileSync(hook, '#!/bin/sh\necho "protected by the host" >&2\nexit 1\n', { mode: 0o755 })
  try {
    const refused = await pushCommit(w, branch, 'Terarchitect', 'Refused push', { create: true, job, refused: true })
    assert.is(remoteGit(w, ['rev-parse', '--verify', '--quiet', branch]), null, 'the host kept nothing')
    assert.equal([...await relayPushes(w, branch)], [], `nothing recorded for ${refused}`)
  } finally {
    rmSync(hook, { force: true })
  }
  const accepted = await pushCommit(w, branch, 'Terarchitect', 'Accepted push', { create: true, job })
  assert.is(remoteGit(w, ['rev-parse', branch])!.trim(), accepted)
  assert.equal((await relayPushes(w, branch)).map((row) => ({ ...row })), [{ oid: accepted, job_id: job.job_id }])
  await w.t.app.ctx.sql`update agent_jobs set status = 'succeeded', finished_at = now() where id = ${job.job_id}`
})

github('a person pushes after the round was queued: the job fixes nothing, and the new head is left to them', async ({ f }) => {
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const w = f.world
  const pr = await agentPr(f, 'Moved under the job')
  const job = await nextCiJob(w, pr.ticketId, 1)
  const head = await pushCommit(w, `ticket-${pr.ticketId}`, 'Alice Person', 'Alice fixes it herself')
  const calls = w.llm.llmCalls().length
  const result = await runAgentProcess(w, job, { path: [claude] })
  assert.is(result.code, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)
  assert.is(w.llm.llmCalls().length, calls, 'the worker never ran')
  assert.is(remoteGit(w, ['rev-parse', `ticket-${pr.ticketId}`])!.trim(), head, 'nothing pushed')
  const [event] = await w.t.app.ctx.sql`select summary from job_events where job_id = ${job.job_id} and event->>'kind' = 'ci_fix_moved'`
  assert.match(String(event?.summary), 'the follower judges the new head')
  await waitFor(async () => f.ci.runsOf(head).some((r) => r.stage === 'done'), 10_000, `CI of ${head}`)
  const person = await outcome(w, pr.ticketId, 'skipped')
  assert.is(person.sha, head)
  assert.match(person.reason, 'Alice Person')
  const [first] = await rounds(w, pr.ticketId)
  assert.is(first!.outcome, 'skipped')
  assert.match(first!.reason, 'the branch moved')
  assert.is((await ciJobs(w, pr.ticketId)).length, 1, 'no further job')
})

github('checks that never start are reported after CI_FIX_START_TIMEOUT_SEC, not waited on', async ({ f }) => {
  const w = f.world
  f.ci.config.mode = 'never'
  await w.settings({ CI_FIX_START_TIMEOUT_SEC: 1 })
  try {
    const pr = await agentPr(f, 'CI never starts', { wait: false })
    await waitFor(async () => f.ci.runsOf(pr.sha).length > 0, 5000, 'the queued run')
    await ciCycle(w.t.app.ctx)
    const [first] = await rounds(w, pr.ticketId)
    assert.is(first?.outcome, 'waiting', 'within the timeout the follower waits')
    const reported = await outcome(w, pr.ticketId, 'not_started')
    assert.match(reported.reason, 'did not start within 1 s')
    assert.is((await ciJobs(w, pr.ticketId)).length, 0)
  } finally {
    f.ci.config.mode = 'run'
    await w.settings({ CI_FIX_START_TIMEOUT_SEC: null })
  }
})

github('a webhook and the poller racing each other queue one job; its log excerpt is stored redacted', async ({ f }) => {
  const w = f.world
  const ctx = w.t.app.ctx
  const pr = await agentPr(f, 'Raced')
  // Two check runs completing (GitHub's check_run deliveries differ by the run's id): one body each.
  const delivery = (id: number) => {
    const signed = webhookDelivery(w.secrets.webhookSecret, 'check_run', {
      action: 'completed', repository: { full_name: 'acme/widgets' },
      check_run: { id, head_sha: pr.sha, status: 'completed', conclusion: 'failure', pull_requests: [{ number: pr.number }] },
    })
    return { headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])), body: signed.body }
  }
  const answers = await Promise.all([
    ciCycle(ctx), handleWebhook(ctx, 'github', delivery(1)), handleWebhook(ctx, 'github', delivery(2)), followPr(ctx, pr.prId), ciCycle(ctx),
  ])
  assert.ok(JSON.stringify(answers[1]).includes('followed'), JSON.stringify(answers[1]))
  const jobs = await ciJobs(w, pr.ticketId)
  assert.is(jobs.length, 1, 'one ci_fix job')
  const records = await rounds(w, pr.ticketId)
  assert.is(records.length, 1)
  assert.is(records[0]!.outcome, 'fixing')
  assert.is(records[0]!.round, 1)
  const excerpt = String(records[0]!.failing[0].excerpt)
  assert.ok(excerpt.includes('FIXED is missing'))
  assert.not.ok(excerpt.includes(LEAKED_SHAPE), 'a token-shaped string is not stored')
  assert.not.ok(excerpt.includes(w.secrets.githubToken), 'the forge token is not stored')
  assert.ok(excerpt.includes('***'))
  assert.is((await w.t.api('POST', `/api/jobs/${jobs[0]!.id}/cancel`, undefined, w.people)).status, 200)
})

github('token shapes in CI text are masked whether or not the app holds them', () => {
  // Credential-shaped test values, built here so no literal in the tree looks like a real one.
  const gl = `glpat-${'abcdefghij'}klmnopqrst`, slack = `xoxb-${'1234567890'}-abcdef`, aws = `AKIA${'ABCDEFGHIJKLMNOP'}`
  const leaked = [gl, 'abcdefghijklmnopqrs', 'pw1234secret', 'hunter2hunter2', slack, aws, LEAKED_SHAPE]
  const text = maskCredentials(`push ${gl}\nAuthorization: Bearer abcdefghijklmnopqrs\nhttps://ci:pw1234secret@git.example/x.git\nDB_PASSWORD=hunter2hunter2\n${slack} ${aws} ${LEAKED_SHAPE}`)
  for (const value of leaked) assert.not.ok(text.includes(value), `${value} in ${text}`)
  assert.ok(text.includes('git.example/x.git'), 'the rest of the text stays')
})

github('the CI route: ticket readers only (anonymous and machine credentials refused), 404 for another project\'s ticket', async ({ f }) => {
  const w = f.world
  const path = `/api/projects/${w.projectId}/tickets`
  const [ticket] = await w.t.app.ctx.sql`select id from tickets where project_id = ${w.projectId} order by id limit 1`
  assert.is((await w.t.api('GET', `${path}/${ticket!.id}/ci`, undefined, w.people)).status, 200)
  assert.is((await w.t.api('GET', `${path}/${ticket!.id}/ci`, undefined, { authorization: '' })).status, 401)
  const machine = await w.t.api('GET', `${path}/${ticket!.id}/ci`, undefined, { authorization: `Bearer ${w.secrets.workerApiKey}` })
  assert.ok(machine.status === 401 || machine.status === 403, `worker key: ${machine.status}`)
  assert.is((await w.t.api('GET', `/api/projects/${w.projectId + 1000}/tickets/${ticket!.id}/ci`, undefined, w.people)).status, 404)
})

const parsing = suite('ci-fix: check webhooks parse as a commit\'s checks changed')

parsing('GitHub check_run, check_suite and status; GitLab Pipeline Hook; Gitea status', () => {
  const sha = 'a'.repeat(40)
  const json = (value: unknown) => Buffer.from(JSON.stringify(value))
  const gh = githubPlugin().webhooks!
  const repository = { full_name: 'acme/widgets' }
  assert.equal(gh.parse({ 'x-github-event': 'check_run' }, json({ action: 'completed', repository, check_run: { head_sha: sha, pull_requests: [{ number: 4 }] } })),
    { type: 'checks', repo: 'acme/widgets', sha, number: 4 })
  assert.equal(gh.parse({ 'x-github-event': 'check_suite' }, json({ action: 'completed', repository, check_suite: { head_sha: sha, pull_requests: [] } })),
    { type: 'checks', repo: 'acme/widgets', sha, number: null })
  assert.equal(gh.parse({ 'x-github-event': 'status' }, json({ sha, state: 'failure', context: 'ci', repository })), { type: 'checks', repo: 'acme/widgets', sha, number: null })
  assert.is(gh.parse({ 'x-github-event': 'status' }, json({ sha: 'nope', repository })).type, 'ignored')
  const gl = gitlabPlugin().webhooks!
  assert.equal(gl.parse({ 'x-gitlab-event': 'Pipeline Hook' }, json({ object_kind: 'pipeline', project: { path_with_namespace: 'acme/platform/api' }, object_attributes: { sha, status: 'failed' }, merge_request: { iid: 7 } })),
    { type: 'checks', repo: 'acme/platform/api', sha, number: 7 })
  const gt = giteaPlugin().webhooks!
  assert.equal(gt.parse({ 'x-gitea-event': 'status' }, json({ sha, state: 'failure', context: 'ci', repository })), { type: 'checks', repo: 'acme/widgets', sha, number: null })
})

parsing.run()
github.run()
endToEnd('GitLab', gitlabForge, { project: 1, expected: 1 }).run()
