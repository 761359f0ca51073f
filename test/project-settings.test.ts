// Per-project settings over HTTP: two projects in one app, one on the fake GitLab with its own
// token and Codex, one on the fake GitHub with its own token and Claude Code; each job's claim and
// worker context carry its own project's worker, each forge sees only its own project's token; a
// project that points its forge or LLM somewhere of its own without its own secret cannot run and
// its check says why; the per-project cap holds under concurrent claims; access and bad input.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError, snapshotTables } from './api-helpers.ts'
import { PROXIED, firstAdmin, userWithRole } from './people-helpers.ts'
import { start as startGitHttp, type GitHttp } from './fixtures/git-http.ts'
import { start as startGitlab, type FakeGitlab } from './fixtures/fake-gitlab.ts'
import { start as startGithub, webhookDelivery, type FakeGithub } from './fixtures/fake-github.ts'
import { PROJECT_SETTING_KEYS } from '../core/services/project-settings-resolve.ts'

const GL_REPO = 'acme/api'
const GH_REPO = 'octo/web'
const TOKENS = { gitlab: 'glpat-project-gitlab', github: 'ghp_project_github', app: 'ghp_app_token' }

interface World { t: TestApp; git: GitHttp; gitlab: FakeGitlab; github: FakeGithub; work: string; admin: Record<string, string>; member: Record<string, string>; viewer: Record<string, string> }
const test = suite<World>('per-project settings (postgres)')

const entry = (res: { body: any }, key: string) => res.body.settings.find((s: any) => s.key === key)
const putProject = (w: World, id: number, values: Record<string, unknown>, as = w.admin) => w.t.api('PUT', `/api/projects/${id}/settings`, { values }, as)

async function project(w: World, name: string, repoUrl: string, values: Record<string, unknown>): Promise<number> {
  // Created without a repository, then given its forge, then its repository: the save checks the
  // repository on the project's own forge with the project's own token.
  const created = await w.t.api('POST', '/api/projects', { name }, w.admin)
  assert.is(created.status, 201, JSON.stringify(created.body))
  const id = created.body.id as number
  assert.is((await putProject(w, id, values)).status, 200)
  const patched = await w.t.api('PATCH', `/api/projects/${id}`, { repo_url: repoUrl }, w.admin)
  assert.is(patched.status, 200, JSON.stringify(patched.body))
  return id
}

async function createTicket(w: World, projectId: number, fields: Record<string, unknown> = {}): Promise<{ id: number }> {
  const res = await w.t.api('POST', `/api/projects/${projectId}/tickets`, { title: 'Add a health endpoint', ...fields }, w.admin)
  assert.is(res.status, 201, JSON.stringify(res.body))
  return res.body
}

async function claimFor(w: World, projectId: number) {
  const ticket = await createTicket(w, projectId, { column_id: 'in_progress' })
  const claim = await w.t.api('POST', '/api/worker/jobs/start', { project_id: projectId })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  const context = await w.t.api('GET', `/api/projects/${projectId}/tickets/${ticket.id}/worker-context`, undefined, { authorization: `Bearer ${claim.body.agent_token}` })
  assert.is(context.status, 200, JSON.stringify(context.body))
  return { claim: claim.body, context: context.body }
}

test.before(async (w) => {
  w.work = await mkdtemp(join(tmpdir(), 'project-settings-'))
  w.git = await startGitHttp({ root: w.work })
  await w.git.createRepo(GL_REPO, { 'README.md': '# api\n' })
  await w.git.createRepo(GH_REPO, { 'README.md': '# web\n' })
  w.gitlab = await startGitlab({ git: w.git, tokens: { [TOKENS.gitlab]: 'terarchitect' } })
  w.gitlab.state.addProject(GL_REPO, { terarchitect: 40 })
  w.github = await startGithub({ tokens: { [TOKENS.github]: 'terarchitect-bot', [TOKENS.app]: 'app-bot' }, repos: [GH_REPO] })
  w.t = await startTestApp({ kind: 'postgres', env: { GITHUB_TOKEN: TOKENS.app, GITHUB_API_URL: w.github.url, WORKER_MODE: 'opencode', WORKER_LLM_URL: 'http://127.0.0.1:9/v1', WORKER_API_KEY: 'sk-app-worker-key' } })
  w.admin = { ...PROXIED, ...(await firstAdmin(w.t)) }
  w.member = { ...PROXIED, ...(await userWithRole(w.t, w.admin, 'mia', 'member')).headers }
  w.viewer = { ...PROXIED, ...(await userWithRole(w.t, w.admin, 'vic', 'viewer')).headers }
})
test.after(async (w) => {
  await w.t?.close()
  await w.gitlab?.close()
  await w.github?.close()
  await w.git?.close()
  if (w.work) await rm(w.work, { recursive: true, force: true })
  await stopOwnCluster()
})

