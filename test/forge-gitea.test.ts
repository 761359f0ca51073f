/**
 * The Gitea/Forgejo forge plugin (plugins/forges/gitea) against the fake Gitea (test/fixtures/fake-gitea.ts)
 * over the real git smart-HTTP server: the shared conformance suite, then what only this plugin does
 * (Forgejo's signature header) and a check of every API request the suite made against Gitea's
 * published API description.
 *
 * The API description: no package ships Gitea's swagger JSON itself. `gitea-js` (a dev dependency)
 * is generated from it and ships the typed client, whose `@request METHOD:/path` annotations, query
 * parameters and option interfaces (`field` vs `field?`) are that description
 * (test/fixtures/gitea-api-description.ts reads them).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ForgeError, type ForgeClient } from '../core/forge.ts'
import { toIssueComment } from '../plugins/forges/gitea/comments.ts'
import { gitea } from '../plugins/forges/gitea/index.ts'
import { forgeConformance } from './forge-conformance.ts'
import { giteaOperations } from './fixtures/gitea-api-description.ts'
import { ERROR_BODY_MARKER, start as startGitea, type FakeGitea } from './fixtures/fake-gitea.ts'
import { enableGiteaCi } from './fixtures/fake-gitea-checks.ts'
import type { CheckScript } from './fixtures/fake-ci-checks.ts'
import { GIT_IDENTITY, start as startGit } from './fixtures/git-http.ts'
import { startTestApp, type TestApp } from './helpers.ts'

const run = promisify(execFile)
const APP_TOKEN = 'gitea-app-token-5d1f'
/** alice's own token: write on the repository, not admin. */
const WRITER_TOKEN = 'gitea-writer-token-81c0'
const REPO = 'acme/widgets'
/** The conformance suite's fake, and every fake started: the API-description check reads their requests. */
let fake: FakeGitea
const fakes: FakeGitea[] = []

async function startFixture(options: { byBaseHead?: boolean; rootUrl?: string } = {}) {
  const git = await startGit({ token: APP_TOKEN })
  const fake = await startGitea({ git, tokens: { [APP_TOKEN]: 'terarchitect', [WRITER_TOKEN]: 'alice' }, byBaseHead: options.byBaseHead, rootUrl: options.rootUrl })
  fakes.push(fake)
  const cloneUrl = await fake.createRepo(REPO, { terarchitect: 'admin', alice: 'write', bob: 'read', 'renovate[bot]': 'read' })
  const work = await mkdtemp(join(tmpdir(), 'forge-gitea-'))
  const basic = Buffer.from(`x:${APP_TOKEN}`).toString('base64')
  const env = { ...process.env, ...GIT_IDENTITY, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` }
  const gitIn = (...args: string[]) => run('git', ['-C', work, ...args], { env })
  await run('git', ['clone', '--quiet', cloneUrl, work], { env })
  return {
    fake,
    forge: gitea(),
    connection: { apiUrl: `${fake.url}/api/v1`, token: APP_TOKEN },
    repo: REPO,
    cloneUrl,
    writer: 'alice',
    reader: 'bob',
    bot: 'renovate[bot]',
    errorBodyMarker: ERROR_BODY_MARKER,
    async pushBranch(name: string) {
      await gitIn('fetch', '--quiet', 'origin', 'main')
      await gitIn('checkout', '--quiet', '-B', name, 'origin/main')
      await writeFile(join(work, `${name.replace(/\//g, '-')}.txt`), `${name}\n`)
      await gitIn('add', '--all')
      await gitIn('commit', '--quiet', '-m', `Add ${name}`)
      await gitIn('push', '--quiet', 'origin', `HEAD:refs/heads/${name}`)
    },
    personComment: async (login: string, number: number, body: string) => void fake.state.comment(REPO, number, login, body),
    personInlineComment: async (login: string, number: number, path: string, line: number, body: string) =>
      void fake.state.review(REPO, number, login, 'COMMENT', '', { path, line, body }),
    personApprove: async (login: string, number: number) => void fake.state.review(REPO, number, login, 'APPROVED', 'Looks good'),
    personClose: async (number: number) => fake.state.close(REPO, number),
    ci: { enable: (script: CheckScript) => enableGiteaCi(fake.state, REPO, { gitRoot: git.root, script }).stop },
    issues: {
      open: async (login: string, fields: { title: string; body: string; labels?: string[]; createdAt?: number }) => fake.issues.openIssue(REPO, login, fields).number,
      label: async (login: string, number: number, label: string) => fake.issues.label(REPO, number, login, label),
      state: async (number: number) => fake.issues.issueOf(REPO, number).state,
    },
    webhookDelivery: (secret: string, event: 'comment' | 'close', number: number, body?: string) => fake.state.delivery(secret, event, REPO, number, { body, login: 'alice' }),
    async close() {
      await fake.close()
      await git.close()
      await rm(work, { recursive: true, force: true })
    },
  }
}

forgeConformance('gitea', async () => {
  const fixture = await startFixture()
  fake = fixture.fake
  return fixture
}).run()

const only = suite('gitea plugin')

only('Forgejo deliveries: X-Forgejo-Signature is the one checked, X-Forgejo-Event the one read', () => {
  const hooks = gitea().webhooks!
  const delivery = fake.state.delivery('s3cret', 'comment', REPO, 1, { body: 'from forgejo', login: 'alice', forgejo: true })
  const headers = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k.toLowerCase(), v]))
  assert.is(hooks.verify('s3cret', headers, delivery.body), true)
  const event = hooks.parse(headers, delivery.body)
  assert.is(event.type, 'comment')
  if (event.type === 'comment') assert.is(event.comment.body, 'from forgejo')
  // A wrong Forgejo signature is not rescued by a right Gitea one.
  assert.is(hooks.verify('s3cret', { ...headers, 'x-forgejo-signature': 'a'.repeat(64) }, delivery.body), false)
  assert.is(hooks.verify('s3cret', { ...headers, 'x-forgejo-signature': undefined, 'x-gitea-signature': undefined }, delivery.body), false, 'unsigned')
  assert.is(hooks.verify('', headers, delivery.body), false, 'no secret set')
})

