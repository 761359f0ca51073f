/**
 * The ticket and review flows through the app on GitLab (under a relative URL root, nested groups)
 * and Gitea, with the app-level FORGE_KIND / FORGE_API_URL / FORGE_TOKEN: an agent's branch pushed
 * with real git → the app opens the request (forge-actions, the repository read with the API URL)
 * → complete → the ticket links the request and it is tracked by its forge path; a writer's comment
 * by webhook → one review job, a reader's → none; the review job's reply lands on the request with
 * the marker; the poller picks a writer's comment up without a webhook; and on Gitea an inline reply
 * delivered by webhook and then polled (one id, two kinds) is stored and dispatched once.
 * The agent's side is played through its API (the real agent with a real CLI on these forges:
 * test/forge-agent-flows.test.ts).
 * PGlite, one app per forge: about 10 s in all.
 *   node --import ./scripts/ts-register.mjs test/forge-review-flows.test.ts
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { reviewCycle } from '../core/services/review/loop.ts'
import { start as startGitea } from './fixtures/fake-gitea.ts'
import { start as startGitlab } from './fixtures/fake-gitlab.ts'
import { freshDeliveryId, giteaComment, gitlabComment, type CommentWithDelivery } from './fixtures/forge-comments.ts'
import { pushBranchAhead, start as startGit, type GitHttp } from './fixtures/git-http.ts'
import { createTicket, sleep, startTestApp, waitFor, type TestApp } from './helpers.ts'

const SECRET = 'forge-flows-hook-secret'
const MARKER = '<!-- terarchitect:reply -->'

/** One forge as the flows need it: where the app reaches it and what people do on it. */
interface World {
  kind: string
  repo: string
  repoUrl: string
  env: Record<string, string>
  git: GitHttp
  gitUser: string
  token: string
  /** The request of `head` on the fake, if opened. */
  requestOf(head: string): { number: number; url: string } | null
  /** Comments on request `number` on the fake (bodies). */
  bodies(number: number): string[]
  /** A conversation comment by `login` and its signed delivery. */
  comment(login: string, number: number, body: string): CommentWithDelivery
  /** A conversation comment by `login` the forge shows, without a delivery (for the poller). */
  quietComment(login: string, number: number, body: string): void
  close(): Promise<void>
}

async function gitlabWorld(): Promise<World> {
  const repo = 'acme/platform/api'
  const git = await startGit({ token: 'glpat-app' })
  await git.createRepo(repo, { 'README.md': '# api\n' })
  const fake = await startGitlab({ git, gitToken: 'glpat-app', tokens: { 'glpat-app': 'terarchitect' }, relativeRoot: '/gitlab' })
  fake.state.addProject(repo, { terarchitect: 40, alice: 30, rita: 20 })
  const mrs = () => fake.state.project(repo)!.mrs
  return {
    kind: 'gitlab', repo, repoUrl: `${fake.webUrl}/${repo}.git`, git, gitUser: 'oauth2', token: 'glpat-app',
    env: { FORGE_KIND: 'gitlab', FORGE_API_URL: fake.apiUrl, FORGE_TOKEN: 'glpat-app', FORGE_WEBHOOK_SECRET: SECRET },
    requestOf: (head) => {
      const mr = mrs().find((m) => m.source_branch === head)
      return mr ? { number: mr.iid, url: `${fake.webUrl}/${repo}/-/merge_requests/${mr.iid}` } : null
    },
    bodies: (number) => mrs().find((m) => m.iid === number)!.notes.map((n) => n.body),
    comment: (login, number, body) => gitlabComment(fake, SECRET, repo, login, number, body),
    quietComment: (login, number, body) => void fake.state.addNote(repo, number, login, body),
    close: async () => {
      await fake.close()
      await git.close()
    },
  }
}