test('two projects, two forges, two workers: each job gets its own project\'s worker and each forge only its own project\'s token', async (w) => {
  const gl = await project(w, 'on-gitlab', `${w.gitlab.webUrl}/${GL_REPO}.git`, { FORGE_KIND: 'gitlab', FORGE_API_URL: w.gitlab.apiUrl, FORGE_TOKEN: TOKENS.gitlab, WORKER_MODE: 'codex', WORKER_MODEL: 'gpt-5-codex' })
  const gh = await project(w, 'on-github', `https://github.com/${GH_REPO}.git`, { GITHUB_TOKEN: TOKENS.github, WORKER_MODE: 'claude-code', GIT_AUTHOR_NAME: 'Web Bot', GIT_AUTHOR_EMAIL: 'web-bot@example.com' })

  const settings = await w.t.api('GET', `/api/projects/${gl}/settings`, undefined, w.viewer)
  assert.is(settings.status, 200)
  assert.equal(settings.body.settings.map((s: any) => s.key), [...PROJECT_SETTING_KEYS])
  assert.equal([entry(settings, 'FORGE_KIND').value, entry(settings, 'FORGE_KIND').source], ['gitlab', 'project'])
  assert.equal([entry(settings, 'FORGE_TOKEN').value, entry(settings, 'FORGE_TOKEN').set, entry(settings, 'FORGE_TOKEN').source], [null, true, 'project'])
  assert.equal([entry(settings, 'WORKER_LLM_URL').value, entry(settings, 'WORKER_LLM_URL').source], ['http://127.0.0.1:9/v1', 'env'])
  assert.equal([entry(settings, 'WORKER_TIMEOUT_SEC').source, entry(settings, 'MAX_CONCURRENT_AGENTS').source], ['default', 'unset'])
  assert.ok(settings.body.settings.filter((s: any) => s.secret).every((s: any) => s.value === null), 'no secret value is read back')
  assert.not.match(JSON.stringify(settings.body), TOKENS.gitlab)

  const before = { gitlab: w.gitlab.requests.length, github: w.github.requests.length }
  for (const id of [gl, gh]) {
    const check = await w.t.api('POST', '/api/checks/forge', { project_id: id }, w.admin)
    assert.is(check.body.kind, 'ok', JSON.stringify(check.body))
  }
  const gitlabCalls = w.gitlab.requests.slice(before.gitlab)
  const githubCalls = w.github.requests.slice(before.github)
  assert.ok(gitlabCalls.length > 0 && gitlabCalls.every((r) => r.token === TOKENS.gitlab), `GitLab saw only its project's token: ${JSON.stringify(gitlabCalls)}`)
  assert.ok(githubCalls.length > 0 && githubCalls.every((r) => r.token === TOKENS.github), `GitHub saw only its project's token: ${JSON.stringify(githubCalls)}`)
  assert.ok(w.gitlab.requests.every((r) => r.token !== TOKENS.github && r.token !== TOKENS.app), 'no GitHub token ever reached GitLab')
  assert.ok(w.github.requests.every((r) => r.token !== TOKENS.gitlab), 'the GitLab token never reached GitHub')

  const onGitlab = await claimFor(w, gl)
  const onGithub = await claimFor(w, gh)
  assert.equal([onGitlab.claim.worker_mode, onGitlab.context.settings.WORKER_MODE, onGitlab.context.project.worker_mode, onGitlab.context.settings.WORKER_MODEL], ['codex', 'codex', 'codex', 'gpt-5-codex'])
  assert.equal([onGithub.claim.worker_mode, onGithub.context.settings.WORKER_MODE, onGithub.context.settings.WORKER_MODEL], ['claude-code', 'claude-code', 'test-model'])
  assert.equal([onGithub.context.settings.GIT_AUTHOR_NAME, onGithub.context.settings.GIT_AUTHOR_EMAIL], ['Web Bot', 'web-bot@example.com'])
  assert.is(onGitlab.context.settings.GIT_AUTHOR_NAME, undefined, 'the other project keeps the agent\'s identity')
  for (const body of [onGitlab, onGithub]) {
    const text = JSON.stringify(body)
    for (const secret of [...Object.values(TOKENS), 'sk-app-worker-key']) assert.not.match(text, secret, 'no token or key reaches the agent')
  }
  for (const id of [gl, gh]) assert.equal((await w.t.api('GET', `/api/projects/${id}/settings/check`, undefined, w.viewer)).body, { ok: true, problems: [] })
})

