/**
 * The GitLab forge plugin: the shared conformance suite against the fake GitLab (over real git),
 * then what only GitLab has: a relative URL root, URL-encoded nested group paths, system notes,
 * GitLab's validation answers and its webhook tokens.
 */
import { execFile } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { AppError } from '../core/errors.ts'
import { ForgeError } from '../core/forge.ts'
import { gitlab as gitlabForge } from '../plugins/forges/gitlab/index.ts'
import { forgeConformance, type ForgeFixture } from './forge-conformance.ts'
import { ERROR_BODY_MARKER, start as startGitlab, type FakeGitlab } from './fixtures/fake-gitlab.ts'
import { enableGitlabCi } from './fixtures/fake-gitlab-checks.ts'
import { GIT_IDENTITY, start as startGit, type GitHttp } from './fixtures/git-http.ts'
import { startTestApp, type TestApp } from './helpers.ts'
import { assertNoStoredSecrets } from './secret-scan.ts'

const run = promisify(execFile)
const gitlab = gitlabForge()
const REPO = 'acme/platform/api'
const TOKENS = { 'glpat-app': 'terarchitect', 'glpat-alice': 'alice', 'glpat-rita': 'rita' }
const MEMBERS = { terarchitect: 40, alice: 30, rita: 20, project_7_bot_5f3a: 30 }

interface Setup { git: GitHttp; fake: FakeGitlab; cloneUrl: string; work: string; pushBranch(name: string): Promise<void> }

/** A git server (the app token is its password), a fake GitLab over it serving its git, and the project `acme/platform/api`. */
async function setup(relativeRoot?: string): Promise<Setup> {
  const git = await startGit({ token: 'glpat-app' })
  await git.createRepo(REPO, { 'README.md': '# api\n' })
  const fake = await startGitlab({ git, gitToken: 'glpat-app', tokens: TOKENS, scopes: { 'glpat-rita': ['read_repository'] }, ...(relativeRoot ? { relativeRoot } : {}) })
  fake.state.addProject(REPO, MEMBERS)
  // GitLab's own clone URL: git goes through GitLab's auth (fake-gitlab-git.ts).
  const cloneUrl = `${fake.webUrl}/${REPO}.git`
  const work = await mkdtemp(join(tmpdir(), 'forge-gitlab-'))
  const basic = Buffer.from('oauth2:glpat-app').toString('base64')
  const env = { ...process.env, ...GIT_IDENTITY, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` }
  const seed = join(work, 'seed')
  await run('git', ['clone', '--quiet', cloneUrl, seed], { env })
  return {
    git, fake, cloneUrl, work,
    async pushBranch(name) {
      await run('git', ['checkout', '--quiet', '-B', name, 'origin/main'], { cwd: seed, env })
      await writeFile(join(seed, `${name}.txt`), `work on ${name}\n`)
      await run('git', ['add', '--all'], { cwd: seed, env })
      await run('git', ['commit', '--quiet', '-m', `Work on ${name}`], { cwd: seed, env })
      await run('git', ['push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${name}`], { cwd: seed, env })
    },
  }
}

/**
 * A delivery as GitLab sends it from a hook whose secret token and signing token are both `secret`
 * (docs/forges.md). GitLab takes signing tokens only in their `whsec_<base64 key>` form; another
 * secret (the conformance suite's) signs with its own bytes, which the plugin reads the same way.
 */
