/**
 * The world the agent suites and the agent bench run in: a real app (PGlite), a git smart-HTTP
 * remote that requires the GitHub token, a fake GitHub and a fake LLM, all on ephemeral ports; a
 * project whose repo is on that remote; and the agent run as a real child process
 * (`node --import scripts/ts-register.mjs agent.ts ticket|review`) with the environment the
 * coordinator gives it (core/coordinator/job-env.ts), after the job was claimed through the
 * worker API. Lives under test/bench/ so the bench can share it; it holds no tests itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { jobEnv } from '../../core/coordinator/job-env.ts'
import type { ClaimedJob } from '../../core/coordinator/client.ts'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'
import { start as startGitea, type FakeGitea } from '../fixtures/fake-gitea.ts'
import { start as startGitlab, type FakeGitlab } from '../fixtures/fake-gitlab.ts'
import { start as startGitHttp, type GitHttp } from '../fixtures/git-http.ts'
import { start as startLlm, type FakeLlm, type Script } from '../fixtures/fake-llm.ts'
import { ROOT, startTestApp, type TestApp } from '../helpers.ts'

export const DIRECTOR_MODEL = 'director-model'
export const WORKER_MODEL = 'fake-model'

/** Every secret the world hands out; tests search for them where they must not be. */
export interface WorldSecrets {
  githubToken: string
  workerKey: string
  directorKey: string
  workerApiKey: string
  adminToken: string
  /** Set so the stored-secrets scan (test/secret-scan.ts) has them to look for. */
  webhookSecret: string
  embeddingKey: string
}

export interface World {
  t: TestApp
  llm: FakeLlm
  gh: FakeGithub
  /** With `forge: 'gitea'`: the fake Gitea the repository is on (FORGE_KIND gitea). */
  gitea?: FakeGitea
  /** With `forge: 'gitlab'`: the fake GitLab (under the relative URL root `/gitlab`) serving the repository's git. */
  gitlab?: FakeGitlab
  git: GitHttp
  secrets: WorldSecrets
  repoUrl: string
  /** Bare repository on disk behind repoUrl. */
  bare: string
  projectId: number
  /** App headers: the admin token (needed when the app binds off loopback). */
  people: Record<string, string>
  settings(values: Record<string, string | number | boolean | null>): Promise<void>
  /** The stdout and stderr of every agent runAgentProcess ran, for the stored-secrets scan. */
  agentOutput: string[]
  close(): Promise<void>
}

export interface WorldOptions {
  /** 0.0.0.0 makes everything reachable from containers (host.docker.internal). */
  host?: string
  script?: Script
  files?: Record<string, string>
  project?: Record<string, unknown>
  settings?: Record<string, string | number | boolean | null>
  /** Extra app environment (JOB_LEASE_SEC, JOB_LEASE_GRACE_SEC, …). */
  appEnv?: Record<string, string>
  /** The app's database: PGlite in the app's process (default), or a temporary PostgreSQL 15 as the tests start one. */
  database?: 'pglite' | 'postgres'
  /** `gitea`, `gitlab`: the repository is on that fake (over the same git server), set with the FORGE_ settings. Default GitHub. */
  forge?: 'github' | 'gitea' | 'gitlab'
}

