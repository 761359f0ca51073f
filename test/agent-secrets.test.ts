/**
 * No secret leaks out of an agent run, and the agent never holds the forge token (it clones, pushes
 * and opens its PR through the app's git relay and forge actions): the GitHub token, the worker and
 * Director LLM keys, the worker API key, the admin token and the job token are looked for in the job
 * events, the pushed history, the workspace's files and .git/config, the agent's own process
 * environment, the PR, the agent's output, git's argv and every request body the fake LLM recorded.
 * The run is made to try: the ticket description holds the GitHub token (the app masks it in
 * worker-context, so it never reaches the agent), the worker's final message and the Director's
 * summary hold the job token (the one secret the agent has: no LLM reply can hold a key the agent
 * never sent), and the worker dumps its environment through its shell tool.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { shellCall, writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import { DIRECTOR_MODEL, cliDirs, createTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, ticketEvents, type World } from './bench/agent-harness.ts'
import { assertWorldClean } from './secret-scan.ts'

let world: World
let scratch: string
/** The running job's token: the Director's summary leaks it (the one secret the agent holds). */
let jobToken = ''
/** The ticket description a person wrote, holding the forge token on purpose. */
let personText = ''

const ENV_PROBE = 'printenv GITHUB_TOKEN GH_TOKEN TERARCHITECT_AGENT_TOKEN TERARCHITECT_GIT_TOKEN AGENT_API_KEY TERARCHITECT_WORKER_API_KEY; echo ENV-NAMES: $(env | cut -d= -f1 | sort)'

function script(request: LlmRequest): Reply {
  if (request.model === DIRECTOR_MODEL) {
    if (request.lastUserText.includes('Plan the work')) return { text: '{"plan": "write HEALTH.md", "prompt": "Create HEALTH.md."}' }
    return { text: JSON.stringify({ complete: true, next_prompt: '', summary: `HEALTH.md added (leaked token: ${jobToken})` }) }
  }
  if (request.tools.length === 0) return { text: 'title' }
  if (request.toolResultCount === 0) return { toolCalls: [shellCall(request, ENV_PROBE)!] }
  if (request.toolResultCount === 1 && request.lastIsToolResult) return { toolCalls: [writeFileCall(request, 'HEALTH.md', 'healthy\n')!] }
  return { text: `Done. My token is ${jobToken}.` }
}

test.before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'agent-secrets-'))
  world = await startWorld({ script })
  await world.settings({ WORKER_MODE: 'claude-code', AGENT_LLM_URL: world.llm.url, AGENT_MODEL: DIRECTOR_MODEL, AGENT_API_KEY: world.secrets.directorKey })
})

test.after(async () => {
  await world?.close()
  rmSync(scratch, { recursive: true, force: true })
})

