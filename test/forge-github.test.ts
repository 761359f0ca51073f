// The GitHub forge plugin against the fake GitHub backed by the real git smart-HTTP server: the
// forge conformance suite, GitHub's own repository URL forms, and every request the plugin made
// during the run checked against GitHub's published OpenAPI description.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Forge } from '../core/forge.ts'
import { github } from '../plugins/forges/github/index.ts'
import { gitHost, parseRepo, requestUrl, webBase } from '../plugins/forges/github/repo-url.ts'
import { forgeConformance, type ForgeFixture } from './forge-conformance.ts'
import { ERROR_BODY_MARKER, start as startGithub, webhookDelivery } from './fixtures/fake-github.ts'
import { enableGithubCi } from './fixtures/fake-github-checks.ts'
import { GIT_IDENTITY, start as startGit } from './fixtures/git-http.ts'
import { checkAgainstDescription, type RecordedRequest } from './github-openapi.ts'
import { assertError } from './api-helpers.ts'
import { createRunnableProject, createTicket, startTestApp, type TestApp } from './helpers.ts'
import { ingestComment } from '../core/services/review/comments.ts'
import { reviewSettings } from '../core/services/review/forge.ts'
import { getPr } from '../core/services/review/prs.ts'

const run = promisify(execFile)
const TOKEN = 'ghp_conformance_app_token'
const REPO = 'acme/shop'

const recorded: (RecordedRequest & { enterprise: boolean })[] = []