function delivery(secret: string, event: string, payload: unknown, options: { sign?: boolean; token?: boolean; timestamp?: number } = {}) {
  const body = Buffer.from(JSON.stringify(payload))
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-event-uuid': randomBytes(8).toString('hex') }
  if (options.token !== false) headers['x-gitlab-token'] = secret
  if (options.sign !== false) {
    const id = randomBytes(8).toString('hex')
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000))
    const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret)
    Object.assign(headers, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}` })
  }
  return { headers, body }
}

const project = (fake: FakeGitlab) => ({ id: fake.state.project(REPO)!.id, path_with_namespace: REPO, web_url: `${fake.webUrl}/${REPO}` })
const noteHook = (fake: FakeGitlab, number: number, body: string, extra: Record<string, unknown> = {}) => ({
  object_kind: 'note', event_type: 'note', user: { id: 77, username: 'alice', name: 'Alice' }, project: project(fake),
  object_attributes: { id: 9001, note: body, noteable_type: 'MergeRequest', system: false, type: null, created_at: '2026-01-01 10:00:00 UTC', updated_at: '2026-01-01 10:00:00 UTC', url: `${fake.webUrl}/${REPO}/-/merge_requests/${number}#note_9001`, ...extra },
  merge_request: { iid: number, state: 'opened' },
})
const mrHook = (fake: FakeGitlab, number: number, state: string, action: string) => ({
  object_kind: 'merge_request', event_type: 'merge_request', user: { id: 77, username: 'alice', name: 'Alice' }, project: project(fake),
  object_attributes: { iid: number, state, action, updated_at: '2026-01-01T10:00:00Z', url: `${fake.webUrl}/${REPO}/-/merge_requests/${number}` },
})

forgeConformance('gitlab', async (): Promise<ForgeFixture> => {
  const s = await setup()
  return {
    forge: gitlab,
    connection: { apiUrl: s.fake.apiUrl, token: 'glpat-app' },
    repo: REPO,
    cloneUrl: s.cloneUrl,
    writer: 'alice',
    reader: 'rita',
    bot: 'project_7_bot_5f3a',
    pushBranch: s.pushBranch,
    personComment: async (login, number, body) => void s.fake.state.addNote(REPO, number, login, body),
    personInlineComment: async (login, number, path, line, body) => void s.fake.state.addNote(REPO, number, login, body, { inline: { path, line } }),
    personApprove: async (login, number) => s.fake.state.approve(REPO, number, login),
    personClose: async (number) => s.fake.state.close(REPO, number),
    ci: { enable: (script) => enableGitlabCi(s.fake.state, REPO, { gitRoot: s.git.root, script }).stop },
    issues: {
      open: async (login, fields) => s.fake.state.openIssue(REPO, login, { ...fields, description: fields.body }).iid,
      label: async (login, number, label) => s.fake.state.label(REPO, number, login, label),
      state: async (number) => (s.fake.state.issueOf(REPO, number).state === 'opened' ? 'open' : 'closed'),
    },
    webhookDelivery: (secret, event, number, body) =>
      event === 'comment' ? delivery(secret, 'Note Hook', noteHook(s.fake, number, body ?? '')) : delivery(secret, 'Merge Request Hook', mrHook(s.fake, number, 'closed', 'close')),
    errorBodyMarker: ERROR_BODY_MARKER,
    close: async () => {
      // Every API call carried the app token or a person's, never anything else.
      assert.ok(s.fake.requests.every((r) => r.token === undefined || r.token in TOKENS || r.token.startsWith('bad-')), 'only known tokens reached the fake')
      await s.fake.close()
      await s.git.close()
      await rm(s.work, { recursive: true, force: true })
    },
  }
}).run()

const test = suite('forge gitlab: GitLab only')
let s: Setup

test.before(async () => {
  s = await setup('/gitlab')
})
test.after(async () => {
  await s?.fake.close()
  await s?.git.close()
  if (s) await rm(s.work, { recursive: true, force: true })
})

