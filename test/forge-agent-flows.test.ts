// test-runner: slow
/**
 * The ticket flow end to end on a Gitea forge with a real CLI (Claude Code, the pinned binary), on
 * the host: the app with FORGE_KIND=gitea, the fake Gitea over the real git smart-HTTP server, the
 * fake LLM; the job claimed through the worker API and the agent run as a child process (the
 * harness of test/agent-ticket.test.ts with its `forge` option). The app relays the push with the
 * Gitea token, opens the pull request on Gitea, and the ticket ends In Review with the request.
 * Then the same from the agent image in Docker (docker-dood, as test/agent-image.test.ts runs it;
 * the image is built first, from cache when unchanged). About 30 s on the host, 1-3 min with Docker. GitLab runs through the app in test/forge-review-flows.test.ts (its fake serves no git).
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

let world: World

test.before(async () => {
  world = await startWorld({ forge: 'gitea', script: defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md.' }) })
})

test.after(async () => {
  await world?.close()
})

test('gitea, claude-code, local: ticket → agent → push → pull request on Gitea → In Review with its link', async () => {
  const dir = cliDirs().get('claude')
  if (!dir) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  await world.settings({ WORKER_MODE: 'claude-code' })
  const ticket = await createTicket(world, { title: 'Add a health file' })
  const job = await runAndClaim(world, ticket.id)
  const result = await runAgentProcess(world, job, { path: [dir!] })
  assert.is(result.code, 0, `agent exit ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`)
  await assertOnGitea(world, ticket.id, 'terarchitect')
})

/** The branch pushed with the Gitea credentials, one pull request opened by the app with the forge token, the ticket In Review with its link. */
async function assertOnGitea(w: World, ticketId: number, gitUser: string): Promise<void> {
  const branch = `ticket-${ticketId}`
  assert.is(remoteGit(w, ['show', `${branch}:HEALTH.md`]), 'healthy\n', 'the edit is on the pushed branch')
  // The git relay pushed with the Gitea plugin's credentials (its user, the forge token as password).
  assert.ok(w.git.requests.some((r) => r.user === gitUser && r.path.includes('git-receive-pack')), JSON.stringify(w.git.requests.map((r) => [r.user, r.path])))
  const gitea = w.gitea!
  const pulls = gitea.state.resolve('acme/widgets').pulls.filter((p) => p.head === branch)
  assert.is(pulls.length, 1, 'one pull request on Gitea')
  assert.is(pulls[0]!.base, 'main')
  assert.ok(gitea.requests.some((r) => r.method === 'POST' && r.path.endsWith('/repos/acme/widgets/pulls') && r.token === w.secrets.githubToken), 'opened by the app with the forge token')
  assert.not.ok(w.gh.requests.length, 'nothing reached the GitHub fake')
  const updated = await getTicket(w, ticketId)
  assert.is(updated.column_id, 'in_review')
  assert.is(updated.pr_number, pulls[0]!.number)
  assert.is(updated.pr_url, `${gitea.state.web}/acme/widgets/pulls/${pulls[0]!.number}`, 'the ticket links the pull request\'s page')
}

const TAG = 'terarchitect-agent:test'

test('gitea, claude-code, docker (docker-dood): the same flow from the agent image', async () => {
  await ensureDocker()
  const built = await buildAgentImage(TAG)
  assert.is(built.code, 0, built.output.slice(-4000))
  const dockerWorld = await startWorld({ host: '0.0.0.0', forge: 'gitea', script: defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md in a container.' }) })
  try {
    await dockerWorld.settings({ WORKER_MODE: 'claude-code' })
    const ticket = await createTicket(dockerWorld, { title: 'Health from a container' })
    const job = await runAndClaim(dockerWorld, ticket.id)
    const spec: JobSpec = {
      jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, kind: 'ticket', executionMode: 'docker', projectPath: null,
      env: jobEnv(job, { apiUrl: dockerWorld.t.url }), labels: { 'terarchitect.test': 'forge-agent-flows' }, timeoutMs: 10 * 60 * 1000,
    }
    const executor = dockerDood({ image: TAG, cacheVolume: '', coordinatorId: 'forge-agent-flows', log: createLogger('warn', { test: 'forge-agent-flows' }) })
    const output: OutputChunk[] = []
    const lease = holdJob(dockerWorld, job.job_id)
    try {
      const result = await executor.run(spec, (chunk) => output.push(chunk), new AbortController().signal)
      await lease.report(result.exitCode)
      assert.is(result.exitCode, 0, output.map((chunk) => chunk.text).join('').slice(-4000))
    } finally {
      await executor.close?.()
    }
    await assertOnGitea(dockerWorld, ticket.id, 'terarchitect')
  } finally {
    await dockerWorld.close()
  }
})

test.run()
