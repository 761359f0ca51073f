// test-runner: slow
/**
 * The ticket flow end to end on Gitea and on GitLab (self-managed under the relative URL root
 * `/gitlab`) with a real CLI (Claude Code, the pinned binary, against the fake LLM): the app with
 * FORGE_KIND gitea or gitlab, the fake forge serving the repository's git over the real git
 * smart-HTTP server; the job claimed through the worker API and the agent run as a child process on
 * the host (the harness of test/agent-ticket.test.ts with its `forge` option), then from the agent
 * image in Docker (docker-dood, as test/agent-image.test.ts runs it; the image is built first, from
 * cache when unchanged). The app relays the push with the forge's git credentials (Gitea: its user
 * and the token; GitLab: `oauth2` and the token), opens the request with the forge token, and the
 * ticket ends In Review with its link; nothing reaches the GitHub fake. Then the review on that
 * request: a reader's comment delivered by webhook is ignored, a writer's becomes a review job, and
 * the real agent pushes the fix to the same branch and replies on the request with the marker (the
 * webhook and poller rules on their own: test/forge-review-flows.test.ts).
 * One world per forge (bound to 0.0.0.0 so the container reaches it): about 30 s per forge on the
 * host, 1-3 min per forge with Docker.
 *   node --import ./scripts/ts-register.mjs test/forge-agent-flows.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultScript } from './fixtures/fake-llm.ts'
import { giteaComment, gitlabComment } from './fixtures/forge-comments.ts'
import { REPLY_MARKER } from '../core/agent/review-flow.ts'
import { trackNewPrs } from '../core/services/review/prs.ts'
import type { JobSpec, OutputChunk } from '../core/executor.ts'
import { jobEnv } from '../core/coordinator/job-env.ts'
import { createLogger } from '../core/log.ts'
import { dockerDood } from '../plugins/executors/docker/dood.ts'
import { ensureDocker } from './docker-fixtures.ts'
import { waitFor } from './helpers.ts'
import {
  buildAgentImage, claimJob, cliDirs, createTicket, getTicket, holdJob, remoteGit, runAgentProcess, runAndClaim, startWorld, type World,
} from './bench/agent-harness.ts'

const TAG = 'terarchitect-agent:test'
type Forge = 'gitea' | 'gitlab'

/**
 * What the forge's fake saw of ticket-<id>: its requests, who pushed the branch, who opened the
 * request, the request's page; and what people do there: a role on the repository, a comment with
 * its webhook delivery, the comments a request shows.
 */
function onForge(w: World, forge: Forge, branch: string) {
  const token = w.secrets.githubToken
  const secret = w.secrets.webhookSecret
  if (forge === 'gitea') {
    const gitea = w.gitea!
    const pulls = gitea.state.resolve('acme/widgets').pulls.filter((p) => p.head === branch)
    return {
      grant: (login: string, role: 'writer' | 'reader') => void (gitea.state.resolve('acme/widgets').permissions[login] = role === 'writer' ? 'write' : 'read'),
      comment: (login: string, n: number, body: string) => giteaComment(gitea, secret, 'acme/widgets', login, n, body),
      bodies: (n: number) => gitea.state.resolve('acme/widgets').comments.filter((c) => c.issue === n).map((c) => c.body),
      requests: pulls.map((p) => ({ number: p.number, base: p.base })),
      // The Gitea fake streams git to the git server, which logs the Basic user (Gitea's: the token's user).
      pushedAs: w.git.requests.filter((r) => r.path.includes('git-receive-pack')).map((r) => `${r.user}`),
      openedWithToken: gitea.requests.some((r) => r.method === 'POST' && r.path.endsWith('/repos/acme/widgets/pulls') && r.token === token),
      page: (n: number) => `${gitea.state.web}/acme/widgets/pulls/${n}`,
      gitUser: 'terarchitect',
    }
  }
  const gitlab = w.gitlab!
  const mrs = gitlab.state.project('acme/widgets')!.mrs.filter((m) => m.source_branch === branch)
  return {
    grant: (login: string, role: 'writer' | 'reader') => {
      gitlab.state.user(login)
      gitlab.state.project('acme/widgets')!.members[login] = role === 'writer' ? 30 : 20
    },
    comment: (login: string, n: number, body: string) => gitlabComment(gitlab, secret, 'acme/widgets', login, n, body),
    bodies: (n: number) => gitlab.state.mrOf('acme/widgets', n).notes.map((note) => note.body),
    requests: mrs.map((m) => ({ number: m.iid, base: m.target_branch })),
    // GitLab's own git endpoint saw the user and the password git sent.
    pushedAs: gitlab.requests.filter((r) => r.path.includes('git-receive-pack') && r.status === 200).map((r) => `${r.user}${r.token === token ? '' : ' (another password)'}`),
    openedWithToken: gitlab.requests.some((r) => r.method === 'POST' && r.path.endsWith('/projects/acme%2Fwidgets/merge_requests') && r.token === token),
    page: (n: number) => `${gitlab.webUrl.replace(/^http:/, 'https:')}/acme/widgets/-/merge_requests/${n}`,
    gitUser: 'oauth2',
  }
}

