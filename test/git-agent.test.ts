/**
 * The agent's git plumbing against real git over smart HTTP (the fixture stands in for the app's
 * git relay): the job token travels only through the per-command credential helper and only to the
 * relay's origin, `--` keeps URLs from being read as options, the default branch is detected, and
 * change detection and bounded diffs work. Local mode's worktrees: test/local-worktrees.test.ts;
 * the relay itself: test/security/git-relay.test.ts.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGit, credentialOrigin } from '../core/agent/git.ts'
import { isAgentError } from '../core/agent/errors.ts'
import { start as startGitHttp, type GitHttp } from './fixtures/git-http.ts'

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
  const git = createGit({ cwd: dir, env, credential: { token: TOKEN, url }, author })
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
  assert.ok(server.requests.some((r) => r.user === 'job' && r.path.endsWith('git-receive-pack') && r.status === 200))
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
  const git = createGit({ cwd: dir, env, credential: { token: TOKEN, url }, author })
  await git.clone(url, dir)
  assert.is(await git.defaultBranch(), 'trunk')
  assert.ok(await git.hasRemoteBranch('trunk'))
  assert.not.ok(await git.hasRemoteBranch('main'))
})

test('fingerprint sees edits, new files and commits; diffAgainst is bounded', async () => {
  const url = await server.createRepo('o/changes', { 'a.txt': 'a\n' })
  const dir = join(scratch, 'changes')
  const git = createGit({ cwd: dir, env, credential: { token: TOKEN, url }, author })
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

test('the helper offers the token to the relay\'s origin only; a URL that looks like an option stays a URL', async () => {
  const url = await server.createRepo('o/elsewhere', { 'a.txt': 'a\n' })
  const before = server.requests.length
  // The token is for another origin (the relay); the fixture at `url` must never be offered it.
  const git = createGit({ cwd: scratch, env, credential: { token: TOKEN, url: 'http://127.0.0.2:9/api/relay/git/1/1/repo.git' }, author })
  try {
    await git.clone(url, join(scratch, 'elsewhere'))
    assert.unreachable('cloned with a token offered to another origin')
  } catch (error) {
    assert.match((error as Error).message, 'git clone failed')
  }
  const asked = server.requests.slice(before)
  assert.ok(asked.length > 0 && asked.every((r) => r.user === undefined), 'no credentials were sent')
  try {
    await git.clone('--upload-pack=touch /tmp/pwned', join(scratch, 'option'))
    assert.unreachable('an option-like URL was cloned')
  } catch (error) {
    assert.match((error as Error).message, 'git clone failed')
  }
  assert.is(credentialOrigin('HTTP://User@Host.Example:8080/a/b.git'), 'http://host.example:8080')
})

test.run()
