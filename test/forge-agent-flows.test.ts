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
 * ticket ends In Review with its link; nothing reaches the GitHub fake.
 * One world per forge (bound to 0.0.0.0 so the container reaches it): about 30 s per forge on the
 * host, 1-3 min per forge with Docker.
 *   node --import ./scripts/ts-register.mjs test/forge-agent-flows.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultScript } from './fixtures/fake-llm.ts'
import type { JobSpec, OutputChunk } from '../core/executor.ts'
import { jobEnv } from '../core/coordinator/job-env.ts'
import { createLogger } from '../core/log.ts'
import { dockerDood } from '../plugins/executors/docker/dood.ts'
import { ensureDocker } from './docker-fixtures.ts'
import {
  buildAgentImage, cliDirs, createTicket, getTicket, holdJob, remoteGit, runAgentProcess, runAndClaim, startWorld, type World,
} from './bench/agent-harness.ts'

const TAG = 'terarchitect-agent:test'
type Forge = 'gitea' | 'gitlab'

/** What the forge's fake saw of ticket-<id>: its requests, who pushed the branch, who opened the request, the request's page. */
function onForge(w: World, forge: Forge, branch: string) {
  const token = w.secrets.githubToken
  if (forge === 'gitea') {
    const gitea = w.gitea!
    const pulls = gitea.state.resolve('acme/widgets').pulls.filter((p) => p.head === branch)
    return {
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
    const lease = holdJob(w, job.job_id)
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