test('a project that sets its own forge or LLM URL without its own secret cannot run, and its check says why', async (w) => {
  const forge = await project(w, 'own-forge-url', `https://github.com/${GH_REPO}.git`, {})
  await putProject(w, forge, { GITHUB_API_URL: 'http://127.0.0.1:9/api/v3' })
  const check = await w.t.api('GET', `/api/projects/${forge}/settings/check`, undefined, w.viewer)
  assert.is(check.body.ok, false)
  const problem = check.body.problems.find((p: any) => p.key === 'FORGE_TOKEN')
  assert.ok(problem && problem.severity === 'error', JSON.stringify(check.body))
  assert.match(problem.message, /GITHUB_API_URL is set on this project, so FORGE_TOKEN must be set on the project too/)
  assert.is(entry(await w.t.api('GET', `/api/projects/${forge}/settings`, undefined, w.viewer), 'GITHUB_TOKEN').status, 'withheld')
  const ticket = await createTicket(w, forge)
  assertError(await w.t.api('POST', `/api/projects/${forge}/tickets/${ticket.id}/run`, undefined, w.admin), 422, '/settings/FORGE_TOKEN')
  const forgeCheck = await w.t.api('POST', '/api/checks/forge', { project_id: forge }, w.admin)
  assert.is(forgeCheck.body.kind, 'not_configured', 'the app\'s token is not used for the project\'s own URL')
  await putProject(w, forge, { GITHUB_TOKEN: 'ghp_own_for_own_url' })
  assert.is((await w.t.api('GET', `/api/projects/${forge}/settings/check`, undefined, w.viewer)).body.ok, true, 'its own token lifts it')

  const llm = await project(w, 'own-llm-url', `https://github.com/${GH_REPO}.git`, { WORKER_LLM_URL: 'http://127.0.0.1:9/collector' })
  const llmCheck = await w.t.api('GET', `/api/projects/${llm}/settings/check`, undefined, w.viewer)
  assert.equal(llmCheck.body.problems.map((p: any) => [p.key, p.severity]), [['WORKER_API_KEY', 'error']])
  assert.match(llmCheck.body.problems[0].message, /WORKER_LLM_URL is set on this project, so WORKER_API_KEY must be set on the project too/)
  const llmTicket = await createTicket(w, llm)
  assertError(await w.t.api('POST', `/api/projects/${llm}/tickets/${llmTicket.id}/run`, undefined, w.admin), 422, '/settings/WORKER_API_KEY')
  await putProject(w, llm, { AGENT_LLM_URL: 'http://127.0.0.1:9/director', AGENT_MODEL: 'planner', WORKER_API_KEY: 'sk-own' })
  const director = await w.t.api('GET', `/api/projects/${llm}/settings/check`, undefined, w.viewer)
  assert.equal(director.body.problems.map((p: any) => p.key), [], 'the app has no Director key to withhold')
})

test('MAX_CONCURRENT_AGENTS on a project caps its running jobs across concurrent claims', async (w) => {
  const capped = await project(w, 'capped', `https://github.com/${GH_REPO}.git`, { MAX_CONCURRENT_AGENTS: 2 })
  for (let i = 0; i < 6; i++) await createTicket(w, capped, { column_id: 'in_progress' })
  const claims = await Promise.all(Array.from({ length: 8 }, (_, i) =>
    w.t.api('POST', '/api/worker/jobs/start', { project_id: capped, coordinator_id: `c${i}` })))
  assert.is(claims.filter((c) => c.status === 200).length, 2, JSON.stringify(claims.map((c) => c.status)))
  assert.ok(claims.every((c) => c.status === 200 || c.status === 204))
  const [running] = await w.t.app.ctx.sql`select count(*)::int as n from agent_jobs where project_id = ${capped} and status = 'running'`
  assert.is(running!.n, 2)
  await putProject(w, capped, { MAX_CONCURRENT_AGENTS: null })
  assert.is((await w.t.api('POST', '/api/worker/jobs/start', { project_id: capped })).status, 200, 'cleared, the project runs more')
})

