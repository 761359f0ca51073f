/**
 * The conformance suite every Forge plugin runs (core/forge.ts) against its fixture: a fake forge on
 * 127.0.0.1 backed by the real git smart-HTTP server (test/fixtures/git-http.ts). Cases share one
 * fixture and run in order: the request opened early is the one commented, polled and merged later.
 *
 *   forgeConformance('github', startGithubFixture).run()
 *
 * A capability the plugin does not have (webhooks) is reported as skipped with its reason, and the
 * case asserts the capability is indeed absent.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ForgeError, type Forge, type ForgeClient, type ForgeComment, type ForgeConnection, type PollCursor, type PullRequest } from '../core/forge.ts'
import { GIT_IDENTITY } from './fixtures/git-http.ts'
import type { CheckScript } from './fixtures/fake-ci-checks.ts'

const run = promisify(execFile)

export interface ForgeFixture {
  forge: Forge
  /** The app's token and the fake's API URL. */
  connection: ForgeConnection
  /** Repository path on the fake; default branch `main`. */
  repo: string
  /** http URL of the real git smart-HTTP server behind the fake (needs the token as git credentials). */
  cloneUrl: string
  /** Logins with write access, read-only access, and a bot account. */
  writer: string
  reader: string
  bot: string
  /** Pushes `name` one commit ahead of main (real git). */
  pushBranch(name: string): Promise<void>
  /** What people do on the forge, as the given login (through the fake's state helpers). */
  personComment(login: string, number: number, body: string): Promise<void>
  personInlineComment(login: string, number: number, path: string, line: number, body: string): Promise<void>
  personApprove(login: string, number: number): Promise<void>
  personClose(number: number): Promise<void>
  /** A signed delivery the way the real forge would send it, when the plugin has `webhooks`. */
  webhookDelivery?(secret: string, event: 'comment' | 'close', number: number, body?: string): { headers: Record<string, string>; body: Buffer }
  /** Issues on the fake, when it serves them (the plugin's `issues`): a person opens one (`labels` set with it, as a template does) and labels one. */
  issues?: {
    open(login: string, fields: { title: string; body: string; labels?: string[]; createdAt?: number }): Promise<number>
    label(login: string, number: number, label: string): Promise<void>
    state(number: number): Promise<'open' | 'closed'>
  }
  /** CI on the fake, when it runs one (the plugin's `checks`): on with `script` for every open request's head; returns its stop. */
  ci?: { enable(script: CheckScript): () => void }
  /** A string the fake puts in every error body: no ForgeError message may carry it. */
  errorBodyMarker?: string
  close(): Promise<void>
}

/** Runs git with HTTP basic credentials in the environment (never in argv or the URL). */
async function git(args: string[], credentials: { username: string; password: string }, cwd?: string): Promise<string> {
  const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')
  const env = {
    ...process.env, ...GIT_IDENTITY, GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  }
  const { stdout } = await run('git', args, { cwd, env })
  return stdout
}

async function expectForgeError(promise: Promise<unknown>, what: string): Promise<ForgeError> {
  try {
    await promise
  } catch (error) {
    assert.instance(error, ForgeError, `${what}: a ForgeError, got ${(error as Error)?.name}: ${(error as Error)?.message}`)
    return error as ForgeError
  }
  assert.unreachable(`${what}: expected a ForgeError, it succeeded`)
  throw new Error('unreachable')
}

const lower = (s: string) => s.toLowerCase()