test('a relative URL root: the API under /gitlab/api/v4, repository paths without the root', async () => {
  const apiUrl = s.fake.apiUrl
  assert.match(apiUrl, /\/gitlab\/api\/v4$/)
  const host = gitlab.gitHost(apiUrl)
  assert.is(host, '127.0.0.1', 'the host name, as git URLs name it')
  assert.is(gitlab.parseRepo(`http://${host}/gitlab/${REPO}.git`, apiUrl), REPO)
  assert.is(gitlab.parseRepo(`http://${host}/gitlab/${REPO}/-/merge_requests/3`, apiUrl), REPO)
  assert.is(gitlab.parseRepo(`git@${host}:${REPO}.git`, apiUrl), REPO, 'ssh URLs carry no root')
  assert.is(gitlab.parseRepo(`http://${host}/gitlab/${REPO}.git`), `gitlab/${REPO}`, 'without the API URL the root cannot be told from a group')
  assert.is(gitlab.parseRepo(`https://other.example/gitlab/${REPO}.git`, apiUrl), `gitlab/${REPO}`, 'another host keeps its path')
  const client = gitlab.connect({ apiUrl, token: 'glpat-app' })
  assert.is((await client.whoami()).login, 'terarchitect')
  const repo = await client.repository(REPO)
  assert.equal(repo, { defaultBranch: 'main', canPush: true, private: true })
  await s.pushBranch('root-branch')
  const opened = await client.openRequest(REPO, { title: 'Under a root', body: 'b', head: 'root-branch', base: 'main', draft: false })
  assert.is(gitlab.parseRepo(opened.url, apiUrl), REPO, `request URL ${opened.url}`)
  assert.is(gitlab.requestUrl!(apiUrl, REPO, opened.number), opened.url, 'the page GitLab names is the one the plugin builds')
  assert.ok(s.fake.requests.every((r) => r.path.startsWith('/gitlab/api/v4/') || r.path.startsWith(`/gitlab/${REPO}.git/`)), 'every call went under the root (API and git)')
})

test('parseRepo: nested groups, project pages, ssh with a port; encoded dot segments, leading dashes and too deep paths refused', () => {
  const deep = Array.from({ length: 21 }, (_, i) => `g${i}`).join('/')
  const cases: [string, string | null][] = [
    ['https://gitlab.com/a/b/c/d.git', 'a/b/c/d'],
    ['https://gitlab.com/a/b/-/merge_requests/7#note_42', 'a/b'],
    ['https://gitlab.com/a/b/-/tree/main/src', 'a/b'],
    ['ssh://git@gitlab.example.com:2222/a/b/c.git', 'a/b/c'],
    ['git@gitlab.example.com:a/b.c_d-e/f.git', 'a/b.c_d-e/f'],
    [`https://gitlab.com/${deep}.git`, deep],
    [`https://gitlab.com/${deep}/g21.git`, null],
    ['https://gitlab.com/a/%2e%2e/b.git', null],
    ['https://gitlab.com/a/%2Fb', null],
    ['https://gitlab.com/a/-b.git', null],
    ['https://gitlab.com/a', null],
    ['file:///srv/git/a/b.git', null],
    ['https://gitlab.com/a/%zz', null],
  ]
  for (const [url, repo] of cases) assert.is(gitlab.parseRepo(url), repo, url)
})

test('nested group paths reach the API as one URL-encoded id; an unencoded path is another route', async () => {
  const client = gitlab.connect({ apiUrl: s.fake.apiUrl, token: 'glpat-app' })
  await client.findOpenRequest(REPO, 'root-branch', 'main')
  const calls = s.fake.requests.filter((r) => r.path.includes('/projects/'))
  assert.ok(calls.length > 0)
  assert.ok(calls.every((r) => r.path.includes('/projects/acme%2Fplatform%2Fapi')), calls.map((r) => r.path).join('\n'))
  const unencoded = await fetch(`${s.fake.apiUrl}/projects/${REPO}`, { headers: { 'private-token': 'glpat-app' } })
  assert.is(unencoded.status, 404, 'GitLab needs the encoded id')
  assert.is(await client.repository('acme/platform/missing'), null)
})