const secret = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const host = options.host ?? '127.0.0.1'
  const secrets: WorldSecrets = {
    githubToken: secret('ghp_world_'),
    workerKey: secret('sk-worker-'),
    directorKey: secret('sk-director-'),
    workerApiKey: secret('twk_'),
    adminToken: secret('tadm_'),
    webhookSecret: secret('whsec-world-'),
    embeddingKey: secret('sk-embed-'),
  }
  const llm = await startLlm({ host, script: options.script, apiKey: undefined })
  const gh = await startGithub({ host, tokens: { [secrets.githubToken]: 'terarchitect-bot' } })
  const git = await startGitHttp({ host, token: secrets.githubToken })
  const files = options.files ?? { 'README.md': '# widgets\n', 'package.json': '{"name":"widgets"}\n' }
  const gitea = options.forge === 'gitea' ? await startGitea({ git, host, tokens: { [secrets.githubToken]: 'terarchitect-bot' } }) : undefined
  const gitlab = options.forge === 'gitlab'
    ? await startGitlab({ git, gitToken: secrets.githubToken, tokens: { [secrets.githubToken]: 'terarchitect-bot' }, relativeRoot: '/gitlab', httpsPages: true })
    : undefined
  const repoUrl = gitea ? await gitea.createRepo('acme/widgets', { 'terarchitect-bot': 'admin' }, files) : await git.createRepo('acme/widgets', files)
  if (gitlab) gitlab.state.addProject('acme/widgets', { 'terarchitect-bot': 40 })
  const projectUrl = gitlab ? `${gitlab.webUrl}/acme/widgets.git` : repoUrl
  // Its pages on https, as a real instance's (and the fake GitHub's): the only links the app stores.
  if (gitea) gitea.state.web = gitea.url.replace(/^http:/, 'https:')
  const t = await startTestApp({
    kind: options.database ?? 'pglite',
    // The tests call the people API as 127.0.0.1:<port>, which off loopback must be listed.
    // The git relay reaches the fixture's plain-http remote only because it is listed here.
    env: { HOST: host, ALLOWED_HOSTS: '127.0.0.1', TERARCHITECT_WORKER_API_KEY: secrets.workerApiKey, TERARCHITECT_ADMIN_TOKEN: secrets.adminToken, ALLOW_INSECURE_GIT_HOSTS: new URL(projectUrl).host, ...options.appEnv },
  })
  const people = { authorization: `Bearer ${secrets.adminToken}` }
  const settings = async (values: Record<string, string | number | boolean | null>) => {
    const res = await t.api('PUT', '/api/settings', { values }, people)
    if (res.status !== 200) throw new Error(`settings: ${res.status} ${JSON.stringify(res.body)}`)
  }
  const forge = gitea ? { kind: 'gitea', apiUrl: `${gitea.url}/api/v1` } : gitlab ? { kind: 'gitlab', apiUrl: gitlab.apiUrl } : null
  const forgeSettings: Record<string, string> = forge
    ? { FORGE_KIND: forge.kind, FORGE_API_URL: forge.apiUrl, FORGE_TOKEN: secrets.githubToken, FORGE_WEBHOOK_SECRET: secrets.webhookSecret }
    : { GITHUB_TOKEN: secrets.githubToken, GITHUB_API_URL: gh.url }
  await settings({
    ...forgeSettings,
    WORKER_LLM_URL: llm.url,
    WORKER_MODEL,
    WORKER_API_KEY: secrets.workerKey,
    WORKER_TIMEOUT_SEC: 300,
    GITHUB_WEBHOOK_SECRET: secrets.webhookSecret,
    EMBEDDING_API_KEY: secrets.embeddingKey,
    ...options.settings,
  })
  const project = await t.api('POST', '/api/projects', { name: `widgets-${randomBytes(3).toString('hex')}`, repo_url: projectUrl, ...options.project }, people)
  if (project.status !== 201) throw new Error(`project: ${project.status} ${JSON.stringify(project.body)}`)
  return {
    t, llm, gh, ...(gitea ? { gitea } : {}), ...(gitlab ? { gitlab } : {}), git, secrets, repoUrl: projectUrl, people, settings, agentOutput: [],
    bare: join(git.root, 'acme', 'widgets.git'),
    projectId: project.body.id,
    async close() {
      await t.close()
      await Promise.all([llm.close(), gh.close(), gitea?.close(), gitlab?.close()])
      await git.close()
    },
  }
}

