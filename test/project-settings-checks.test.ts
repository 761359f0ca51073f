/**
 * The project's setup "Test" (`POST /api/projects/:id/settings/test`) tests the PROJECT's effective
 * settings: its own LLM URL with its own key, its own forge with its own token (and push to its
 * repository), never the app's; admins only, refusals and bad input named. And a repository URL
 * changed on project UPDATE is checked against REPO_ALLOWLIST with the project's own forge (a
 * GitLab under a relative URL root reads `/gitlab/acme/x.git` as `acme/x`, GitHub would not).
 * PGlite, one app: a few seconds.
 *   node --import ./scripts/ts-register.mjs test/project-settings-checks.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { PROXIED, firstAdmin, userWithRole } from './people-helpers.ts'
import { start as startGitHttp, type GitHttp } from './fixtures/git-http.ts'
import { start as startGitlab, type FakeGitlab } from './fixtures/fake-gitlab.ts'
import { start as startGithub, type FakeGithub } from './fixtures/fake-github.ts'
import { start as startLlm, type FakeLlm } from './fixtures/fake-llm.ts'

const KEYS = { app: 'sk-app-worker-key', project: 'sk-project-worker-key', director: 'sk-project-director-key' }
const TOKENS = { app: 'ghp_app_token_checks', project: 'glpat-project-checks' }
const REPO = 'acme/api'

let t: TestApp
let git: GitHttp
let gitlab: FakeGitlab
let github: FakeGithub
let appLlm: FakeLlm
let projectLlm: FakeLlm
let admin: Record<string, string>
let viewer: Record<string, string>
let member: Record<string, string>
let id: number

const testOf = (check: string, as = admin, projectId = id) => t.api('POST', `/api/projects/${projectId}/settings/test`, { check }, as)

test.before(async () => {
  git = await startGitHttp({ token: TOKENS.project })
  await git.createRepo(REPO)
  gitlab = await startGitlab({ git, gitToken: TOKENS.project, tokens: { [TOKENS.project]: 'terarchitect' }, relativeRoot: '/gitlab' })
  gitlab.state.addProject(REPO, { terarchitect: 40 })
  github = await startGithub({ tokens: { [TOKENS.app]: 'app-bot' }, repos: [REPO] })
  appLlm = await startLlm({ apiKey: KEYS.app })
  projectLlm = await startLlm({ apiKey: KEYS.project })
  t = await startTestApp({
    kind: 'pglite',
    env: { GITHUB_TOKEN: TOKENS.app, GITHUB_API_URL: github.url, WORKER_MODE: 'opencode', WORKER_MODEL: 'app-model', WORKER_LLM_URL: appLlm.url, WORKER_API_KEY: KEYS.app },
  })
  admin = { ...PROXIED, ...(await firstAdmin(t)) }
  viewer = { ...PROXIED, ...(await userWithRole(t, admin, 'vic', 'viewer')).headers }
  member = { ...PROXIED, ...(await userWithRole(t, admin, 'mia', 'member')).headers }
  const created = await t.api('POST', '/api/projects', { name: 'checked' }, admin)
  assert.is(created.status, 201, JSON.stringify(created.body))
  id = created.body.id
})

test.after(async () => {
  await t?.close()
  await Promise.all([gitlab?.close(), github?.close(), appLlm?.close(), projectLlm?.close()])
  await git?.close()
})

test('worker and Director LLM tests use the project\'s own URL, model and key; the app\'s key never goes to the project\'s URL', async () => {
  const put = await t.api('PUT', `/api/projects/${id}/settings`, { values: { WORKER_LLM_URL: projectLlm.url, WORKER_MODEL: 'project-model' } }, admin)
  assert.is(put.status, 200, JSON.stringify(put.body))
  const withheld = await testOf('worker-llm')
  assert.is(withheld.status, 200, JSON.stringify(withheld.body))
  assert.is(withheld.body.kind, 'wrong_key', `the project's URL without its own key: ${JSON.stringify(withheld.body)}`)
  assert.not.ok(projectLlm.keyWasSent(KEYS.app), 'the app\'s key never reaches a URL the project set')

  await t.api('PUT', `/api/projects/${id}/settings`, { values: { WORKER_API_KEY: KEYS.project } }, admin)
  const before = appLlm.requests.length
  const works = await testOf('worker-llm')
  assert.is(works.body.kind, 'ok', JSON.stringify(works.body))
  assert.match(works.body.reason, 'project-model')
  assert.ok(projectLlm.keyWasSent(KEYS.project))
  assert.is(appLlm.requests.length, before, 'the app\'s LLM was not called')
  // The app's own Test still tests the app's settings.
  const app = await t.api('POST', '/api/checks/worker-llm', {}, admin)
  assert.is(app.body.kind, 'ok', JSON.stringify(app.body))
  assert.match(app.body.reason, 'app-model')

  await t.api('PUT', `/api/projects/${id}/settings`, { values: { AGENT_LLM_URL: projectLlm.url, AGENT_MODEL: 'project-director', AGENT_API_KEY: KEYS.project } }, admin)
  const director = await testOf('director-llm')
  assert.is(director.body.kind, 'ok', JSON.stringify(director.body))
  assert.match(director.body.reason, 'project-director')
})

test('the forge test uses the project\'s forge and token, and push to its repository; the app\'s forge sees nothing', async () => {
  const put = await t.api('PUT', `/api/projects/${id}/settings`, { values: { FORGE_KIND: 'gitlab', FORGE_API_URL: gitlab.apiUrl } }, admin)
  assert.is(put.status, 200, JSON.stringify(put.body))
  const patched = await t.api('PATCH', `/api/projects/${id}`, { repo_url: `${gitlab.webUrl}/${REPO}.git` }, admin)
  assert.is(patched.status, 200, JSON.stringify(patched.body))
  const noToken = await testOf('forge')
  assert.is(noToken.body.kind, 'not_configured', `the app's token is withheld from the project's forge: ${JSON.stringify(noToken.body)}`)
  await t.api('PUT', `/api/projects/${id}/settings`, { values: { FORGE_TOKEN: TOKENS.project } }, admin)
  const githubBefore = github.requests.length
  const works = await testOf('forge')
  assert.is(works.body.kind, 'ok', JSON.stringify(works.body))
  assert.match(works.body.reason, `terarchitect and can push to ${REPO}`)
  assert.ok(gitlab.requests.length > 0 && gitlab.requests.every((r) => r.token === TOKENS.project), 'only the project\'s token reached GitLab')
  assert.is(github.requests.length, githubBefore, 'the app\'s forge was not called')
})

test('admins only; an unknown project is 404; an unknown check is 400 naming the field', async () => {
  assertError(await testOf('forge', viewer), 403)
  assertError(await testOf('worker-llm', member), 403)
  assertError(await testOf('forge', admin, 2147483647), 404)
  assertError(await testOf('embeddings'), 400, '/body/check')
  assertError(await t.api('POST', `/api/projects/${id}/settings/test`, {}, admin), 400, '/body/check')
  assertError(await t.api('POST', `/api/projects/${id}/settings/test`, { check: 'forge', extra: 1 }, admin), 400)
})

test('a repository URL changed on UPDATE is checked against REPO_ALLOWLIST with the project\'s own forge', async () => {
  assert.is((await t.api('PUT', '/api/settings', { values: { REPO_ALLOWLIST: 'acme/*' } }, admin)).status, 200)
  await git.createRepo('acme/web')
  gitlab.state.addProject('acme/web', { terarchitect: 40 })
  // On the project's GitLab (relative root /gitlab) this names acme/web: allowed. Read with the
  // app's GitHub it would be gitlab/acme/web, which the list does not name.
  const allowed = await t.api('PATCH', `/api/projects/${id}`, { repo_url: `${gitlab.webUrl}/acme/web.git` }, admin)
  assert.is(allowed.status, 200, JSON.stringify(allowed.body))
  assertError(await t.api('PATCH', `/api/projects/${id}`, { repo_url: `${gitlab.webUrl}/evil/web.git` }, admin), 400, '/body/repo_url')
  // A new project is read with the app's forge (it has no settings yet): the same URL is refused.
  assertError(await t.api('POST', '/api/projects', { name: 'new-one', repo_url: `${gitlab.webUrl}/acme/web.git` }, admin), 400, '/body/repo_url')
  assert.is((await t.api('PUT', '/api/settings', { values: { REPO_ALLOWLIST: null } }, admin)).status, 200)
})

test.run()