test('system notes are no comments (list and poll); approvals are APPROVED reviews', async () => {
  const client = gitlab.connect({ apiUrl: s.fake.apiUrl, token: 'glpat-app' })
  const mr = (await client.findOpenRequest(REPO, 'root-branch', 'main'))!
  s.fake.state.addNote(REPO, mr.number, 'terarchitect', 'added 1 commit', { system: true })
  s.fake.state.addNote(REPO, mr.number, 'alice', 'please fix the typo')
  s.fake.state.approve(REPO, mr.number, 'alice')
  const listed = await client.listComments(REPO, mr.number)
  assert.equal(listed.map((c) => [c.kind, c.body, c.reviewState]), [['issue_comment', 'please fix the typo', null], ['review', '', 'APPROVED']])
  const first = await client.poll(REPO, mr.number, {})
  assert.equal(first.comments.map((c) => c.body).sort(), ['', 'please fix the typo'])
  s.fake.state.addNote(REPO, mr.number, 'terarchitect', 'changed the description', { system: true })
  const next = await client.poll(REPO, mr.number, first.cursor)
  assert.equal(next.comments, [], 'a new system note is not a comment')
  assert.is(next.request, null, 'a note alone is no request change (GitLab touches updated_at)')
})

test('the fake answers like GitLab: 401 without a token, Grape 400 for missing fields, 409 duplicate, pagination headers', async () => {
  const url = `${s.fake.apiUrl}/projects/${encodeURIComponent(REPO)}/merge_requests`
  const anonymous = await fetch(url)
  assert.is(anonymous.status, 401)
  assert.is((await anonymous.json()).message, '401 Unauthorized')
  const bearer = await fetch(url, { headers: { authorization: 'Bearer glpat-app' } })
  assert.is(bearer.status, 200)
  assert.ok(bearer.headers.get('x-total') !== null && bearer.headers.get('x-page') === '1', 'pagination headers')
  const post = (body: unknown) => fetch(url, { method: 'POST', headers: { 'private-token': 'glpat-app', 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const noTitle = await post({ source_branch: 'root-branch', target_branch: 'main' })
  assert.is(noTitle.status, 400)
  assert.is((await noTitle.json()).error, 'title is missing')
  const duplicate = await post({ source_branch: 'root-branch', target_branch: 'main', title: 'again' })
  assert.is(duplicate.status, 409)
  assert.match(JSON.stringify(await duplicate.json()), 'Another open merge request already exists for this source branch')
  const noBranch = await post({ source_branch: 'nope', target_branch: 'main', title: 't' })
  assert.is(noBranch.status, 422)
})

test('the plugin maps GitLab refusals: duplicate 409, missing 404, a reader\'s token cannot merge', async () => {
  const client = gitlab.connect({ apiUrl: s.fake.apiUrl, token: 'glpat-app' })
  const duplicate = await client.openRequest(REPO, { title: 'again', body: '', head: 'root-branch', base: 'main', draft: false }).catch((e) => e)
  assert.is(duplicate.status, 409)
  assert.is(duplicate.forgeStatus, 409)
  assert.not.match(duplicate.message, 'Another open merge request')
  const reader = gitlab.connect({ apiUrl: s.fake.apiUrl, token: 'glpat-rita' })
  const refused = await reader.merge(REPO, 1, { method: 'merge' }).catch((e) => e)
  assert.is(refused.status, 502, 'GitLab answers 401 to a merge the token may not do: the app\'s configuration')
  assert.is(refused.forgeStatus, 401)
  assert.match(refused.message, 'FORGE_TOKEN', 'the setting to fix is named')
})

test('lists page by X-Next-Page when GitLab sends no Link (large lists); a Link to another origin is not followed', async () => {
  const client = gitlab.connect({ apiUrl: s.fake.apiUrl, token: 'glpat-app' })
  await s.pushBranch('many-notes')
  const pr = await client.openRequest(REPO, { title: 'Many notes', body: '', head: 'many-notes', base: 'main', draft: false })
  for (let i = 0; i < 130; i++) s.fake.state.addNote(REPO, pr.number, 'rita', `note ${i}`)
  const hits: string[] = []
  const elsewhere = createServer((req, res) => (hits.push(req.url ?? ''), res.writeHead(200, { 'content-type': 'application/json' }).end('[]')))
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve))
  try {
    for (const links of ['none', { origin: `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}` }] as const) {
      s.fake.settings.links = links
      const notes = (await client.listComments(REPO, pr.number)).filter((c) => c.body.startsWith('note '))
      assert.is(notes.length, 130, `all notes with links ${JSON.stringify(links)}`)
      assert.is(new Set(notes.map((c) => c.id)).size, 130)
    }
    assert.equal(hits, [], 'the token went nowhere but the API URL')
  } finally {
    s.fake.settings.links = 'all'
    await new Promise<void>((resolve) => elsewhere.close(() => resolve()))
  }
})

test('files before GitLab 15.7 (no /diffs) come from /changes; a missing request stays a 404', async () => {
  const client = gitlab.connect({ apiUrl: s.fake.apiUrl, token: 'glpat-app' })
  const pr = (await client.findOpenRequest(REPO, 'many-notes', 'main'))!
  const current = await client.requestFiles(REPO, pr.number)
  s.fake.settings.olderThan157 = true
  try {
    const older = await client.requestFiles(REPO, pr.number)
    assert.equal(older, current)
    assert.equal(older.map((f) => [f.path, f.status, f.additions, f.deletions]), [['many-notes.txt', 'added', 1, 0]])
    assert.ok(s.fake.requests.some((r) => r.path.endsWith(`/merge_requests/${pr.number}/changes`)))
    const missing = await client.requestFiles(REPO, 9999).catch((e) => e)
    assert.is(missing.status, 404)
  } finally {
    s.fake.settings.olderThan157 = false
  }
})

test('an API URL that answers a web page or redirects is a ForgeError naming the API, and redirects are not followed', async () => {
  const hits: string[] = []
  const web = createServer((req, res) => {
    hits.push(req.url ?? '')
    if (req.url?.startsWith('/moved/')) return void res.writeHead(302, { location: '/users/sign_in' }).end()
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<html>${ERROR_BODY_MARKER}</html>`)
  })
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(web.address() as AddressInfo).port}`
  try {
    const page = gitlab.connect({ apiUrl: `${origin}/api/v4`, token: 'glpat-app' })
    for (const [name, call] of [['whoami', () => page.whoami()], ['repository', () => page.repository(REPO)], ['getRequest', () => page.getRequest(REPO, 1)], ['listComments', () => page.listComments(REPO, 1)]] as const) {
      const error = await (call as () => Promise<unknown>)().then(() => null, (e) => e)
      assert.instance(error, ForgeError, name)
      assert.is(error.code, 'forge_unexpected_answer', name)
      assert.is(error.status, 502)
      assert.not.match(error.message, ERROR_BODY_MARKER)
    }
    const moved = await gitlab.connect({ apiUrl: `${origin}/moved/api/v4`, token: 'glpat-app' }).whoami().catch((e) => e)
    assert.instance(moved, ForgeError)
    assert.is(moved.forgeStatus, 302)
    assert.not.ok(hits.includes('/users/sign_in'), 'the redirect was not followed')
  } finally {
    await new Promise<void>((resolve) => web.close(() => resolve()))
  }
})

test('merge is a real merge on the target branch; squash squashes', async () => {
  const client = gitlab.connect({ apiUrl: s.fake.apiUrl, token: 'glpat-app' })
  const bare = ['--git-dir', join(s.git.root, `${REPO}.git`)]
  const merged = await client.merge(REPO, 1, { method: 'merge', title: 'Merge it' })
  assert.match(String(merged.sha), /^[0-9a-f]{40}$/)
  assert.is((await run('git', [...bare, 'rev-parse', 'main'])).stdout.trim(), merged.sha)
  assert.is((await run('git', [...bare, 'rev-list', '--parents', '-n1', 'main'])).stdout.trim().split(' ').length, 3, 'a merge commit')
  await s.pushBranch('squash-me')
  const pr = await client.openRequest(REPO, { title: 'Squash', body: '', head: 'squash-me', base: 'main', draft: false })
  const stale = await client.merge(REPO, pr.number, { method: 'squash', sha: '0'.repeat(40) }).catch((e) => e)
  assert.is(stale.forgeStatus, 409, 'a sha that is not the head is refused')
  const squashed = await client.merge(REPO, pr.number, { method: 'squash', sha: pr.headSha })
  assert.is((await run('git', [...bare, 'rev-list', '--parents', '-n1', 'main'])).stdout.trim().split(' ').length, 2, 'one parent')
  assert.is((await client.getRequest(REPO, pr.number)).state, 'merged')
  assert.match(String(squashed.sha), /^[0-9a-f]{40}$/)
})

test('webhooks: the secret token alone, a whsec_ signing token, stale or unsigned deliveries', () => {
  const hooks = gitlab.webhooks!
  const plain = delivery('s3cret', 'Note Hook', noteHook(s.fake, 1, 'hi'), { sign: false })
  assert.is(hooks.verify('s3cret', plain.headers, plain.body), true, 'X-Gitlab-Token alone (no signing token on this GitLab)')
  assert.is(hooks.verify('other', plain.headers, plain.body), false)
  assert.is(hooks.verify('', plain.headers, plain.body), false, 'no secret configured: refused')
  const { 'x-gitlab-token': _token, ...bare } = plain.headers
  assert.is(hooks.verify('s3cret', bare, plain.body), false, 'neither token nor signature')
  const whsec = `whsec_${randomBytes(32).toString('base64')}`
  const signed = delivery(whsec, 'Note Hook', noteHook(s.fake, 1, 'hi'), { token: false })
  assert.is(hooks.verify(whsec, signed.headers, signed.body), true, 'signature only')
  assert.is(hooks.verify(whsec, signed.headers, Buffer.concat([signed.body, Buffer.from(' ')])), false, 'altered body')
  const unsigned = delivery(whsec, 'Note Hook', noteHook(s.fake, 1, 'hi'), { sign: false })
  assert.is(hooks.verify(whsec, unsigned.headers, unsigned.body), false, 'a whsec_ secret requires the signature')
  const stale = delivery(whsec, 'Note Hook', noteHook(s.fake, 1, 'hi'), { timestamp: Math.floor(Date.now() / 1000) - 3600 })
  assert.is(hooks.verify(whsec, stale.headers, stale.body), false, 'an hour-old signature')
})

test('webhooks: parse notes (inline, system, on issues), approvals, states; malformed bodies are 400', () => {
  const hooks = gitlab.webhooks!
  const parse = (event: string, payload: unknown) => hooks.parse({ 'x-gitlab-event': event }, Buffer.from(JSON.stringify(payload)))
  const inline = parse('Note Hook', noteHook(s.fake, 2, 'inline', { type: 'DiffNote', position: { new_path: 'src/a.ts', new_line: 12 } }))
  assert.is(inline.type, 'comment')
  if (inline.type === 'comment') {
    assert.equal([inline.repo, inline.number, inline.comment.kind, inline.comment.path, inline.comment.line, inline.comment.createdAt], [REPO, 2, 'review_comment', 'src/a.ts', 12, '2026-01-01T10:00:00.000Z'])
  }
  assert.is(parse('Note Hook', noteHook(s.fake, 2, 'added 1 commit', { system: true })).type, 'ignored')
  assert.is(parse('Note Hook', noteHook(s.fake, 2, 'x', { noteable_type: 'Issue' })).type, 'ignored')
  const approved = parse('Merge Request Hook', mrHook(s.fake, 2, 'opened', 'approved'))
  assert.ok(approved.type === 'comment' && approved.comment.kind === 'review' && approved.comment.reviewState === 'APPROVED' && approved.comment.author === 'alice')
  assert.equal(parse('Merge Request Hook', mrHook(s.fake, 2, 'merged', 'merge')), { type: 'request', repo: REPO, number: 2, state: 'merged' })
  assert.is(parse('Push Hook', { object_kind: 'push' }).type, 'ignored')
  for (const body of ['not json', '[]', JSON.stringify({ object_attributes: { noteable_type: 'MergeRequest' } })]) {
    try {
      hooks.parse({ 'x-gitlab-event': 'Note Hook' }, Buffer.from(body))
      assert.unreachable(`accepted ${body}`)
    } catch (error) {
      assert.instance(error, AppError)
      assert.is((error as AppError).status, 400)
    }
  }
})

test('git over HTTP at GitLab\'s clone URLs under the root: oauth2 or any user with a token; 401 with a challenge; 403 for a push without write access', async () => {
  const url = `${s.fake.webUrl}/${REPO}.git`
  assert.match(url, /\/gitlab\/acme\/platform\/api\.git$/)
  const git = async (args: string[], user?: string, token?: string) => {
    const auth = user ? ['-c', `http.extraHeader=Authorization: Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`] : []
    return run('git', [...auth, ...args], { env: { ...process.env, ...GIT_IDENTITY, GIT_TERMINAL_PROMPT: '0' }, cwd: s.work }).then(() => 0, (error) => String(error.stderr))
  }
  const before = s.fake.requests.length
  assert.is(await git(['ls-remote', url], 'oauth2', 'glpat-app'), 0, 'oauth2 with the app token')
  assert.is(await git(['ls-remote', url], 'alice', 'glpat-alice'), 0, 'any user name with a personal access token')
  assert.match(String(await git(['ls-remote', url])), /401|Authentication failed|could not read Username/, 'no credential')
  assert.match(String(await git(['ls-remote', url], 'oauth2', 'glpat-unknown')), /401|Authentication failed|could not read Username/, 'an unknown token')
  assert.is(s.fake.requests.at(-1)!.status, 401)
  const challenge = await fetch(`${url}/info/refs?service=git-upload-pack`)
  assert.is(challenge.status, 401)
  assert.is(challenge.headers.get('www-authenticate'), 'Basic realm="GitLab"', 'git asks its credential helper after this challenge')
  const seen = s.fake.requests.slice(before)
  assert.ok(seen.some((r) => r.user === 'alice' && r.token === 'glpat-alice' && r.status === 200), JSON.stringify(seen))

  const work = join(s.work, 'git-auth')
  assert.is(await git(['clone', '--quiet', url, work], 'rita', 'glpat-rita'), 0, 'a read_repository token of a Reporter fetches')
  await writeFile(join(work, 'x.txt'), 'x\n')
  await run('git', ['add', 'x.txt'], { cwd: work })
  await run('git', ['commit', '--quiet', '-m', 'x'], { cwd: work, env: { ...process.env, ...GIT_IDENTITY } })
  const push = (user: string, token: string, branch: string) => git(['-C', work, 'push', '--quiet', url, `HEAD:refs/heads/${branch}`], user, token)
  assert.match(String(await push('rita', 'glpat-rita', 'by-rita')), /403|not allowed to push/, 'no write scope and no write role: refused')
  assert.is(s.fake.requests.at(-1)!.status, 403)
  assert.is(await push('alice', 'glpat-alice', 'by-alice'), 0, 'a Developer with an api token pushes')
  const mr = await gitlab.connect({ apiUrl: s.fake.apiUrl, token: 'glpat-app' }).openRequest(REPO, { title: 'Pushed over GitLab', body: 'b', head: 'by-alice', base: 'main', draft: false })
  assert.is(s.fake.state.mrOf(REPO, mr.number).sha, (await s.fake.state.branchSha(s.fake.state.project(REPO)!, 'by-alice'))!, 'the merge request sees the branch pushed there')
  assert.is((await fetch(`${s.fake.webUrl}/acme/nothing.git/info/refs?service=git-upload-pack`, { headers: { authorization: `Basic ${Buffer.from('oauth2:glpat-app').toString('base64')}` } })).status, 404, 'an unknown project')
})

test.run()

// The app's side: FORGE_KIND gitlab with its API URL and token, the forge check, and deliveries on
// /api/webhooks/gitlab (the settings and the route are core's; this proves the plugin is wired in).
const onApp = suite('the app on a GitLab forge: FORGE_ settings, the forge check, /api/webhooks/gitlab')
let t: TestApp
let app: Setup
const put = async (values: Record<string, string | null>) => {
  const res = await t.api('PUT', '/api/settings', { values })
  assert.is(res.status, 200, JSON.stringify(res.body))
}
const deliver = (d: { headers: Record<string, string>; body: Buffer }) => fetch(`${t.url}/api/webhooks/gitlab`, { method: 'POST', headers: d.headers, body: new Uint8Array(d.body) })
onApp.before(async () => {
  app = await setup('/gitlab')
  t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: '' } })
})
onApp.after(async () => {
  await t?.close()
  await app?.fake.close()
  await app?.git.close()
  if (app) await rm(app.work, { recursive: true, force: true })
})