async function startFixture(apiPrefix = ''): Promise<ForgeFixture> {
  const git = await startGit({ token: TOKEN })
  const cloneUrl = await git.createRepo(REPO, { 'README.md': '# shop\n\nline two\n' })
  const gh = await startGithub({ tokens: { [TOKEN]: 'terarchitect-bot' }, repos: [REPO], gitRoot: git.root })
  const repo = gh.state.repo(REPO)!
  repo.permissions = { 'alice-writer': 'write', 'bob-reader': 'read', 'terarchitect-bot': 'write' }
  const forge = github({ onRequest: (method, url, body) => recorded.push({ method, url, body, enterprise: apiPrefix !== '' }) })
  const work = await mkdtemp(join(tmpdir(), 'forge-github-'))
  const gitEnv = {
    ...process.env, ...GIT_IDENTITY,
    GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`,
  }
  const clone = join(work, 'seed')
  await run('git', ['clone', '--quiet', cloneUrl, clone], { env: gitEnv })
  return {
    forge,
    connection: { apiUrl: gh.url + apiPrefix, token: TOKEN },
    repo: REPO,
    cloneUrl,
    writer: 'alice-writer',
    reader: 'bob-reader',
    bot: 'ci-helper[bot]',
    errorBodyMarker: ERROR_BODY_MARKER,
    async pushBranch(name) {
      await run('git', ['-C', clone, 'checkout', '--quiet', '-B', name, 'origin/main'], { env: gitEnv })
      await writeFile(join(clone, `${name}.txt`), `work on ${name}\n`)
      await run('git', ['-C', clone, 'add', '--all'], { env: gitEnv })
      await run('git', ['-C', clone, 'commit', '--quiet', '-m', `Work on ${name}`], { env: gitEnv })
      await run('git', ['-C', clone, 'push', '--quiet', 'origin', `HEAD:refs/heads/${name}`], { env: gitEnv })
    },
    personComment: async (login, number, body) => void gh.state.addComment(REPO, number, login, body),
    personInlineComment: async (login, number, path, line, body) => void gh.state.addReviewComment(REPO, number, login, body, path, line),
    personApprove: async (login, number) => void gh.state.addReview(REPO, number, login, 'APPROVED'),
    personClose: async (number) => gh.state.closePull(REPO, number),
    ci: { enable: (script) => enableGithubCi(gh.state, REPO, { gitRoot: git.root, script }).stop },
    issues: {
      open: async (login, fields) => gh.state.openIssue(REPO, login, fields).number,
      label: async (login, number, label) => gh.state.label(REPO, number, login, label),
      state: async (number) => gh.state.issueOf(REPO, number).state,
    },
    webhookDelivery(secret, event, number, body) {
      const pull = gh.state.pullOf(REPO, number)!
      const repository = { full_name: REPO, name: 'shop', owner: { login: 'acme' } }
      if (event === 'comment') {
        const comment = { ...gh.state.addComment(REPO, number, 'alice-writer', body ?? 'hello') }
        return webhookDelivery(secret, 'issue_comment', { action: 'created', issue: { number, pull_request: { url: pull.html_url } }, comment, repository })
      }
      return webhookDelivery(secret, 'pull_request', { action: 'closed', number, pull_request: { ...pull, state: 'closed', merged: false, merged_at: null }, repository })
    },
    async close() {
      await gh.close()
      await git.close()
      await rm(work, { recursive: true, force: true })
    },
  }
}

forgeConformance('github', () => startFixture()).run()
forgeConformance('github enterprise (/api/v3)', () => startFixture('/api/v3')).run()

const urls = suite('github repository URLs and hosts')

urls('owner/name from https, ssh, scp-style, Enterprise and pull request URLs', () => {
  assert.is(parseRepo('https://github.com/acme/shop.git'), 'acme/shop')
  assert.is(parseRepo('https://github.com/acme/shop'), 'acme/shop')
  assert.is(parseRepo('git@github.com:acme/shop.git'), 'acme/shop')
  assert.is(parseRepo('ssh://git@github.com/acme/shop.git'), 'acme/shop')
  assert.is(parseRepo('https://ghe.example/team/acme/shop.git'), 'acme/shop')
  assert.is(parseRepo('https://github.com/acme/shop/pull/42'), 'acme/shop')
  assert.is(parseRepo('https://github.com/acme.io/my_repo-2.git'), 'acme.io/my_repo-2')
})

urls('segments that would reach another API path are refused', () => {
  for (const url of ['git@github.com:../../user', 'git@github.com:acme/..', 'git@github.com:./shop', 'git@github.com:acme/shop?x=1',
    'git@github.com:acme/shop#frag', 'git@github.com:acme/sh%2Fop', 'https://github.com/acme', 'git@github.com:acme/sh op',
    'https://github.com/acme/shop?x=1', 'https://github.com/acme/shop#x']) {
    assert.is(parseRepo(url), null, url)
  }
})

urls('web and git hosts of github.com and of GitHub Enterprise Server', () => {
  assert.is(webBase('https://api.github.com').href, 'https://github.com/')
  assert.is(webBase('https://ghe.example.com/api/v3/').href, 'https://ghe.example.com/')
  assert.is(gitHost('https://api.github.com'), 'github.com')
  assert.is(gitHost('https://ghe.example.com/api/v3'), 'ghe.example.com')
  assert.is(requestUrl('https://api.github.com', 'acme/shop', 7), 'https://github.com/acme/shop/pull/7')
  assert.is(requestUrl('https://ghe.example.com/api/v3', 'acme/shop', 7), 'https://ghe.example.com/acme/shop/pull/7')
})

urls.run()

const described = suite('github requests match GitHub\'s OpenAPI description')

described('every request the plugin made in the conformance runs is a described operation with its required fields', () => {
  const cloud = recorded.filter((r) => !r.enterprise)
  const enterprise = recorded.filter((r) => r.enterprise)
  assert.ok(cloud.length > 40 && enterprise.length > 40, `requests recorded: ${cloud.length} + ${enterprise.length}`)
  assert.equal(checkAgainstDescription(cloud), [], 'api.github.com')
  assert.equal(checkAgainstDescription(enterprise, 'ghes-3.19'), [], 'GitHub Enterprise Server 3.19')
})

described('the check refuses an undescribed path and a missing required field', () => {
  const problems = checkAgainstDescription([
    { method: 'GET', url: 'https://api.github.com/repos/acme/shop/pulls/1/nonsense', body: undefined },
    { method: 'POST', url: 'https://api.github.com/repos/acme/shop/pulls', body: { title: 'x', base: 'main' } },
  ])
  assert.is(problems.length, 2, problems.join('\n'))
  assert.match(problems[0]!, 'not described')
  assert.match(problems[1]!, 'head')
})

described.run()

// The app's side: FORGE_* settings choose the forge, its API URL, token and webhook secret; the
// GITHUB_* names keep working as GitHub's aliases.
const app = suite<{ t: TestApp; gh: Awaited<ReturnType<typeof startGithub>> }>('the app on the GitHub forge: FORGE_ settings and webhooks by kind')
const FORGE_TOKEN = 'ghp_forge_setting_token'
const put = async (t: TestApp, values: Record<string, string | null>) => {
  const res = await t.api('PUT', '/api/settings', { values })
  assert.is(res.status, 200, JSON.stringify(res.body))
}
const deliver = (t: TestApp, kind: string, delivery: { headers: Record<string, string>; body: Buffer }) =>
  fetch(`${t.url}/api/webhooks/${kind}`, { method: 'POST', headers: delivery.headers, body: new Uint8Array(delivery.body) })
const ping = { zen: 'Keep it logically awesome.', hook_id: 1 }

app.before(async (context) => {
  context.gh = await startGithub({ tokens: { [FORGE_TOKEN]: 'forge-bot', [TOKEN]: 'terarchitect-bot' }, repos: [REPO] })
  context.t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: '' } })
})
app.after(async ({ t, gh }) => {
  await t?.close()
  await gh?.close()
})

app('FORGE_KIND takes a registered kind only (400 naming it otherwise)', async ({ t }) => {
  assertError(await t.api('PUT', '/api/settings', { values: { FORGE_KIND: 'bitbucket' } }), 400, '/body/values/FORGE_KIND')
  const listed = (await t.api('GET', '/api/settings')).body.settings.find((s: any) => s.key === 'FORGE_KIND')
  assert.ok(listed.choices.includes('github'), JSON.stringify(listed))
  assert.is(listed.value, 'github', 'the default')
  await put(t, { FORGE_KIND: 'github' })
})

app('FORGE_API_URL and FORGE_TOKEN win over the GITHUB_ names, and the token reaches only that API', async ({ t, gh }) => {
  await put(t, { FORGE_API_URL: gh.url, FORGE_TOKEN, GITHUB_API_URL: 'http://127.0.0.1:9', GITHUB_TOKEN: 'ghp_alias_that_must_not_be_sent' })
  const check = await t.api('POST', '/api/checks/forge', {})
  assert.is(check.body.kind, 'ok', JSON.stringify(check.body))
  assert.match(check.body.reason, /forge-bot/)
  assert.ok(gh.requests.length > 0 && gh.requests.every((r) => r.token === FORGE_TOKEN), JSON.stringify(gh.requests))
  const problems = (await t.api('GET', '/api/settings/check')).body.problems
  assert.not.ok(problems.some((p: any) => p.key === 'GITHUB_TOKEN'), 'FORGE_TOKEN is a forge token: nothing is missing')
  // The aliases alone still work.
  await put(t, { FORGE_API_URL: null, FORGE_TOKEN: null, GITHUB_API_URL: gh.url, GITHUB_TOKEN: TOKEN })
  const alias = await t.api('POST', '/api/checks/forge', {})
  assert.is(alias.body.kind, 'ok', JSON.stringify(alias.body))
  assert.match(alias.body.reason, /terarchitect-bot/)
  await put(t, { GITHUB_TOKEN: null })
  const none = (await t.api('GET', '/api/settings/check')).body.problems.find((p: any) => p.key === 'GITHUB_TOKEN')
  assert.is(none?.severity, 'error', 'no token at all stops runs')
})

app('webhooks by kind: FORGE_WEBHOOK_SECRET, GITHUB_WEBHOOK_SECRET as its alias, refusals before parsing', async ({ t }) => {
  const refused = await deliver(t, 'github', webhookDelivery('anything', 'ping', ping))
  assert.is(refused.status, 401, 'no secret set: refused')
  await put(t, { GITHUB_WEBHOOK_SECRET: 'alias-secret' })
  assert.is((await deliver(t, 'github', webhookDelivery('alias-secret', 'ping', ping))).status, 200, 'the alias')
  await put(t, { FORGE_WEBHOOK_SECRET: 'forge-secret' })
  // A hook set up again with the new secret: its ping names the new hook (the same body would be a repeat, 409).
  assert.is((await deliver(t, 'github', webhookDelivery('forge-secret', 'ping', { ...ping, hook_id: 2 }))).status, 200)
  assert.is((await deliver(t, 'github', webhookDelivery('alias-secret', 'ping', ping))).status, 401, 'FORGE_WEBHOOK_SECRET wins')
  const untracked = await deliver(t, 'github', webhookDelivery('forge-secret', 'issue_comment', {
    action: 'created', issue: { number: 9, pull_request: {} }, comment: { id: 1, body: 'x', user: { login: 'u' } }, repository: { full_name: 'acme/else' },
  }))
  assert.is(untracked.status, 200)
  assert.match((await untracked.json()).ignored, /not a tracked pull request/)
  // Unsigned garbage is refused before it is read: 401, not 400.
  assert.is((await deliver(t, 'github', { headers: { 'content-type': 'application/json', 'x-github-event': 'ping' }, body: Buffer.from('{not json') })).status, 401)
  assert.is((await deliver(t, 'gitlab-nope', webhookDelivery('forge-secret', 'ping', ping))).status, 404, 'a kind without a plugin')
  assert.is((await deliver(t, 'GitHub', webhookDelivery('forge-secret', 'ping', ping))).status, 400, 'a malformed kind')
})

app('the same comment id on two requests (two forges number independently) is stored for each', async ({ t }) => {
  const project = await createRunnableProject(t)
  const ids: number[] = []
  for (const number of [1, 2]) {
    const ticket = await createTicket(t, project.id)
    const [row] = await t.app.ctx.sql`insert into prs (project_id, ticket_id, repo, number, url, tracking)
      values (${project.id}, ${ticket.id}, ${`acme/r${number}`}, ${number}, null, true) returning id`
    ids.push(row!.id as number)
  }
  const settings = { ...(await reviewSettings(t.app.ctx)), allowedAuthors: new Set(['alice']) }
  const comment = { kind: 'issue_comment' as const, id: 4242, author: 'alice', authorIsBot: false, body: 'Please rename it', path: null, line: null,
    reviewState: null, url: null, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' }
  for (const id of ids) {
    const stored = await ingestComment(t.app.ctx, (await getPr(t.app.ctx.sql, id))!, comment, { settings, client: null })
    assert.is(stored.created, true, `stored for request row ${id}`)
    assert.is(stored.authorized, true)
  }
  const again = await ingestComment(t.app.ctx, (await getPr(t.app.ctx.sql, ids[0]!))!, comment, { settings, client: null })
  assert.is(again.created, false, 'once per request')
})

app.run()

// Another forge kind never gets the GitHub token: with FORGE_KIND on it, only FORGE_TOKEN counts.
const other = suite<{ t: TestApp; connected: string[] }>('another forge kind reads FORGE_TOKEN only')

other.before(async (context) => {
  context.connected = []
  const elsewhere: Forge = {
    ...github(), kind: 'elsewhere', defaultApiUrl: 'http://127.0.0.1:9/api',
    connect: (connection) => (context.connected.push(connection.token), github().connect(connection)),
  }
  context.t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: TOKEN }, forges: [github(), elsewhere] })
})
other.after(async ({ t }) => t?.close())

other('the GitHub token is not the other forge\'s: the check and Run name FORGE_TOKEN', async ({ t, connected }) => {
  const before = (await t.api('GET', '/api/settings/check')).body.problems
  assert.not.ok(before.some((p: any) => p.key === 'GITHUB_TOKEN' || p.key === 'FORGE_TOKEN'), 'GitHub with GITHUB_TOKEN: nothing missing')
  await put(t, { FORGE_KIND: 'elsewhere' })
  const problems = (await t.api('GET', '/api/settings/check')).body.problems
  assert.is(problems.find((p: any) => p.key === 'FORGE_TOKEN')?.severity, 'error', JSON.stringify(problems))
  assert.not.ok(problems.some((p: any) => p.key === 'GITHUB_TOKEN'))
  const check = await t.api('POST', '/api/checks/forge', {})
  assert.is(check.body.kind, 'not_configured', JSON.stringify(check.body))
  assert.match(check.body.reason, /FORGE_TOKEN is not set/)
  const project = await createRunnableProject(t)
  const ticket = await createTicket(t, project.id)
  const run = await t.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/run`)
  assertError(run, 422, '/settings/FORGE_TOKEN')
  assert.equal(connected, [], 'no client of the other forge was made with any token')
  await put(t, { FORGE_TOKEN: 'elsewhere-token' })
  assert.not.ok((await t.api('GET', '/api/settings/check')).body.problems.some((p: any) => p.key === 'FORGE_TOKEN'))
  await t.api('POST', '/api/checks/forge', {})
  assert.equal(connected, ['elsewhere-token'])
})

other.run()