/** A ticket linked to two graph components and a note, so the prompt has context to carry. */
export async function createTicket(world: World, fields: Record<string, unknown> = {}): Promise<{ id: number }> {
  const { t, people, projectId } = world
  const graph = await t.api('GET', `/api/projects/${projectId}/graph`, undefined, people)
  if (!graph.body.nodes.length) {
    await t.api('PUT', `/api/projects/${projectId}/graph`, {
      version: graph.body.version,
      nodes: [
        { id: 'api', label: 'Widget API', type: 'service', tech: 'Node.js', description: 'HTTP API serving widgets' },
        { id: 'db', label: 'Widget DB', type: 'database', tech: 'PostgreSQL' },
      ],
      edges: [{ id: 'api-db', source: 'api', target: 'db', label: 'reads and writes', protocol: 'SQL' }],
    }, people)
    await t.api('POST', `/api/projects/${projectId}/notes`, { title: 'Conventions', content: 'Health endpoints answer plain text.', associated_node_ids: ['api'] }, people)
  }
  const res = await t.api('POST', `/api/projects/${projectId}/tickets`, {
    title: 'Add a health file', description: 'Create HEALTH.md saying the service is healthy.',
    associated_node_ids: ['api', 'db'], associated_edge_ids: ['api-db'], ...fields,
  }, people)
  if (res.status !== 201) throw new Error(`ticket: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

/** Claims the next job of the world's project through the worker API, as a coordinator would. */
export async function claimJob(world: World): Promise<ClaimedJob> {
  const res = await world.t.api('POST', '/api/worker/jobs/start', { project_id: world.projectId, coordinator_id: 'agent-tests' },
    { authorization: `Bearer ${world.secrets.workerApiKey}` })
  if (res.status !== 200) throw new Error(`claim: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

/** Moves a ticket to In Progress through `run`, then claims the job. */
export async function runAndClaim(world: World, ticketId: number): Promise<ClaimedJob> {
  const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticketId}/run`, undefined, world.people)
  if (run.status !== 201) throw new Error(`run: ${run.status} ${JSON.stringify(run.body)}`)
  return claimJob(world)
}

/** The bin directory of each provisioned CLI (scripts/provision-clis.sh --print). */
export function cliDirs(): Map<string, string> {
  const out = spawnSync('bash', [join(ROOT, 'scripts/provision-clis.sh'), '--print'], { encoding: 'utf8' }).stdout ?? ''
  return new Map(out.split('\n').filter(Boolean).map((line) => {
    const [name, bin] = line.split('\t') as [string, string]
    return [name, dirname(bin)]
  }))
}

export interface AgentProcessResult {
  code: number | null
  stdout: string
  stderr: string
  seconds: number
}

export interface AgentProcessOptions {
  kind?: 'ticket' | 'review'
  /** Extra variables (AGENT_WORKSPACE, CANCEL_POLL_SEC, overrides). */
  env?: Record<string, string>
  /** Directories put first on PATH (the CLI under test). */
  path?: string[]
  timeoutMs?: number
  onLine?: (line: string) => void
  /** The agent's process, e.g. to signal it. */
  onSpawn?: (child: ChildProcess) => void
}

/** Runs the agent from source as a child process with the coordinator's job environment. */
export function runAgentProcess(world: World, job: ClaimedJob, options: AgentProcessOptions = {}): Promise<AgentProcessResult> {
  const home = mkdtempSync(join(tmpdir(), 'agent-proc-home-'))
  const env: Record<string, string> = {
    PATH: [...(options.path ?? []), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter),
    HOME: home,
    LANG: 'C.UTF-8',
    LOG_LEVEL: 'warn',
    ...jobEnv(job, { apiUrl: world.t.url }),
    ...options.env,
  }
  const started = Date.now()
  const child = spawn(process.execPath, ['--import', pathToFileURL(join(ROOT, 'scripts/ts-register.mjs')).href, join(ROOT, 'agent.ts'), options.kind ?? job.kind],
    { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] })
  options.onSpawn?.(child)
  let stdout = ''
  let stderr = ''
  let partial = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk
    partial += chunk
    const lines = partial.split('\n')
    partial = lines.pop()!
    for (const line of lines) options.onLine?.(line)
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60 * 1000)
  const lease = holdJob(world, job)
  return new Promise((resolve) => {
    child.once('close', async (code) => {
      clearTimeout(timer)
      rmSync(home, { recursive: true, force: true })
      world.agentOutput.push(stdout, stderr)
      await lease.report(code)
      resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 })
    })
  })
}

/**
 * What a coordinator does around a run: heartbeat (else the reaper hands the job back when its
 * lease expires, and a later claim gets it again), then report complete or fail.
 */
export function holdJob(world: World, job: ClaimedJob): { report(exitCode: number | null): Promise<void> } {
  const worker = { authorization: `Bearer ${world.secrets.workerApiKey}` }
  const jobId = job.job_id
  const bound = { coordinator_id: 'agent-tests', claim_seq: job.claim_seq }
  // At once and then every 10 s, as a coordinator does from its claim on: a job held only later
  // (a wave of claims before the runs) may have used up most of its lease already.
  const beat = () => void world.t.api('POST', `/api/worker/jobs/${jobId}/heartbeat`, bound, worker).catch(() => {})
  beat()
  const heartbeat = setInterval(beat, 10_000)
  return {
    async report(exitCode) {
      clearInterval(heartbeat)
      const [path, body] = exitCode === 0 ? ['complete', { ...bound, exit_code: 0 }] : ['fail', { ...bound, exit_code: exitCode ?? -1, error: `agent exited ${exitCode}` }]
      await world.t.api('POST', `/api/worker/jobs/${jobId}/${path}`, body, worker).catch(() => {})
    },
  }
}

export interface LoggedEvent {
  seq: number
  job_id: number
  step: string
  summary: string
  raw_output: string | null
  event: Record<string, any> | null
}

export async function ticketEvents(world: World, ticketId: number): Promise<LoggedEvent[]> {
  const res = await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticketId}/logs?limit=1000`, undefined, world.people)
  return res.body.events
}