async function giteaWorld(): Promise<World & { inlineReply(login: string, number: number, body: string): CommentWithDelivery }> {
  const repo = 'acme/widgets'
  const git = await startGit({ token: 'gitea-app' })
  const fake = await startGitea({ git, tokens: { 'gitea-app': 'terarchitect' } })
  const repoUrl = await fake.createRepo(repo, { terarchitect: 'admin', alice: 'write', rita: 'read' })
  const commentId = (delivery: { body: Buffer }) => Number(JSON.parse(delivery.body.toString()).comment.id)
  return {
    kind: 'gitea', repo, repoUrl, git, gitUser: 'terarchitect', token: 'gitea-app',
    env: { FORGE_KIND: 'gitea', FORGE_API_URL: `${fake.url}/api/v1`, FORGE_TOKEN: 'gitea-app', FORGE_WEBHOOK_SECRET: SECRET },
    requestOf: (head) => {
      const pull = fake.state.resolve(repo).pulls.find((p) => p.head === head)
      return pull ? { number: pull.number, url: `${fake.url}/${repo}/pulls/${pull.number}` } : null
    },
    bodies: (number) => fake.state.resolve(repo).comments.filter((c) => c.issue === number).map((c) => c.body),
    comment: (login, number, body) => giteaComment(fake, SECRET, repo, login, number, body),
    quietComment: (login, number, body) => void fake.state.comment(repo, number, login, body),
    inlineReply(login, number, body) {
      const delivery = fake.state.delivery(SECRET, 'comment', repo, number, { body, login, inline: { path: 'README.md', line: 1 } })
      return { id: commentId(delivery), delivery: { headers: freshDeliveryId(delivery.headers), body: delivery.body } }
    },
    close: async () => {
      await fake.close()
      await git.close()
    },
  }
}

/** Pushes `branch` one commit ahead of main on the forge's git server, with the app's token (as the git relay would). */
async function pushBranch(world: World, cloneUrl: string, branch: string): Promise<void> {
  await pushBranchAhead(cloneUrl, branch, { username: world.gitUser, password: world.token })
}

interface Flow { world: World; t: TestApp; projectId: number; ticketId: number; number: number }

const agentAuth = (token: string) => ({ authorization: `Bearer ${token}` })

/** move → (agent) push → the app opens the request → complete: the ticket links it, the app tracks it by its forge path. */
async function ticketFlow(world: World, t: TestApp, gitCloneUrl: string): Promise<Flow> {
  const project = await t.api('POST', '/api/projects', { name: `${world.kind}-flow`, repo_url: world.repoUrl })
  assert.is(project.status, 201, JSON.stringify(project.body))
  const ticket = await createTicket(t, project.body.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.body.id, coordinator_id: 'c1' })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  const base = `/api/projects/${project.body.id}/tickets/${ticket.id}`
  await pushBranch(world, gitCloneUrl, `ticket-${ticket.id}`)
  const opened = await t.api('POST', `${base}/forge/pull`, { title: `Ticket ${ticket.id}`, body: 'Done', base: 'main', draft: false }, agentAuth(claim.body.agent_token))
  assert.ok([200, 201].includes(opened.status), JSON.stringify(opened.body))
  const request = world.requestOf(`ticket-${ticket.id}`)
  assert.ok(request, `the ${world.kind} fake has the request of ticket-${ticket.id}`)
  assert.is(opened.body.number, request!.number)
  // The fakes serve http; a forge's pages are https, the only links the app stores (job-pull.ts).
  const page = request!.url.replace(/^http:/, 'https:')
  const done = await t.api('POST', `${base}/complete`, { pr_number: request!.number, pr_url: page, summary: 'Implemented it' }, agentAuth(claim.body.agent_token))
  assert.is(done.status, 200, JSON.stringify(done.body))
  const complete = await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
  assert.is(complete.body.status, 'succeeded', JSON.stringify(complete.body))
  const shown = await t.api('GET', `${base}`)
  assert.is(shown.body.column_id, 'in_review')
  assert.is(shown.body.pr_url, page, 'the ticket links the request\'s page')
  const pr = await waitFor(async () => (await t.api('GET', `/api/projects/${project.body.id}/review`)).body.prs?.[0], 10000, 'the request to be tracked')
  assert.is(pr.repo, world.repo, 'tracked by its forge path')
  assert.is(pr.tracking, true, JSON.stringify(pr))
  assert.is((await t.api('GET', `/api/projects/${project.body.id}/review`)).body.forge, world.kind, 'the review API names the forge for the UI')
  return { world, t, projectId: project.body.id, ticketId: ticket.id, number: request!.number }
}

const reviewJobs = async (f: Flow) => (await f.t.api('GET', `/api/projects/${f.projectId}/jobs`)).body.filter((job: any) => job.kind === 'review')
const storedComments = async (f: Flow, id: number) => f.t.app.ctx.sql`select kind, ignored_reason, path from pr_review_comments where github_id = ${id}`
const deliver = (f: Flow, delivery: { headers: Record<string, string>; body: Buffer }) =>
  fetch(`${f.t.url}/api/webhooks/${f.world.kind}`, { method: 'POST', headers: delivery.headers, body: new Uint8Array(delivery.body) })