test('a project\'s own webhook secret verifies deliveries about its repository, and only those; the app\'s the rest', async (w) => {
  assert.is((await w.t.api('PUT', '/api/settings', { values: { GITHUB_WEBHOOK_SECRET: 'app-hook-secret' } }, w.admin)).status, 200)
  const gh = (await w.t.api('GET', '/api/projects', undefined, w.admin)).body.find((p: any) => p.name === 'on-github').id as number
  assert.is((await putProject(w, gh, { GITHUB_WEBHOOK_SECRET: 'project-hook-secret' })).status, 200)
  // The other projects on the same repository verify with their own secret (inheriting, they would take the app's for themselves).
  const others = (await w.t.api('GET', '/api/projects', undefined, w.admin)).body.filter((p: any) => p.id !== gh && p.repo_url?.includes(GH_REPO))
  for (const other of others) assert.is((await putProject(w, other.id, { GITHUB_WEBHOOK_SECRET: 'other-hook-secret' })).status, 200)
  const about = (repo: string, secret: string) => {
    const d = webhookDelivery(secret, 'issue_comment', { action: 'created', issue: { number: 9, pull_request: {} }, comment: { id: 1, body: 'x', user: { login: 'u' } }, repository: { full_name: repo } })
    return fetch(`${w.t.url}/api/webhooks/github`, { method: 'POST', headers: d.headers, body: new Uint8Array(d.body) })
  }
  assert.is((await about(GH_REPO, 'project-hook-secret')).status, 200, 'the project\'s secret verifies its repository\'s delivery')
  assert.is((await about(GH_REPO, 'app-hook-secret')).status, 401, 'the app\'s secret does not, for that repository')
  assert.is((await about('acme/else', 'app-hook-secret')).status, 200, 'the app\'s secret verifies other repositories')
  assert.is((await about('acme/else', 'project-hook-secret')).status, 401, 'the project\'s secret verifies no other repository')
})

test('access: viewers read, only admins write; secrets never read back', async (w) => {
  const id = (await w.t.api('GET', '/api/projects', undefined, w.admin)).body[0].id as number
  assert.is((await w.t.api('GET', `/api/projects/${id}/settings`, undefined, w.viewer)).status, 200)
  assertError(await putProject(w, id, { WORKER_MODEL: 'x' }, w.viewer), 403)
  assertError(await putProject(w, id, { WORKER_MODEL: 'x' }, w.member), 403)
  assertError(await w.t.api('GET', `/api/projects/${id}/settings`, undefined, { 'x-forwarded-for': '203.0.113.7' }), 401)
  assertError(await w.t.api('GET', '/api/projects/999999/settings', undefined, w.viewer), 404)
  assertError(await putProject(w, 999999, { WORKER_MODEL: 'x' }), 404)
})

test('bad input is 400 naming the field; nothing is written', async (w) => {
  const id = (await w.t.api('GET', '/api/projects', undefined, w.admin)).body[0].id as number
  const cases: [Record<string, unknown>, string][] = [
    [{ NOT_A_SETTING: 'x' }, '/body/values/NOT_A_SETTING'],
    [{ EMBEDDING_API_KEY: 'x' }, '/body/values/EMBEDDING_API_KEY'],
    [{ FORGE_KIND: 'bitbucket' }, '/body/values/FORGE_KIND'],
    [{ WORKER_MODE: 'vim' }, '/body/values/WORKER_MODE'],
    [{ MAX_CONCURRENT_AGENTS: 'two' }, '/body/values/MAX_CONCURRENT_AGENTS'],
    [{ MAX_CONCURRENT_AGENTS: 0 }, '/body/values/MAX_CONCURRENT_AGENTS'],
    [{ FORGE_API_URL: 'https://user:pw@gitlab.example/api/v4' }, '/body/values/FORGE_API_URL'],
    [{ GIT_AUTHOR_EMAIL: 'not an email' }, '/body/values/GIT_AUTHOR_EMAIL'],
    [{ WORKER_MODEL: ['a'] }, '/body/values/WORKER_MODEL'],
  ]
  const before = await snapshotTables(w.t)
  for (const [values, path] of cases) assertError(await putProject(w, id, { WORKER_MODEL: 'kept-out', ...values }), 400, path)
  assert.equal(await snapshotTables(w.t), before, 'a refused write changes nothing')
})

test.run()