only('requestUrl: the pull\'s page without asking Gitea, also under a sub-path; parseRepo reads it back', () => {
  const forge = gitea()
  assert.is(forge.requestUrl!(`${fake.url}/api/v1`, REPO, 1), `${fake.url}/${REPO}/pulls/1`, 'the page the fake answers as html_url')
  assert.is(fake.state.resolve(REPO).pulls[0]!.number, 1)
  const page = forge.requestUrl!('https://code.example.com/git/api/v1/', REPO, 7)
  assert.is(page, 'https://code.example.com/git/acme/widgets/pulls/7')
  assert.is(forge.parseRepo(page), REPO)
  assert.is(forge.parseRepo('https://code.example.com/git/acme/widgets.git'), REPO)
  assert.is(forge.gitHost('https://Code.Example.com:3000/git/api/v1'), 'code.example.com', 'a host name, as the git relay compares it')
  assert.throws(() => forge.requestUrl!('https://code.example.com/api/v1', '../x', 1))
})

only('git over HTTP on the API\'s host, with the app token as the password (what the conformance suite cloned and pushed)', () => {
  const git = fake.requests.filter((r) => /\.git\//.test(r.path))
  assert.ok(git.some((r) => r.path.includes('git-receive-pack') && r.token === APP_TOKEN && r.status === 200), 'a push with the token')
  assert.ok(git.every((r) => r.token === APP_TOKEN || (r.token === undefined && r.status === 401)), JSON.stringify(git.filter((r) => r.token !== APP_TOKEN)))
  const cloneUrl = fake.state.resolve(REPO).cloneUrl
  assert.is(gitea().gitHost(`${fake.url}/api/v1`), new URL(cloneUrl).hostname)
})

only('bots: system users (negative ids) and accounts named as bots; not a person whose name merely ends in "bot"', () => {
  const bot = (user: { id: number; login: string }) => toIssueComment({ id: 1, body: 'x', user }).authorIsBot
  assert.is(bot({ id: -2, login: 'gitea-actions' }), true)
  assert.is(bot({ id: 7, login: 'ci-bot' }), true)
  assert.is(bot({ id: 8, login: 'renovate[bot]' }), true)
  assert.is(bot({ id: 9, login: 'abbot' }), false)
})

only('webhook parse: issue comments and other events are ignored with a reason; a malformed body is a 400', () => {
  const hooks = gitea().webhooks!
  const parse = (event: string, payload: unknown) => hooks.parse({ 'x-gitea-event': event }, Buffer.from(JSON.stringify(payload)))
  assert.is(parse('issue_comment', { action: 'created', is_pull: false, issue: { number: 3, pull_request: null }, comment: { id: 1 }, repository: { full_name: REPO } }).type, 'ignored')
  assert.is(parse('push', { ref: 'refs/heads/main' }).type, 'ignored')
  const review = { action: 'reviewed', number: 4, pull_request: { number: 4 }, review: { type: 'pull_request_review_approved', content: 'ok' }, repository: { full_name: REPO } }
  assert.is(parse('pull_request_approved', review).type, 'ignored', 'reviews are the poller\'s')
  assert.is(parse('pull_request_comment', review).type, 'ignored', 'a review comment event names no comment')
  const merged = parse('pull_request', { action: 'closed', number: 4, pull_request: { number: 4, state: 'closed', merged: true }, repository: { full_name: REPO } })
  assert.equal(merged, { type: 'request', repo: REPO, number: 4, state: 'merged' })
  for (const [event, body] of [['issue_comment', '{not json'], ['pull_request', JSON.stringify({ action: 'closed', number: 4, repository: { full_name: '../x' } })]]) {
    try {
      hooks.parse({ 'x-gitea-event': event }, Buffer.from(body))
      assert.unreachable(`${event}: a 400`)
    } catch (error) {
      assert.is((error as { status?: number }).status, 400, (error as Error).message)
    }
  }
})

only.run()

const more = suite('gitea plugin against an older Gitea whose ROOT_URL is not its API URL, and the fake\'s own validation')
let fx: Awaited<ReturnType<typeof startFixture>>
let client: ForgeClient
more.before(async () => {
  // Links (and pages) name https://gitea.example.invalid, which the plugin must not follow.
  fx = await startFixture({ byBaseHead: false, rootUrl: 'https://gitea.example.invalid' })
  client = fx.forge.connect(fx.connection)
})
more.after(() => fx?.close())

more('without `pulls/{base}/{head}` (Gitea before 1.22) the open request is found by listing; a branch with a slash too', async () => {
  await fx.pushBranch('feature/slash')
  assert.is(await client.findOpenRequest(REPO, 'feature/slash', 'main'), null)
  const opened = await client.openRequest(REPO, { title: 'Slash', body: '', head: 'feature/slash', base: 'main', draft: false })
  const found = await client.findOpenRequest(REPO, 'feature/slash', 'main')
  assert.is(found?.number, opened.number)
  const calls = fx.fake.requests.map((r) => `${r.method} ${r.path}`)
  assert.ok(calls.includes('GET /api/v1/repos/acme/widgets/pulls/main/feature%2Fslash'), 'asked by base and head first')
  assert.ok(calls.some((c) => c.startsWith('GET /api/v1/repos/acme/widgets/pulls?state=open&limit=50&page=1')), 'then listed open pulls')
})

more('reviews past one page (60) are all listed, page by page on the API URL (the Link names another origin)', async () => {
  await fx.pushBranch('reviews')
  const opened = await client.openRequest(REPO, { title: 'Reviews', body: '', head: 'reviews', base: 'main', draft: false })
  for (let i = 0; i < 60; i++) fx.fake.state.review(REPO, opened.number, `reviewer${i}`, 'APPROVED', `ok ${i}`)
  const reviews = (await client.listComments(REPO, opened.number)).filter((c) => c.kind === 'review')
  assert.is(reviews.length, 60)
  assert.ok(fx.fake.requests.some((r) => r.path === `/api/v1/repos/acme/widgets/pulls/${opened.number}/reviews?limit=50&page=2`), 'the second page was read')
})

more('a redirect (a renamed repository) is not followed: the token goes to the API URL only', async () => {
  fx.fake.state.renamed.set('acme/old-name', REPO)
  const before = fx.fake.requests.length
  try {
    await client.repository('acme/old-name')
    assert.unreachable('a ForgeError')
  } catch (error) {
    assert.instance(error, ForgeError)
    assert.is((error as ForgeError).status, 502)
    assert.is((error as ForgeError).forgeStatus, 301)
  }
  assert.equal(fx.fake.requests.slice(before).map((r) => r.path), ['/api/v1/repos/acme/old-name'])
})

more('the writer check needs an admin token: a refusal is an error, not "not a writer"', async () => {
  const alice = fx.forge.connect({ ...fx.connection, token: WRITER_TOKEN })
  assert.is(await alice.canWrite(REPO, 'alice'), true, 'about themself')
  try {
    await alice.canWrite(REPO, 'bob')
    assert.unreachable('a ForgeError')
  } catch (error) {
    assert.instance(error, ForgeError)
    assert.is((error as ForgeError).status, 502)
    assert.is((error as ForgeError).forgeStatus, 403)
    assert.not.match((error as Error).message, ERROR_BODY_MARKER)
  }
})

more('merge with a stale head is a 409; an unreachable Gitea is a 502 without a forge status', async () => {
  await fx.pushBranch('stale')
  const opened = await client.openRequest(REPO, { title: 'Stale', body: '', head: 'stale', base: 'main', draft: false })
  try {
    await client.merge(REPO, opened.number, { method: 'merge', sha: '0'.repeat(40) })
    assert.unreachable('a ForgeError')
  } catch (error) {
    assert.is((error as ForgeError).status, 409)
    assert.is((error as ForgeError).forgeStatus, 409)
  }
  assert.is((await client.getRequest(REPO, opened.number)).state, 'open')
  const merged = await client.merge(REPO, opened.number, { method: 'squash', sha: (await client.getRequest(REPO, opened.number)).headSha })
  assert.match(merged.sha ?? '', /^[0-9a-f]{40}$/)
  const down = fx.forge.connect({ apiUrl: 'http://127.0.0.1:1/api/v1', token: APP_TOKEN, timeoutMs: 2000 })
  try {
    await down.whoami()
    assert.unreachable('a ForgeError')
  } catch (error) {
    assert.is((error as ForgeError).status, 502)
    assert.is((error as ForgeError).forgeStatus, null)
  }
})

more('the fake validates like Gitea: 401 without a token, 422 and 409 as `{ message, url }`, paging headers', async () => {
  const api = `${fx.fake.url}/api/v1/repos/${REPO}`
  const call = (path: string, init: RequestInit = {}, token: string | null = APP_TOKEN) =>
    fetch(api + path, { ...init, headers: { 'content-type': 'application/json', ...(token ? { authorization: `token ${token}` } : {}) } })
  assert.is((await call('', {}, null)).status, 401)
  const missing = await call('/pulls', { method: 'POST', body: JSON.stringify({ head: 'stale', base: 'main' }) })
  assert.is(missing.status, 422)
  assert.equal(Object.keys(await missing.json()).sort(), ['message', 'url'])
  await fx.pushBranch('twice')
  const open = () => call('/pulls', { method: 'POST', body: JSON.stringify({ head: 'twice', base: 'main', title: 'Twice' }) })
  assert.is((await open()).status, 201)
  assert.is((await open()).status, 409)
  const page = await call('/pulls?state=all&limit=2&page=1')
  assert.is((await page.json()).length, 2)
  assert.ok(Number(page.headers.get('x-total-count')) >= 4)
  assert.match(page.headers.get('link') ?? '', 'rel="next"')
})

more.run()

const described = suite('gitea plugin: Gitea\'s API description')

described('every request the suites made is in Gitea\'s API description (method, path, query, required fields) and used the app token', async () => {
  const operations = await giteaOperations()
  assert.ok(operations.length > 300, `read ${operations.length} operations from gitea-js`)
  const used = new Set<string>()
  const api = fakes.flatMap((f) => f.requests).filter((r) => r.path.startsWith('/api/v1/'))
  assert.ok(api.length > 50, `the suites made ${api.length} API requests`)
  for (const request of api) {
    const url = new URL(request.path.slice('/api/v1'.length), 'http://x')
    const candidates = operations.filter((o) => o.method === request.method && o.pattern.test(url.pathname))
    assert.ok(candidates.length, `${request.method} ${url.pathname} is an operation of the API`)
    // The most literal template wins (`pulls/{index}/files` over `pulls/{base}/{head}`).
    const op = candidates.sort((a, b) => a.params - b.params)[0]!
    used.add(`${op.method} ${op.template}`)
    for (const name of url.searchParams.keys()) assert.ok(op.query.includes(name), `${op.method} ${op.template} takes ?${name}`)
    for (const field of op.requiredBody) assert.ok(request.body && (request.body as Record<string, unknown>)[field] !== undefined, `${op.method} ${op.template} requires ${field}`)
    const known = request.token === undefined ? request.status === 401 : [APP_TOKEN, WRITER_TOKEN].includes(request.token) || request.token.startsWith('bad-')
    assert.ok(known, `only the tests' tokens reached the fake, and no token was a 401: ${request.path}`)
    assert.not.match(request.path, APP_TOKEN, 'the token is never in a URL')
  }
  for (const wanted of ['GET /user', 'GET /repos/{owner}/{repo}', 'GET /repos/{owner}/{repo}/pulls', 'POST /repos/{owner}/{repo}/pulls',
    'GET /repos/{owner}/{repo}/pulls/{base}/{head}', 'GET /repos/{owner}/{repo}/pulls/{index}', 'POST /repos/{owner}/{repo}/pulls/{index}/merge',
    'GET /repos/{owner}/{repo}/pulls/{index}/commits', 'GET /repos/{owner}/{repo}/pulls/{index}/files', 'GET /repos/{owner}/{repo}/pulls/{index}/reviews',
    'GET /repos/{owner}/{repo}/pulls/{index}/reviews/{id}/comments', 'GET /repos/{owner}/{repo}/issues/{index}/comments',
    'POST /repos/{owner}/{repo}/issues/{index}/comments', 'GET /repos/{owner}/{repo}/collaborators/{collaborator}/permission']) {
    assert.ok(used.has(wanted), `the suite exercised ${wanted}`)
  }
})


// The app's side: FORGE_KIND gitea with its API URL and token, the forge check, and signed deliveries
// on /api/webhooks/gitea (the route and settings are core's; this proves the plugin is reachable).
const onApp = suite('the app on a Gitea forge: FORGE_ settings, the forge check, /api/webhooks/gitea')
let t: TestApp
let appFx: Awaited<ReturnType<typeof startFixture>>
const put = async (values: Record<string, string | null>) => {
  const res = await t.api('PUT', '/api/settings', { values })
  assert.is(res.status, 200, JSON.stringify(res.body))
}
const deliver = (delivery: { headers: Record<string, string>; body: Buffer }) => fetch(`${t.url}/api/webhooks/gitea`, { method: 'POST', headers: delivery.headers, body: new Uint8Array(delivery.body) })
onApp.before(async () => {
  appFx = await startFixture()
  t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: '' } })
})
onApp.after(async () => {
  await t?.close()
  await appFx?.close()
})

