/**
 * The agent's git and GitHub plumbing against real git over smart HTTP: the token travels only
 * through the per-command credential helper, the default branch is detected, change detection and
 * bounded diffs work, and owner/name is read from every URL shape. Local mode's worktrees:
 * test/local-worktrees.test.ts.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGit } from '../core/agent/git.ts'
import { createGithub, parseRepo } from '../core/agent/github.ts'
import { isAgentError } from '../core/agent/errors.ts'
import { start as startGitHttp, type GitHttp } from './fixtures/git-http.ts'
import { start as startGithub } from './fixtures/fake-github.ts'

const TOKEN = 'ghp_gittest_0123456789abcdef'
let server: GitHttp
let scratch: string
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() }
const author = { name: 'Agent Test', email: 'agent@example.invalid' }

test.before(async () => {
  server = await startGitHttp({ token: TOKEN })
  scratch = mkdtempSync(join(tmpdir(), 'git-agent-'))
})

test.after(async () => {
  await server?.close()
  rmSync(scratch, { recursive: true, force: true })
})

test('clone and push authenticate through the credential helper; nothing lands in .git/config', async () => {
  const url = await server.createRepo('o/helper', { 'a.txt': 'a\n' })
  const dir = join(scratch, 'helper')
  const git = createGit({ cwd: dir, env, token: TOKEN, author })
  await git.clone(url, dir)
  assert.is(await git.defaultBranch(), 'main')
  await git.checkout('ticket-1', 'origin/main')
  writeFileSync(join(dir, 'b.txt'), 'b\n')
  const sha = await git.commitAll('add b')
  assert.ok(sha)
  await git.push('ticket-1')
  const config = readFileSync(join(dir, '.git', 'config'), 'utf8')
  assert.not.match(config, TOKEN)
  assert.not.match(config, 'credential')
  assert.ok(server.requests.some((r) => r.user === 'x-access-token' && r.path.endsWith('git-receive-pack') && r.status === 200))
  assert.is(spawnSync('git', ['--git-dir', join(server.root, 'o/helper.git'), 'show', 'ticket-1:b.txt'], { encoding: 'utf8' }).stdout, 'b\n')
})

test('without the token the clone fails fast with git\'s reason (no prompt, no hang)', async () => {
  const url = await server.createRepo('o/denied')
  const dir = join(scratch, 'denied')
  const git = createGit({ cwd: dir, env, author })
  const started = Date.now()
  try {
    await git.clone(url, dir)
    assert.unreachable('clone without a token succeeded')
  } catch (error) {
    assert.ok(isAgentError(error, 'git'), String(error))
    assert.match((error as Error).message, 'git clone failed')
  }
  assert.ok(Date.now() - started < 30_000)
})

test('the default branch is detected from the remote HEAD', async () => {
  const url = await server.createRepo('o/trunk', { 'x.txt': 'x\n' })
  const bare = join(server.root, 'o/trunk.git')
  spawnSync('git', ['--git-dir', bare, 'branch', '-m', 'main', 'trunk'])
  spawnSync('git', ['--git-dir', bare, 'symbolic-ref', 'HEAD', 'refs/heads/trunk'])
  const dir = join(scratch, 'trunk')
  const git = createGit({ cwd: dir, env, token: TOKEN, author })
  await git.clone(url, dir)
  assert.is(await git.defaultBranch(), 'trunk')
  assert.ok(await git.hasRemoteBranch('trunk'))
  assert.not.ok(await git.hasRemoteBranch('main'))
})

test('fingerprint sees edits, new files and commits; diffAgainst is bounded', async () => {
  const url = await server.createRepo('o/changes', { 'a.txt': 'a\n' })
  const dir = join(scratch, 'changes')
  const git = createGit({ cwd: dir, env, token: TOKEN, author })
  await git.clone(url, dir)
  const base = await git.head()
  const first = await git.fingerprint()
  assert.is(await git.fingerprint(), first, 'stable while nothing changes')
  writeFileSync(join(dir, 'new.txt'), 'one\n')
  const withNew = await git.fingerprint()
  assert.is.not(withNew, first)
  writeFileSync(join(dir, 'new.txt'), 'two\n')
  assert.is.not(await git.fingerprint(), withNew, 'a second edit of an untracked file counts')
  await git.commitAll('commit it')
  const committed = await git.fingerprint()
  assert.is.not(committed, first)
  writeFileSync(join(dir, 'big.txt'), 'x'.repeat(50_000))
  const diff = await git.diffAgainst(base, 2000)
  assert.ok(diff.truncated)
  assert.ok(diff.diff.length <= 2000)
  assert.match(diff.stat, 'big.txt')
  assert.match(diff.stat, 'new.txt')
  assert.is(await git.commitsAhead(base), 1)
})

test('parseRepo reads owner/name from every URL shape', () => {
  assert.equal(parseRepo('https://github.com/acme/widgets.git'), { owner: 'acme', repo: 'widgets' })
  assert.equal(parseRepo('https://github.com/acme/widgets'), { owner: 'acme', repo: 'widgets' })
  assert.equal(parseRepo('git@github.com:acme/widgets.git'), { owner: 'acme', repo: 'widgets' })
  assert.equal(parseRepo('ssh://git@ghe.example.com/acme/widgets.git'), { owner: 'acme', repo: 'widgets' })
  assert.equal(parseRepo('https://ghe.example.com/scm/acme/widgets.git/'), { owner: 'acme', repo: 'widgets' })
  assert.is(parseRepo('https://github.com/widgets'), undefined)
  assert.is(parseRepo('not a url'), undefined)
})

test('the GitHub client: PR created once, an existing open PR found, comments posted, errors carry GitHub\'s message', async () => {
  const gh = await startGithub({ tokens: { [TOKEN]: 'bot' } })
  try {
    const client = createGithub({ apiUrl: gh.url, token: TOKEN, owner: 'acme', repo: 'api' })
    const pull = await client.createPull({ title: 'T', head: 'ticket-9', base: 'main', body: 'B' })
    assert.is(pull.number, 1)
    assert.is((await client.findOpenPull('ticket-9', 'main'))?.number, 1)
    assert.is(await client.findOpenPull('ticket-10', 'main'), undefined)
    try {
      await client.createPull({ title: 'T', head: 'ticket-9', base: 'main', body: 'B' })
      assert.unreachable('a second PR for the same head')
    } catch (error) {
      assert.match((error as Error).message, 'A pull request already exists')
    }
    const comment = await client.comment(1, 'hello')
    assert.ok(comment.id > 0)
    const bad = createGithub({ apiUrl: gh.url, token: 'wrong', owner: 'acme', repo: 'api' })
    try {
      await bad.getPull(1)
      assert.unreachable('bad token accepted')
    } catch (error) {
      assert.match((error as Error).message, '401 Bad credentials')
    }
    assert.ok(gh.requests.every((r) => r.path.startsWith('/repos/acme/api/')))
  } finally {
    await gh.close()
  }
})

test.run()