/** Writer → one review job; reader → stored, ignored; the job's reply lands on the request with the marker. */
async function reviewFlow(f: Flow): Promise<void> {
  const reader = f.world.comment('rita', f.number, 'Reader: please rename it')
  assert.is((await deliver(f, reader.delivery)).status, 200)
  const [ignored] = await storedComments(f, reader.id)
  assert.is(ignored?.ignored_reason, 'not_a_writer')
  const writer = f.world.comment('alice', f.number, 'Writer: handle the empty list')
  assert.is((await deliver(f, writer.delivery)).status, 200)
  const job = await waitFor(async () => (await reviewJobs(f))[0], 10000, 'a review job from the writer\'s comment')
  assert.is(job.github_comment_id, writer.id)
  assert.is((await reviewJobs(f)).length, 1, 'the reader\'s comment made no job')
  const claim = await f.t.api('POST', '/api/worker/jobs/start', { project_id: f.projectId, coordinator_id: 'c1' })
  assert.is(claim.body.job_id, job.id)
  const reply = await f.t.api('POST', `/api/projects/${f.projectId}/tickets/${f.ticketId}/forge/reply`, { body: 'Handled the empty list' }, agentAuth(claim.body.agent_token))
  assert.is(reply.status, 201, JSON.stringify(reply.body))
  assert.ok(f.world.bodies(f.number).some((body) => body.startsWith(MARKER) && body.includes('Handled the empty list')), 'the reply is on the request')
  const complete = await f.t.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
  assert.is(complete.body.status, 'succeeded')
  // The poller: a writer's comment without a webhook becomes the next job; the app's own reply none.
  f.world.quietComment('alice', f.number, 'Polled: add a test')
  // A cycle that fails (the fake slow under load) is retried by the next one, as the loop does.
  const jobs = await waitFor(async () => {
    await reviewCycle(f.t.app.ctx)
    if ((await reviewJobs(f)).length === 2) return reviewJobs(f)
    await sleep(250)
    return null
  }, 20000, 'the polled comment\'s job')
  assert.ok(jobs.some((j: any) => j.comment_body?.includes('Polled: add a test')), JSON.stringify(jobs.map((j: any) => j.comment_body)))
  const next = await f.t.api('POST', '/api/worker/jobs/start', { project_id: f.projectId, coordinator_id: 'c1' })
  await f.t.api('POST', `/api/worker/jobs/${next.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: next.body.claim_seq, exit_code: 0 })
}

const WORLDS: [string, () => Promise<World>][] = [['gitlab', gitlabWorld], ['gitea', giteaWorld]]
for (const [name, make] of WORLDS) {
  const test = suite<{ world?: World; t?: TestApp; flow?: Flow }>(`forge flows: ${name}`, {})
  test.before(async (context) => {
    context.world = await make()
    context.t = await startTestApp({ kind: 'pglite', env: { ...context.world.env, REVIEW_POLL_INTERVAL_SEC: '3600' } })
  })
  test.after(async ({ world, t }) => {
    await t?.close()
    await world?.close()
  })
  test('ticket flow: request opened by the app, ticket In Review with its link, tracked by its path', async (context) => {
    const world = context.world!
    context.flow = await ticketFlow(world, context.t!, world.repoUrl)
  })
  test('review flow: writer → job → reply with the marker; reader → nothing; the poller alone too', async ({ flow }) => {
    await reviewFlow(flow!)
  })
  if (name === 'gitea') {
    test('an inline reply by webhook, then polled as an inline comment: stored once, one job', async ({ flow }) => {
      const f = flow!
      const world = f.world as Awaited<ReturnType<typeof giteaWorld>>
      const before = (await reviewJobs(f)).length
      const reply = world.inlineReply('alice', f.number, 'Inline: this line too')
      assert.is((await deliver(f, reply.delivery)).status, 200)
      await waitFor(async () => (await reviewJobs(f)).length === before + 1, 10000, 'the reply\'s job')
      await reviewCycle(f.t.app.ctx)
      const stored = await storedComments(f, reply.id)
      assert.is(stored.length, 1, JSON.stringify(stored))
      assert.is(stored[0]!.path, 'README.md', 'the poller filled the place the webhook did not carry')
      assert.is((await reviewJobs(f)).length, before + 1, 'one job for one reply')
    })
  }
  test.run()
}