onApp('FORGE_KIND gitea needs FORGE_API_URL; with it and FORGE_TOKEN the check names the token\'s user, and only that token reaches Gitea', async () => {
  const kind = (await t.api('GET', '/api/settings')).body.settings.find((s: any) => s.key === 'FORGE_KIND')
  assert.ok(kind.choices.includes('gitea'), JSON.stringify(kind.choices))
  await put({ FORGE_KIND: 'gitea' })
  const unset = await t.api('POST', '/api/checks/forge', {})
  assert.is(unset.body.kind, 'not_configured', JSON.stringify(unset.body))
  assert.match(unset.body.reason, 'FORGE_API_URL')
  await put({ FORGE_API_URL: appFx.fake.url, FORGE_TOKEN: APP_TOKEN })
  const wrong = await t.api('POST', '/api/checks/forge', {})
  assert.is(wrong.body.kind, 'wrong_url', `the web root is not the API: ${JSON.stringify(wrong.body)}`)
  const before = appFx.fake.requests.length
  await put({ FORGE_API_URL: `${appFx.fake.url}/api/v1` })
  const check = await t.api('POST', '/api/checks/forge', {})
  assert.is(check.body.kind, 'ok', JSON.stringify(check.body))
  assert.match(check.body.reason, 'terarchitect')
  const seen = appFx.fake.requests.slice(before)
  assert.ok(seen.length > 0 && seen.every((r) => r.token === APP_TOKEN), JSON.stringify(seen))
})

onApp('signed Gitea and Forgejo deliveries are accepted, anything else refused before it is read', async () => {
  const delivery = (secret: string, forgejo = false) => appFx.fake.state.delivery(secret, 'comment', REPO, 1, { body: 'hello', login: 'alice', forgejo })
  assert.is((await deliver(delivery('s3cret'))).status, 401, 'no secret set')
  await put({ FORGE_WEBHOOK_SECRET: 's3cret' })
  for (const forgejo of [false, true]) {
    const res = await deliver(delivery('s3cret', forgejo))
    assert.is(res.status, 200)
    assert.match((await res.json()).ignored, /not a tracked pull request/)
  }
  assert.is((await deliver(delivery('other'))).status, 401, 'another secret')
  assert.is((await deliver({ headers: { 'content-type': 'application/json', 'x-gitea-event': 'issue_comment' }, body: Buffer.from('{not json') })).status, 401, 'unsigned')
})

onApp.run()
// Last: its check reads the requests of every suite above, the app's included.
described.run()