onApp('FORGE_KIND gitlab: a web root is named a wrong URL; under the relative root the check names the token\'s user, and only FORGE_TOKEN reaches GitLab', async () => {
  const kind = (await t.api('GET', '/api/settings')).body.settings.find((s: any) => s.key === 'FORGE_KIND')
  assert.ok(kind.choices.includes('gitlab'), JSON.stringify(kind.choices))
  await put({ FORGE_KIND: 'gitlab', FORGE_API_URL: app.fake.webUrl, FORGE_TOKEN: 'glpat-app' })
  const wrong = await t.api('POST', '/api/checks/forge', {})
  assert.is(wrong.body.kind, 'wrong_url', `the web root is not the API: ${JSON.stringify(wrong.body)}`)
  const before = app.fake.requests.length
  await put({ FORGE_API_URL: app.fake.apiUrl })
  const check = await t.api('POST', '/api/checks/forge', {})
  assert.is(check.body.kind, 'ok', JSON.stringify(check.body))
  assert.match(check.body.reason, 'terarchitect')
  const seen = app.fake.requests.slice(before)
  assert.ok(seen.length > 0 && seen.every((r) => r.token === 'glpat-app' && r.path.startsWith('/gitlab/api/v4/')), JSON.stringify(seen))
  await put({ FORGE_TOKEN: 'glpat-revoked' })
  const refused = await t.api('POST', '/api/checks/forge', {})
  assert.is(refused.body.kind, 'wrong_key', JSON.stringify(refused.body))
  assert.not.match(JSON.stringify(refused.body), ERROR_BODY_MARKER)
})

onApp('deliveries with the secret token are accepted, anything else refused before it is read', async () => {
  const note = () => delivery('s3cret', 'Note Hook', noteHook(app.fake, 1, 'hello'), { sign: false })
  assert.is((await deliver(note())).status, 401, 'no secret set')
  await put({ FORGE_WEBHOOK_SECRET: 's3cret' })
  const res = await deliver(note())
  assert.is(res.status, 200)
  assert.match((await res.json()).ignored, /not a tracked/)
  assert.is((await deliver(delivery('other', 'Note Hook', noteHook(app.fake, 1, 'hello'), { sign: false }))).status, 401, 'another token')
  assert.is((await deliver({ headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Note Hook' }, body: Buffer.from('{not json') })).status, 401, 'no token')
})

onApp('the forge token and the webhook secret are stored nowhere in clear (database, logs)', async () => {
  await assertNoStoredSecrets({ sql: t.app.ctx.sql, logs: { 'app log': t.logs }, secrets: { 'forge token': 'glpat-app', 'revoked token': 'glpat-revoked', 'webhook secret': 's3cret' } })
})

onApp.run()