/** The branch pushed with the forge's git credentials, one request opened by the app with the forge token, the ticket In Review with its link. */
async function assertOnForge(w: World, forge: Forge, ticketId: number): Promise<void> {
  const branch = `ticket-${ticketId}`
  assert.is(remoteGit(w, ['show', `${branch}:HEALTH.md`]), 'healthy\n', 'the edit is on the pushed branch')
  const seen = onForge(w, forge, branch)
  assert.ok(seen.pushedAs.includes(seen.gitUser), `the git relay pushed as ${seen.gitUser} with the forge token: ${JSON.stringify(seen.pushedAs)}`)
  assert.is(seen.requests.length, 1, `one request on ${forge}`)
  assert.is(seen.requests[0]!.base, 'main')
  assert.ok(seen.openedWithToken, 'opened by the app with the forge token')
  assert.not.ok(w.gh.requests.length, 'nothing reached the GitHub fake')
  const updated = await getTicket(w, ticketId)
  assert.is(updated.column_id, 'in_review')
  assert.is(updated.pr_number, seen.requests[0]!.number)
  assert.is(updated.pr_url, seen.page(seen.requests[0]!.number), 'the ticket links the request\'s page')
}

let image: Promise<{ code: number | null; output: string }> | undefined
const worlds: World[] = []

test.after(async () => {
  for (const w of worlds) await w.close()
})