test('no secret in events, repo, .git/config, PR, prompts, output or git argv', async () => {
  const claude = cliDirs().get('claude')
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  // A git shim on PATH records each git command line and whether the token variable was set.
  const shimDir = join(scratch, 'shim')
  const gitLog = join(scratch, 'git-argv.log')
  const { mkdirSync } = await import('node:fs')
  mkdirSync(shimDir)
  writeFileSync(join(shimDir, 'git'), `#!/bin/sh\nprintf '%s|%s\\n' "\${TERARCHITECT_GIT_TOKEN:+token-set}" "$*" >> '${gitLog}'\nexec /usr/bin/git "$@"\n`)
  chmodSync(join(shimDir, 'git'), 0o755)

  const workspace = join(scratch, 'workspace')
  personText = `Use the token ${world.secrets.githubToken} if needed.`
  const ticket = await createTicket(world, { title: 'Secrets stay secret', description: personText })
  const job = await runAndClaim(world, ticket.id)
  jobToken = job.agent_token
  // The agent's own process environment, read from /proc while it runs (what code it starts could read).
  let agentPid = 0
  const environs: string[] = []
  const result = await runAgentProcess(world, job, {
    path: [shimDir, claude!],
    env: { AGENT_WORKSPACE: workspace },
    onSpawn: (child) => (agentPid = child.pid ?? 0),
    onLine: () => {
      try {
        environs.push(readFileSync(`/proc/${agentPid}/environ`, 'utf8'))
      } catch {}
    },
  })
  assert.is(result.code, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)

  const secrets = { ...world.secrets, jobToken: job.agent_token }
  const clean = (what: string, text: string) => {
    for (const [name, value] of Object.entries(secrets)) assert.not.ok(text.includes(value), `${name} found in ${what}`)
  }

  const events = await ticketEvents(world, ticket.id)
  clean('job events', JSON.stringify(events))
  assert.ok(JSON.stringify(events).includes('***'), 'the leaked values were masked, not dropped silently')

  clean('pushed history', remoteGit(world, ['log', '-p', '--all', '--format=%H %an %ae%n%B']) ?? '')
  const gitConfig = readFileSync(join(workspace, '.git', 'config'), 'utf8')
  clean('.git/config', gitConfig)
  assert.not.match(gitConfig, 'credential', 'no credential helper stored in .git/config')
  assert.match(gitConfig, `url = ${world.t.url}/api/relay/git/${world.projectId}/${ticket.id}/repo.git\n`, 'the remote is the app\'s git relay, without user info')
  // The agent never held the forge token or an LLM key: not in its environment, not in any file of its workspace.
  assert.ok(environs.length > 0, 'the agent\'s environment was read while it ran')
  const appSecrets = { githubToken: world.secrets.githubToken, workerKey: world.secrets.workerKey, directorKey: world.secrets.directorKey, workerApiKey: world.secrets.workerApiKey }
  for (const environ of environs) {
    for (const [name, value] of Object.entries(appSecrets)) assert.not.ok(environ.includes(value), `${name} in the agent's process environment`)
    assert.not.ok(/(^|\0)(GITHUB_TOKEN|GH_TOKEN)=/.test(environ), 'a forge token variable in the agent\'s environment')
  }
  for (const file of filesUnder(workspace)) {
    const content = readFileSync(file)
    for (const [name, value] of Object.entries(appSecrets)) assert.not.ok(content.includes(value), `${name} in ${file}`)
  }
  // The forge token went to the git host (as the relay's Basic password) and to the forge API, from the app.
  assert.ok(world.git.requests.some((r) => r.user === 'x-access-token' && r.path.endsWith('git-receive-pack') && r.status === 200))

  const repo = world.gh.state.repo('acme/widgets')!
  const pull = repo.pulls.find((p) => p.head.ref === `ticket-${ticket.id}`)!
  assert.ok(pull, 'PR opened')
  clean('PR', JSON.stringify(pull))
  clean('agent output', result.stdout + result.stderr)

  // Every request the fake LLM saw (bodies; auth headers are recorded as fingerprints only).
  const bodies = JSON.stringify(world.llm.requests.map((r) => ({ path: r.path, headers: r.headers, body: r.body })))
  clean('LLM requests', bodies)
  assert.ok(world.llm.keyWasSent(world.secrets.workerKey) && world.llm.keyWasSent(world.secrets.directorKey), 'the keys went as auth headers')
  // The worker's shell saw no token variable at all: printenv printed nothing before ENV-NAMES.
  const probe = world.llm.llmCalls().map((r) => r.request!.allText).find((text) => text.includes('ENV-NAMES:'))
  assert.ok(probe, 'the env probe ran and its output reached the LLM')
  const names = /ENV-NAMES:([^\n]*)/.exec(probe!)![1]!.trim().split(/\s+/)
  for (const name of ['GITHUB_TOKEN', 'GH_TOKEN', 'TERARCHITECT_AGENT_TOKEN', 'TERARCHITECT_GIT_TOKEN', 'AGENT_API_KEY', 'TERARCHITECT_WORKER_API_KEY']) {
    assert.not.ok(names.includes(name), `${name} in the worker's environment`)
  }

  // git: the token never in argv; its variable set only for the commands that talk to the remote.
  const argv = readFileSync(gitLog, 'utf8').trim().split('\n')
  clean('git argv', argv.join('\n'))
  const network = /(^|\s)(clone|fetch|push|ls-remote)(\s|$)/
  for (const line of argv) {
    const [flag, args] = [line.slice(0, line.indexOf('|')), line.slice(line.indexOf('|') + 1)]
    if (flag === 'token-set') assert.ok(network.test(args), `token variable set for a local command: ${args}`)
  }
  assert.ok(argv.some((line) => line.startsWith('token-set|') && line.includes('credential.helper=') && / push /.test(line)))
})

/** Every regular file under `dir`, `.git` included. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath ?? entry.path, entry.name))
}

test('nothing the suite stored holds a secret: database, fake GitHub, app log, agent output', async () => {
  assert.ok(world, 'the suite ran agents')
  // The person's own description (and its verbatim copies: the ticket's events, its memory entry) is theirs.
  await assertWorldClean(world, {}, { allowed: [personText] })
})

test.run()