/** Reads checks until `done` holds (the fake's CI steps every few ms), at most 10 s. */
async function waitForChecks<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Returns the uvu suite for the plugin; the caller `.run()`s it. */
export function forgeConformance(name: string, start: () => Promise<ForgeFixture>) {
  const test = suite(`forge conformance: ${name}`)
  let fx: ForgeFixture
  let client: ForgeClient
  let work: string
  let me: string
  const tag = randomBytes(3).toString('hex')
  const head = `conformance-${tag}`
  let pr: PullRequest
  let cursor: PollCursor = {}

  test.before(async () => {
    fx = await start()
    client = fx.forge.connect(fx.connection)
    work = await mkdtemp(join(tmpdir(), 'forge-conformance-'))
  })
  test.after(async () => {
    await fx?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  test('parseRepo: https, ssh, scp-style and request URLs; `..`, `?`, `#` refused', () => {
    const host = fx.forge.gitHost(fx.connection.apiUrl)
    assert.ok(host && !host.includes('/'), `gitHost is a host name: ${host}`)
    assert.is(fx.forge.parseRepo(`https://${host}/${fx.repo}.git`), fx.repo)
    assert.is(fx.forge.parseRepo(`https://${host}/${fx.repo}`), fx.repo)
    assert.is(fx.forge.parseRepo(`ssh://git@${host}/${fx.repo}.git`), fx.repo)
    assert.is(fx.forge.parseRepo(`git@${host}:${fx.repo}.git`), fx.repo)
    assert.is(fx.forge.parseRepo(fx.cloneUrl), fx.repo, 'the fixture clone URL names the repository')
    const owner = fx.repo.split('/')[0]
    for (const url of [`git@${host}:../../user`, `git@${host}:${owner}/..`, `git@${host}:${owner}/./x/..`, `git@${host}:${fx.repo}?x=1`,
      `git@${host}:${fx.repo}#frag`, `https://${host}/${owner}/..`, `git@${host}:${owner}/sh op`, 'not a url', '']) {
      assert.is(fx.forge.parseRepo(url), null, url)
    }
  })

  test('gitCredentials push a branch through the real git server', async () => {
    const credentials = fx.forge.gitCredentials(fx.connection.token)
    assert.type(credentials.username, 'string')
    assert.is(credentials.password, fx.connection.token)
    const dir = join(work, 'clone')
    await git(['clone', '--quiet', fx.cloneUrl, dir], credentials)
    await writeFile(join(dir, `credentials-${tag}.txt`), 'pushed with the forge credentials\n')
    await git(['add', '--all'], credentials, dir)
    await git(['commit', '--quiet', '-m', 'credentials check'], credentials, dir)
    await git(['push', '--quiet', 'origin', `HEAD:refs/heads/creds-${tag}`], credentials, dir)
    const refs = await git(['ls-remote', fx.cloneUrl, `refs/heads/creds-${tag}`], credentials)
    assert.match(refs, `refs/heads/creds-${tag}`)
  })

  test('whoami answers the token\'s login', async () => {
    const who = await client.whoami()
    assert.type(who.login, 'string')
    assert.ok(who.login.length > 0)
    me = who.login
  })

  test('repository: found with canPush for the app token; null when missing', async () => {
    const repo = await client.repository(fx.repo)
    assert.ok(repo, 'the repository is found')
    assert.is(repo!.defaultBranch, 'main')
    assert.is(repo!.canPush, true)
    assert.type(repo!.private, 'boolean')
    assert.is(await client.repository(`${fx.repo.split('/')[0]}/missing-${tag}`), null)
  })

  test('findOpenRequest null → openRequest → findOpenRequest finds it', async () => {
    assert.is(await client.findOpenRequest(fx.repo, head, 'main'), null)
    await fx.pushBranch(head)
    const opened = await client.openRequest(fx.repo, { title: `Conformance ${tag}`, body: 'Opened by the conformance suite', head, base: 'main', draft: false })
    assert.ok(Number.isInteger(opened.number) && opened.number > 0)
    assert.is(opened.state, 'open')
    assert.is(opened.title, `Conformance ${tag}`)
    const found = await client.findOpenRequest(fx.repo, head, 'main')
    assert.ok(found, 'the open request is found')
    assert.is(found!.number, opened.number)
    assert.is(found!.headBranch, head)
    assert.is(found!.baseBranch, 'main')
    assert.is(found!.sameRepo, true)
    assert.is(found!.draft, false)
    assert.is(found!.state, 'open')
    assert.match(found!.headSha, /^[0-9a-f]{40}$/)
    assert.is(fx.forge.parseRepo(found!.url), fx.repo, `parseRepo of the request URL ${found!.url}`)
    assert.is(await client.findOpenRequest(fx.repo, head, `other-${tag}`), null, 'another base is another request')
    pr = found!
  })

  test('a draft request is a draft', async () => {
    const branch = `${head}-draft`
    await fx.pushBranch(branch)
    const draft = await client.openRequest(fx.repo, { title: 'Draft', body: '', head: branch, base: 'main', draft: true })
    assert.is(draft.draft, true)
    assert.is((await client.getRequest(fx.repo, draft.number)).draft, true)
  })

  test('opening the same head twice is a 4xx ForgeError', async () => {
    const error = await expectForgeError(client.openRequest(fx.repo, { title: 'Again', body: '', head, base: 'main', draft: false }), 'duplicate request')
    assert.ok(error.status >= 400 && error.status < 500, `4xx, got ${error.status}`)
    assert.ok(error.forgeStatus !== null && error.forgeStatus >= 400 && error.forgeStatus < 500, `forge status ${error.forgeStatus}`)
  })

  test('requestCommits and requestFiles are what git has', async () => {
    const credentials = fx.forge.gitCredentials(fx.connection.token)
    const dir = join(work, 'clone')
    await git(['fetch', '--quiet', 'origin'], credentials, dir)
    const shas = (await git(['rev-list', `origin/main..origin/${head}`], credentials, dir)).trim().split('\n').filter(Boolean)
    const paths = (await git(['diff', '--name-only', `origin/main...origin/${head}`], credentials, dir)).trim().split('\n').filter(Boolean)
    const commits = await client.requestCommits(fx.repo, pr.number)
    assert.ok(commits.length > 0, 'commits')
    assert.equal(commits.map((c) => c.sha).sort(), shas.sort())
    assert.ok(commits.some((c) => c.sha === pr.headSha), 'the head commit is among them')
    for (const c of commits) assert.type(c.message, 'string')
    const files = await client.requestFiles(fx.repo, pr.number)
    assert.ok(files.length > 0, 'files')
    assert.equal(files.map((f) => f.path).sort(), paths.sort())
    for (const f of files) assert.ok(['added', 'modified', 'removed', 'renamed'].includes(f.status), f.status)
  })

  test('comment → listComments includes it (author, body, kind)', async () => {
    const body = `app comment ${tag}`
    const posted = await client.comment(fx.repo, pr.number, body)
    assert.is(posted.kind, 'issue_comment')
    assert.is(posted.body, body)
    assert.is(lower(posted.author), lower(me))
    const listed = (await client.listComments(fx.repo, pr.number)).find((c) => c.kind === posted.kind && c.id === posted.id)
    assert.ok(listed, 'listed')
    assert.is(listed!.body, body)
    assert.is(lower(listed!.author), lower(me))
    assert.type(listed!.updatedAt, 'string')
  })

  const find = (comments: ForgeComment[], body: string) => comments.find((c) => c.body === body)

  test('poll: first poll has the request and comments; the next, with its cursor, nothing new', async () => {
    const first = await client.poll(fx.repo, pr.number, {})
    assert.ok(first.request, 'the request on the first poll')
    assert.is(first.request!.number, pr.number)
    assert.is(first.request!.state, 'open')
    assert.ok(find(first.comments, `app comment ${tag}`), 'the earlier comment')
    const second = await client.poll(fx.repo, pr.number, JSON.parse(JSON.stringify(first.cursor)))
    assert.is(second.request, null, 'no request change')
    assert.equal(second.comments, [], 'no comment')
    cursor = JSON.parse(JSON.stringify(second.cursor))
  })

  test('poll: a person\'s comment, an inline comment, an approval and a bot\'s comment appear', async () => {
    await fx.personComment(fx.writer, pr.number, `writer says ${tag}`)
    let next = await client.poll(fx.repo, pr.number, cursor)
    const said = find(next.comments, `writer says ${tag}`)
    assert.ok(said, 'the new comment')
    assert.is(said!.kind, 'issue_comment')
    assert.is(lower(said!.author), lower(fx.writer))
    assert.is(said!.authorIsBot, false)
    cursor = JSON.parse(JSON.stringify(next.cursor))

    await fx.personInlineComment(fx.writer, pr.number, 'README.md', 1, `inline ${tag}`)
    next = await client.poll(fx.repo, pr.number, cursor)
    const inline = find(next.comments, `inline ${tag}`)
    assert.ok(inline, 'the inline comment')
    assert.is(inline!.kind, 'review_comment')
    assert.is(inline!.path, 'README.md')
    assert.is(inline!.line, 1)
    cursor = JSON.parse(JSON.stringify(next.cursor))

    await fx.personApprove(fx.writer, pr.number)
    next = await client.poll(fx.repo, pr.number, cursor)
    const approval = next.comments.find((c) => c.kind === 'review' && c.reviewState === 'APPROVED')
    assert.ok(approval, 'the approval')
    assert.is(lower(approval!.author), lower(fx.writer))
    cursor = JSON.parse(JSON.stringify(next.cursor))

    await fx.personComment(fx.bot, pr.number, `bot says ${tag}`)
    next = await client.poll(fx.repo, pr.number, cursor)
    const bot = find(next.comments, `bot says ${tag}`)
    assert.ok(bot, 'the bot comment')
    assert.is(bot!.authorIsBot, true)
    cursor = JSON.parse(JSON.stringify(next.cursor))
    const quiet = await client.poll(fx.repo, pr.number, cursor)
    assert.equal(quiet.comments.filter((c) => c.body.includes(tag)), [], 'nothing new after all were seen')
  })

  test('canWrite: writer yes, reader no, unknown login no', async () => {
    assert.is(await client.canWrite(fx.repo, fx.writer), true)
    assert.is(await client.canWrite(fx.repo, fx.reader), false)
    assert.is(await client.canWrite(fx.repo, `nobody-${tag}`), false)
  })

  test('a bad token is a 502 ForgeError without the forge\'s answer', async () => {
    const bad = fx.forge.connect({ ...fx.connection, token: `bad-${tag}` })
    const error = await expectForgeError(bad.whoami(), 'bad token')
    assert.is(error.status, 502)
    assert.is(error.forgeStatus, 401)
    assert.not.match(error.message, '{', 'no JSON body in the message')
    if (fx.errorBodyMarker) assert.not.match(error.message, fx.errorBodyMarker)
    assert.not.match(error.message, `bad-${tag}`, 'the token is not in the message')
  })

  test('a missing request is a 404 ForgeError', async () => {
    const error = await expectForgeError(client.getRequest(fx.repo, 999999), 'missing request')
    assert.is(error.status, 404)
    assert.is(error.forgeStatus, 404)
    if (fx.errorBodyMarker) assert.not.match(error.message, fx.errorBodyMarker)
  })

  test('a closed request polls as closed', async () => {
    const branch = `${head}-close`
    await fx.pushBranch(branch)
    const opened = await client.openRequest(fx.repo, { title: 'To close', body: '', head: branch, base: 'main', draft: false })
    const first = await client.poll(fx.repo, opened.number, {})
    await fx.personClose(opened.number)
    const next = await client.poll(fx.repo, opened.number, first.cursor)
    assert.ok(next.request, 'the request changed')
    assert.is(next.request!.state, 'closed')
    assert.is((await client.getRequest(fx.repo, opened.number)).state, 'closed')
  })

  test('listComments follows pagination (120 comments)', async () => {
    const branch = `${head}-many`
    await fx.pushBranch(branch)
    const opened = await client.openRequest(fx.repo, { title: 'Many comments', body: '', head: branch, base: 'main', draft: false })
    for (let i = 0; i < 120; i++) await fx.personComment(fx.reader, opened.number, `comment ${i} ${tag}`)
    const comments = (await client.listComments(fx.repo, opened.number)).filter((c) => c.body.endsWith(tag))
    assert.is(comments.length, 120)
    assert.is(new Set(comments.map((c) => c.body)).size, 120)
    const polled = await client.poll(fx.repo, opened.number, {})
    assert.is(polled.comments.filter((c) => c.body.endsWith(tag)).length, 120, 'the first poll has all of them too')
  })

  test('webhooks: verify accepts the forge\'s signed delivery, refuses a wrong secret or an altered body; parse', () => {
    const hooks = fx.forge.webhooks
    if (!hooks || !fx.webhookDelivery) {
      console.log(`  skipped (${name}): ${hooks ? 'the fixture sends no deliveries' : 'the plugin has no webhooks capability'}`)
      assert.is(hooks === undefined || !fx.webhookDelivery, true)
      return
    }
    const secret = `secret-${tag}`
    const lowerKeys = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]))
    const delivery = fx.webhookDelivery(secret, 'comment', pr.number, `hook comment ${tag}`)
    const headers = lowerKeys(delivery.headers)
    assert.is(hooks.verify(secret, headers, delivery.body), true, 'accepted')
    assert.is(hooks.verify(`wrong-${tag}`, headers, delivery.body), false, 'wrong secret')
    const altered = Buffer.from(delivery.body.toString('utf8').replace(`hook comment ${tag}`, `hook comment ${tag}!`))
    assert.is(hooks.verify(secret, headers, altered), false, 'altered body')
    const event = hooks.parse(headers, delivery.body)
    assert.is(event.type, 'comment')
    if (event.type !== 'comment') return
    assert.is(lower(event.repo), lower(fx.repo))
    assert.is(event.number, pr.number)
    assert.is(event.comment.body, `hook comment ${tag}`)
    assert.type(event.comment.author, 'string')
    const close = fx.webhookDelivery(secret, 'close', pr.number)
    const closeHeaders = lowerKeys(close.headers)
    assert.is(hooks.verify(secret, closeHeaders, close.body), true)
    const closed = hooks.parse(closeHeaders, close.body)
    assert.is(closed.type, 'request')
    if (closed.type !== 'request') return
    assert.is(closed.number, pr.number)
    assert.is(closed.state, 'closed')
  })

  test('issues: get, label events with their actor (writer, bot, set at opening), changed since a cursor, comment, a merged request\'s close keyword', async () => {
    const issues = client.issues
    if (!issues || !fx.issues) {
      console.log(`  skipped (${name}): ${issues ? 'the fake serves no issues' : 'the plugin has no issues capability'}`)
      assert.is(issues === undefined || !fx.issues, true)
      return
    }
    const first = await issues.changed(fx.repo, {})
    const minuteAgo = Date.now() - 60_000
    const number = await fx.issues.open(fx.reader, { title: `Issue ${tag}`, body: `Body ${tag}`, createdAt: minuteAgo })
    await fx.issues.label(fx.writer, number, `intake-${tag}`)
    await fx.issues.label(fx.bot, number, `bot-${tag}`)
    const issue = await issues.get(fx.repo, number)
    assert.equal([issue.number, issue.title, issue.body, issue.state, lower(issue.author ?? '')], [number, `Issue ${tag}`, `Body ${tag}`, 'open', lower(fx.reader)])
    assert.equal(issue.labels.slice().sort(), [`bot-${tag}`, `intake-${tag}`])
    const events = await issues.labelEvents(fx.repo, number)
    const byLabel = (label: string) => events.find((event) => event.label === label && event.action === 'added')
    assert.equal([lower(byLabel(`intake-${tag}`)?.actor ?? ''), byLabel(`intake-${tag}`)?.actorIsBot], [lower(fx.writer), false])
    assert.equal([lower(byLabel(`bot-${tag}`)?.actor ?? ''), byLabel(`bot-${tag}`)?.actorIsBot], [lower(fx.bot), true])
    const templated = await fx.issues.open(fx.writer, { title: `Templated ${tag}`, body: '', labels: [`intake-${tag}`] })
    const atOpening = (await issues.labelEvents(fx.repo, templated)).find((event) => event.label === `intake-${tag}`)
    const opened = await issues.get(fx.repo, templated)
    assert.is(lower(atOpening?.actor ?? ''), lower(fx.writer), 'a label set with the issue is the opener\'s')
    assert.ok(Math.abs(Date.parse(atOpening!.at) - Date.parse(opened.createdAt)) < 2000, 'at the creation time')
    const changed = await issues.changed(fx.repo, first.cursor)
    assert.ok(changed.issues.some((found) => found.number === number), 'changed since the cursor')
    const posted = await issues.comment(fx.repo, number, `app says ${tag}`)
    assert.ok(Number.isInteger(posted.id))
    const missing = await expectForgeError(issues.get(fx.repo, 999999), 'missing issue')
    assert.is(missing.status, 404)
    const keyword = issues.closeKeyword(number)
    assert.match(keyword, new RegExp(`#${number}$`))
    const branch = `${head}-closes`
    await fx.pushBranch(branch)
    const request = await client.openRequest(fx.repo, { title: 'Closes an issue', body: `Work.\n\n${keyword}`, head: branch, base: 'main', draft: false })
    await client.merge(fx.repo, request.number, { method: 'merge' })
    assert.is(await fx.issues.state(number), 'closed', 'merging a request with the close keyword closed the issue')
    assert.is((await issues.get(fx.repo, number)).state, 'closed')
  })

  test('checks: the request head\'s failing check with its excerpt, then passing; a ref that is no sha lists nothing', async () => {
    const checks = client.checks
    if (!checks || !fx.ci) {
      console.log(`  skipped (${name}): ${checks ? 'the fake runs no CI' : 'the plugin has no checks capability'}`)
      assert.is(checks === undefined || !fx.ci, true)
      return
    }
    const stop = fx.ci.enable(async (commit) => ((await commit.show('PASS')) !== null
      ? { ok: true, summary: 'PASS found', log: 'ok' }
      : { ok: false, summary: 'PASS is missing', log: `conformance ${tag}: PASS is missing` }))
    try {
      const sha = (await client.getRequest(fx.repo, pr.number)).headSha
      assert.match(sha, /^[0-9a-f]{40}$/)
      const listed = await waitForChecks(() => checks.list(fx.repo, sha), (list) => list.some((c) => c.state === 'failure'))
      const failed = listed.find((c) => c.state === 'failure')!
      assert.ok(failed.name, 'a check has a name')
      assert.ok(failed.excerpt?.includes(`conformance ${tag}: PASS is missing`), `the excerpt carries the output: ${failed.excerpt}`)
      assert.ok(failed.detailsUrl === null || /^https?:\/\//.test(failed.detailsUrl))
      assert.equal(await checks.list(fx.repo, 'main'), [], 'a branch name is not a sha')
    } finally {
      stop()
    }
  })

  test('merge → the request is merged', async () => {
    const merged = await client.merge(fx.repo, pr.number, { method: 'merge' })
    assert.ok(merged.sha === null || typeof merged.sha === 'string')
    const after = await client.getRequest(fx.repo, pr.number)
    assert.is(after.state, 'merged')
  })

  return test
}
