/**
 * The project's setup "Test" (`POST /api/projects/:id/settings/test`) tests the PROJECT's effective
 * settings: its own LLM URL with its own key, its own forge with its own token (and push to its
 * repository), never the app's; admins only, refusals and bad input named. And a repository URL
 * changed on project UPDATE is checked against REPO_ALLOWLIST with the project's own forge (a
 * GitLab under a relative URL root reads `/gitlab/acme/x.git` as `acme/x`, GitHub would not).
 * And the project form's probe of a host the URL does not name (`POST /api/checks/forge-kind`).
 * PGlite, one app: a few seconds.
 *   node --import ./scripts/ts-register.mjs test/project-settings-checks.test.ts
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
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
  assert.is(withheld.body.kind, 'not_configured', `the project's URL without its own key: ${JSON.stringify(withheld.body)}`)
  assert.match(withheld.body.reason, 'WORKER_LLM_URL is set on this project, so WORKER_API_KEY must be set on the project too')
  assert.is(projectLlm.requests.length, 0, 'nothing is sent to the project\'s URL without its own key')
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

/** A host answering `/api/v1/version` as given, recording the headers each request carried. */
async function versionHost(answer: (path: string) => { status: number; type?: string; body: string; location?: string }) {
  const seen: { path: string; headers: Record<string, unknown> }[] = []
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers })
    const a = answer(req.url ?? '')
    res.writeHead(a.status, { 'content-type': a.type ?? 'application/json', ...(a.location ? { location: a.location } : {}) }).end(a.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

test('the project form asks a host the URL does not name whether it runs Gitea or Forgejo: admins only, no credentials sent, no redirect followed, nothing of the body passed on', async () => {
  const kindOf = (repo_url: unknown, as = admin) => t.api('POST', '/api/checks/forge-kind', { repo_url }, as)
  const gitea = await versionHost(() => ({ status: 200, body: '{"version":"1.22.3"}' }))
  const forgejo = await versionHost(() => ({ status: 200, body: '{"version":"9.0.1+gitea-1.22.0"}' }))
  const other = await versionHost((path) => (path === '/api/v1/version' ? { status: 302, body: '', location: `${gitea.url}/api/v1/version` } : { status: 404, body: '{}' }))
  const huge = await versionHost(() => ({ status: 200, body: JSON.stringify({ version: '1.0.0', pad: 'x'.repeat(8000) }) }))
  try {
    const found = await kindOf(`${gitea.url}/acme/shop.git`)
    assert.equal([found.status, found.body.kind, found.body.forgejo], [200, 'gitea', false], JSON.stringify(found.body))
    assert.is(gitea.seen[0]!.path, '/api/v1/version', 'only the version endpoint of the origin')
    assert.not.ok(gitea.seen[0]!.headers.authorization ?? gitea.seen[0]!.headers.cookie, 'no token or cookie is sent')
    assert.equal([(await kindOf(`${forgejo.url}/acme/shop`)).body.kind, (await kindOf(`${forgejo.url}/acme/shop`)).body.forgejo], ['gitea', true])
    const redirected = await kindOf(`${other.url}/acme/shop.git`)
    assert.is(redirected.body.kind, null, 'a redirect is not followed')
    assert.is(gitea.seen.length, 1, 'the redirect target was never asked')
    assert.is((await kindOf(`${huge.url}/a/b.git`)).body.kind, null, 'a long answer is not read')
    assert.not.match(JSON.stringify(await kindOf(`${huge.url}/a/b.git`)), 'xxxx', 'nothing of the body comes back')
    assertError(await kindOf(`${gitea.url}/acme/shop.git`, viewer), 403)
    assertError(await kindOf(`${gitea.url}/acme/shop.git`, member), 403)
    for (const bad of ['file:///etc/passwd', 'not a url', '', 'ext::sh -c id', 5]) assertError(await kindOf(bad), 400, '/body/repo_url', String(bad))
    assertError(await t.api('POST', '/api/checks/forge-kind', {}, admin), 400, '/body/repo_url')
  } finally {
    await Promise.all([gitea.close(), forgejo.close(), other.close(), huge.close()])
  }
})

test.run()