for (const forge of ['gitea', 'gitlab'] as const) {
  let world: World | undefined
  /** The ticket the local case took to In Review; its request gets the review. */
  let reviewed: number | undefined
  const startForge = async () => {
    if (!world) worlds.push((world = await startWorld({ host: '0.0.0.0', forge, settings: { WORKER_MODE: 'claude-code' }, script: defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md.' }) })))
    return world
  }

  test(`${forge}, claude-code, local: ticket → agent → push through the relay → request on ${forge} → In Review with its link`, async () => {
    const dir = cliDirs().get('claude')
    if (!dir) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
    const w = await startForge()
    const ticket = await createTicket(w, { title: 'Add a health file' })
    const job = await runAndClaim(w, ticket.id)
    const result = await runAgentProcess(w, job, { path: [dir!] })
    assert.is(result.code, 0, `agent exit ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`)
    await assertOnForge(w, forge, ticket.id)
    reviewed = ticket.id
  })

  test(`${forge}, claude-code, local review: a writer's comment by webhook → review job → the fix pushed to the same branch → reply with the marker; a reader's → nothing`, async () => {
    const dir = cliDirs().get('claude')
    if (!reviewed || !dir) assert.unreachable('the local ticket case must pass first')
    const w = await startForge()
    const branch = `ticket-${reviewed}`
    const people = onForge(w, forge, branch)
    const number = people.requests[0]!.number
    const before = remoteGit(w, ['rev-parse', branch])!.trim()
    await trackNewPrs(w.t.app.ctx)
    const deliver = (delivery: { headers: Record<string, string>; body: Buffer }) =>
      fetch(`${w.t.url}/api/webhooks/${forge}`, { method: 'POST', headers: delivery.headers, body: new Uint8Array(delivery.body) })
    const reviewJobs = async () => (await w.t.app.ctx.sql`select id, github_comment_id from agent_jobs where ticket_id = ${reviewed!} and kind = 'review'`)
    people.grant('rita', 'reader')
    const reader = people.comment('rita', number, 'Please also add READY.md saying ready.')
    assert.is((await deliver(reader.delivery)).status, 200)
    const [ignored] = await w.t.app.ctx.sql`select ignored_reason from pr_review_comments where github_id = ${reader.id}`
    assert.is(ignored?.ignored_reason, 'not_a_writer', 'a reader\'s comment is stored and ignored')
    assert.is((await reviewJobs()).length, 0, 'a reader\'s comment makes no job')

    people.grant('alice', 'writer')
    const writer = people.comment('alice', number, 'Please also add READY.md saying ready.')
    assert.is((await deliver(writer.delivery)).status, 200)
    const jobs = await waitFor(async () => ((await reviewJobs()).length ? reviewJobs() : null), 10000, 'the writer\'s review job')
    assert.equal(jobs.map((j: any) => Number(j.github_comment_id)), [writer.id], 'one review job, for the writer\'s comment')
    const job = await claimJob(w)
    assert.is(job.kind, 'review')
    w.llm.setScript(defaultScript({ path: 'READY.md', content: 'ready\n', finalText: 'Added READY.md.' }))
    const result = await runAgentProcess(w, job, { path: [dir!] })
    w.llm.setScript(defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md.' }))
    assert.is(result.code, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)
    assert.is(remoteGit(w, ['rev-parse', `${branch}~1`])!.trim(), before, 'the fix is one commit on top of the request\'s head')
    assert.is(remoteGit(w, ['show', `${branch}:READY.md`]), 'ready\n')
    assert.is(onForge(w, forge, branch).requests.length, 1, 'no new request')
    const replies = people.bodies(number).filter((body) => body.startsWith(REPLY_MARKER))
    assert.is(replies.length, 1, `the agent replied on the request with the marker: ${JSON.stringify(people.bodies(number))}`)
    assert.match(replies[0]!, '> Please also add READY.md saying ready.')
    assert.not.ok(w.gh.requests.length, 'nothing reached the GitHub fake')
  })

  test(`${forge}, claude-code, docker (docker-dood): the same flow from the agent image`, async () => {
    await ensureDocker()
    const built = await (image ??= buildAgentImage(TAG))
    assert.is(built.code, 0, built.output.slice(-4000))
    const w = await startForge()
    const ticket = await createTicket(w, { title: 'Health from a container' })
    const job = await runAndClaim(w, ticket.id)
    const spec: JobSpec = {
      jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, kind: 'ticket', executionMode: 'docker', projectPath: null,
      env: jobEnv(job, { apiUrl: w.t.url }), labels: { 'terarchitect.test': 'forge-agent-flows' }, timeoutMs: 10 * 60 * 1000,
    }
    const executor = dockerDood({ image: TAG, cacheVolume: '', coordinatorId: 'forge-agent-flows', log: createLogger('warn', { test: 'forge-agent-flows' }) })
    const output: OutputChunk[] = []
    const lease = holdJob(w, job)
    try {
      const result = await executor.run(spec, (chunk) => output.push(chunk), new AbortController().signal)
      await lease.report(result.exitCode)
      assert.is(result.exitCode, 0, output.map((chunk) => chunk.text).join('').slice(-4000))
    } finally {
      await executor.close?.()
    }
    await assertOnForge(w, forge, ticket.id)
  })
}

test.run()