export async function getTicket(world: World, ticketId: number) {
  return (await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticketId}`, undefined, world.people)).body
}

/** `git` against the bare remote (e.g. `show ticket-1:HEALTH.md`); stdout, or null on failure. */
export function remoteGit(world: World, args: string[]): string | null {
  const result = spawnSync('git', ['--git-dir', world.bare, ...args], { encoding: 'utf8' })
  return result.status === 0 ? result.stdout : null
}

/**
 * An `aider` stand-in (Aider is Python; there is no PyPI here): answers --version, reads the
 * --message-file, records its arguments and environment names, writes HEALTH.md in the cwd and
 * prints what Aider prints for an applied edit and its token line.
 */
export function writeAiderStub(dir: string, record: string): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'aider')
  writeFileSync(path, `#!/bin/sh
if [ "$1" = "--version" ]; then echo "aider 0.86.1 (stub)"; exit 0; fi
{ printf '%s\\n' "$@"; echo ENV; env | cut -d= -f1 | sort; } > '${record}'
message=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--message-file" ]; then message="$2"; fi
  shift
done
[ -f "$message" ] || { echo "no message file" >&2; exit 2; }
echo "Aider v0.86.1 (stub)"
echo "Model: openai/fake-model with diff edit format"
echo "I'll add the health file."
echo ""
echo "HEALTH.md"
echo '<<<<<<< SEARCH'
echo '======='
echo 'healthy'
echo '>>>>>>> REPLACE'
printf 'healthy\\n' > HEALTH.md
echo "Applied edit to HEALTH.md"
echo "Tokens: 1.2k sent, 54 received. Cost: \\$0.01 message, \\$0.01 session."
`)
  chmodSync(path, 0o755)
  return dir
}

/** Runs scripts/build-agent-image.sh for `tag` (asynchronously: the world's servers keep serving). */
export function buildAgentImage(tag: string, env: Record<string, string> = {}): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now()
  const child = spawn('bash', [join(ROOT, 'scripts/build-agent-image.sh')], { cwd: ROOT, env: { ...process.env, AGENT_IMAGE: tag, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output, seconds: (Date.now() - started) / 1000 })))
}

/** Wraps a fake LLM script to note when the worker's first request arrived (the bench's figure). */
export function timedScript(script: Script, model = WORKER_MODEL): { script: Script; firstWorkerRequestAt(): number | undefined; reset(): void } {
  let first: number | undefined
  return {
    script: (request) => {
      if (request.model === model) first ??= Date.now()
      return script(request)
    },
    firstWorkerRequestAt: () => first,
    reset: () => (first = undefined),
  }
}
