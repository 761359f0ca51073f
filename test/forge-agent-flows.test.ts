// test-runner: slow
/**
 * The ticket flow end to end on a Gitea forge with a real CLI (Claude Code, the pinned binary), on
 * the host: the app with FORGE_KIND=gitea, the fake Gitea over the real git smart-HTTP server, the
 * fake LLM; the job claimed through the worker API and the agent run as a child process (the
 * harness of test/agent-ticket.test.ts with its `forge` option). The app relays the push with the
 * Gitea token, opens the pull request on Gitea, and the ticket ends In Review with the request.
 * About 30 s. GitLab runs through the app in test/forge-review-flows.test.ts (its fake serves no git).
 *   node --import ./scripts/ts-register.mjs test/forge-agent-flows.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultScript } from './fixtures/fake-llm.ts'
import { cliDirs, createTicket, getTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, type World } from './bench/agent-harness.ts'

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
  const branch = `ticket-${ticket.id}`
  assert.is(remoteGit(world, ['show', `${branch}:HEALTH.md`]), 'healthy\n', 'the edit is on the pushed branch')
  // The git relay pushed with the Gitea plugin's credentials (its user, the forge token as password).
  assert.ok(world.git.requests.some((r) => r.user === 'terarchitect' && r.path.includes('git-receive-pack')), JSON.stringify(world.git.requests.map((r) => [r.user, r.path])))
  const gitea = world.gitea!
  const pulls = gitea.state.resolve('acme/widgets').pulls.filter((p) => p.head === branch)
  assert.is(pulls.length, 1, 'one pull request on Gitea')
  assert.is(pulls[0]!.base, 'main')
  assert.ok(gitea.requests.some((r) => r.method === 'POST' && r.path.endsWith('/repos/acme/widgets/pulls') && r.token === world.secrets.githubToken), 'opened by the app with the forge token')
  assert.not.ok(world.gh.requests.length, 'nothing reached the GitHub fake')
  const updated = await getTicket(world, ticket.id)
  assert.is(updated.column_id, 'in_review')
  assert.is(updated.pr_number, pulls[0]!.number)
  assert.is(updated.pr_url, `${world.gitea!.state.web}/acme/widgets/pulls/${pulls[0]!.number}`, 'the ticket links the pull request\'s page')
})

test.run()
