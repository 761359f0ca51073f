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
import { github } from '../plugins/forges/github/index.ts'
import { gitHost, parseRepo, requestUrl, webBase } from '../plugins/forges/github/repo-url.ts'
import { forgeConformance, type ForgeFixture } from './forge-conformance.ts'
import { ERROR_BODY_MARKER, start as startGithub, webhookDelivery } from './fixtures/fake-github.ts'
import { GIT_IDENTITY, start as startGit } from './fixtures/git-http.ts'
import { checkAgainstDescription, type RecordedRequest } from './github-openapi.ts'

const run = promisify(execFile)
const TOKEN = 'ghp_conformance_app_token'
const REPO = 'acme/shop'

const recorded: RecordedRequest[] = []

async function startFixture(apiPrefix = ''): Promise<ForgeFixture> {
  const git = await startGit({ token: TOKEN })
  const cloneUrl = await git.createRepo(REPO, { 'README.md': '# shop\n\nline two\n' })
  const gh = await startGithub({ tokens: { [TOKEN]: 'terarchitect-bot' }, repos: [REPO], gitRoot: git.root })
  const repo = gh.state.repo(REPO)!
  repo.permissions = { 'alice-writer': 'write', 'bob-reader': 'read', 'terarchitect-bot': 'write' }
  const forge = github({ onRequest: (method, url, body) => recorded.push({ method, url, body }) })
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
  assert.ok(recorded.length > 40, `requests recorded: ${recorded.length}`)
  const problems = checkAgainstDescription(recorded)
  assert.equal(problems, [])
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
