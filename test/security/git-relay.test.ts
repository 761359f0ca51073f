/**
 * The git relay and the forge actions (docs/SECURITY.md "The git relay and forge actions"), with
 * real git against the app: a job token clones, fetches and pushes its own `ticket-<id>` (a review
 * job: its PR's head branch) and nothing else, large packs streaming both ways; the forge token
 * reaches only the project's git host (a repository on another host, a redirect, plain http not
 * listed in ALLOW_INSECURE_GIT_HOSTS: the decoys record nothing); no token, a token of another ticket or project, the worker key or an
 * ended job's token are refused; the forge actions open the job's PR and reply on its PR only.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startTestApp, type TestApp } from '../helpers.ts'
import { GIT_IDENTITY, start as startGitHttp, type GitHttp } from '../fixtures/git-http.ts'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'
import { parseRefUpdates, refusal } from '../../core/services/git-relay.ts'

const run = promisify(execFile)
const FORGE_TOKEN = 'ghp_relay_forge_token_0123456789'
const WORKER_KEY = 'relay-worker-key-0123456789'
const ADMIN = { authorization: 'Bearer relay-admin-token-0123456789' }
const WORKER = { authorization: `Bearer ${WORKER_KEY}` }
const COORDINATOR = 'relay-tests'

let t: TestApp
let forgeGit: GitHttp // the project's git host (127.0.0.1, plain http, listed)
let decoy: GitHttp // another host (127.0.0.2), listed as insecure but not the forge's
let unlisted: GitHttp // the forge's host name, plain http, not listed
let gh: FakeGithub
let redirector: Server
let redirectorHits = 0
let scratch: string
let project: number
let bare: string

interface Claimed { job_id: number; claim_seq: number; ticket_id: number; project_id: number; agent_token: string }

async function newProject(repoUrl: string): Promise<number> {
  const res = await t.api('POST', '/api/projects', { name: `relay-${Math.random().toString(36).slice(2, 8)}`, repo_url: repoUrl }, ADMIN)
  if (res.status !== 201) throw new Error(`project: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.id
}

/** A ticket of `projectId` moved to In Progress and its job claimed as a coordinator would. */
async function claimTicket(projectId: number): Promise<Claimed> {
  const ticket = await t.api('POST', `/api/projects/${projectId}/tickets`, { title: 'Relay me' }, ADMIN)
  const started = await t.api('POST', `/api/projects/${projectId}/tickets/${ticket.body.id}/run`, undefined, ADMIN)
  if (started.status !== 201) throw new Error(`run: ${started.status} ${JSON.stringify(started.body)}`)
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: COORDINATOR }, WORKER)
  if (claim.status !== 200) throw new Error(`claim: ${claim.status} ${JSON.stringify(claim.body)}`)
  return claim.body
}

/** Claims a review job for PR `number` of ticket `ticketId` (as dispatch would queue it). */
async function claimReview(ticketId: number, number: number): Promise<Claimed> {
  await t.app.ctx.sql`insert into agent_jobs (project_id, ticket_id, kind, pr_number, comment_body, github_comment_id)
    values (${project}, ${ticketId}, 'review', ${number}, 'Please fix', 7)`
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project, coordinator_id: COORDINATOR }, WORKER)
  if (claim.status !== 200 || claim.body.pr_number !== number) throw new Error(`claim: ${claim.status} ${JSON.stringify(claim.body)}`)
  return claim.body
}

const relayUrl = (job: { project_id: number; ticket_id: number }) => `${t.url}/api/relay/git/${job.project_id}/${job.ticket_id}/repo.git`

/** Runs git with a credential helper that answers the job token (as the agent's does). */
async function git(token: string | undefined, args: string[], cwd = scratch): Promise<{ ok: boolean; output: string }> {
  const helper = token ? ['-c', 'credential.helper=', '-c', 'credential.helper=!f() { echo username=job; echo "password=$RELAY_TEST_TOKEN"; }; f'] : ['-c', 'credential.helper=']
  try {
    const { stdout, stderr } = await run('git', [...helper, ...args], {
      cwd, env: { PATH: process.env.PATH!, HOME: scratch, GIT_TERMINAL_PROMPT: '0', ...GIT_IDENTITY, ...(token ? { RELAY_TEST_TOKEN: token } : {}) },
    })
    return { ok: true, output: stdout + stderr }
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  }
}

const remoteRefs = async () => (await run('git', ['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)'])).stdout

/** A clone of `job`'s repository through the relay with one new commit on a detached HEAD. */
async function cloneWithCommit(job: Claimed, name: string): Promise<string> {
  const dir = join(scratch, name)
  const cloned = await git(job.agent_token, ['clone', '--quiet', '--', relayUrl(job), dir])
  assert.ok(cloned.ok, cloned.output)
  writeFileSync(join(dir, `${name}.txt`), `${name}\n`)
  assert.ok((await git(undefined, ['-C', dir, 'add', '--all'])).ok)
  assert.ok((await git(undefined, ['-C', dir, 'commit', '--quiet', '-m', name])).ok)
  return dir
}

test.before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'git-relay-'))
  forgeGit = await startGitHttp({ token: FORGE_TOKEN })
  decoy = await startGitHttp({ host: '127.0.0.2' })
  unlisted = await startGitHttp()
  gh = await startGithub({ tokens: { [FORGE_TOKEN]: 'terarchitect-bot' } })
  redirector = createServer((req, res) => {
    redirectorHits++
    res.writeHead(302, { location: `${decoy.url}/decoy/repo.git${req.url?.replace(/^\/[^?]*?\/repo\.git/, '') ?? ''}` })
    res.end()
  })
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve))
  const redirectHost = `127.0.0.1:${(redirector.address() as AddressInfo).port}`
  t = await startTestApp({
    kind: 'pglite',
    env: {
      TERARCHITECT_WORKER_API_KEY: WORKER_KEY, TERARCHITECT_ADMIN_TOKEN: ADMIN.authorization.slice(7),
      ALLOW_INSECURE_GIT_HOSTS: [new URL(forgeGit.url).host, new URL(decoy.url).host, redirectHost].join(','),
    },
  })
  const settings = await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: FORGE_TOKEN, GITHUB_API_URL: gh.url, WORKER_MODEL: 'm' } }, ADMIN)
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  project = await newProject(await forgeGit.createRepo('acme/relay', { 'README.md': '# relay\n' }))
  bare = join(forgeGit.root, 'acme', 'relay.git')
  await decoy.createRepo('decoy/repo')
  await unlisted.createRepo('plain/repo')
})

test.after(async () => {
  await t?.close()
  await Promise.all([forgeGit?.close(), decoy?.close(), unlisted?.close(), gh?.close()])
  await new Promise((resolve) => redirector?.close(resolve))
  rmSync(scratch, { recursive: true, force: true })
})

test('the job token clones, fetches and pushes ticket-<id>; the forge token reaches the git host only as Basic x-access-token', async () => {
  const job = await claimTicket(project)
  const dir = await cloneWithCommit(job, 'own-branch')
  assert.ok((await git(job.agent_token, ['-C', dir, 'fetch', '--quiet', '--', 'origin'])).ok)
  const pushed = await git(job.agent_token, ['-C', dir, 'push', '--porcelain', '--', 'origin', `HEAD:refs/heads/ticket-${job.ticket_id}`])
  assert.ok(pushed.ok, pushed.output)
  assert.match(await remoteRefs(), `refs/heads/ticket-${job.ticket_id} `)
  // The git host saw the forge token (its fixture demands it) under the documented user name only.
  const users = new Set(forgeGit.requests.filter((r) => r.status === 200).map((r) => r.user))
  assert.equal([...users], ['x-access-token'])
  assert.ok(forgeGit.requests.some((r) => r.path.endsWith('/git-receive-pack') && r.status === 200))
  const config = readFileSync(join(dir, '.git', 'config'), 'utf8')
  assert.not.match(config, FORGE_TOKEN)
  assert.not.match(config, job.agent_token)
})

test('a large push and clone stream through the relay (chunked request, pack beyond the command section)', async () => {
  const job = await claimTicket(project)
  const dir = await cloneWithCommit(job, 'large')
  // Incompressible, and larger than git's 1 MB post buffer: git sends the pack chunked.
  writeFileSync(join(dir, 'blob.bin'), randomBytes(24 * 1024 * 1024))
  assert.ok((await git(undefined, ['-C', dir, 'add', '--', 'blob.bin'])).ok)
  assert.ok((await git(undefined, ['-C', dir, 'commit', '--quiet', '-m', 'large'])).ok)
  const pushed = await git(job.agent_token, ['-C', dir, 'push', '--porcelain', '--', 'origin', `HEAD:refs/heads/ticket-${job.ticket_id}`])
  assert.ok(pushed.ok, pushed.output)
  const again = join(scratch, 'large-again')
  const cloned = await git(job.agent_token, ['clone', '--quiet', '--branch', `ticket-${job.ticket_id}`, '--', relayUrl(job), again])
  assert.ok(cloned.ok, cloned.output)
  assert.is(readFileSync(join(again, 'blob.bin')).length, 24 * 1024 * 1024)
})

test('another branch, a tag, main, a delete and a mixed push are refused in git\'s words; the remote is unchanged', async () => {
  const job = await claimTicket(project)
  const dir = await cloneWithCommit(job, 'refused')
  const own = `refs/heads/ticket-${job.ticket_id}`
  assert.ok((await git(job.agent_token, ['-C', dir, 'push', '--quiet', '--', 'origin', `HEAD:${own}`])).ok, 'its own branch first')
  assert.ok((await git(undefined, ['-C', dir, 'tag', 'v9'])).ok)
  const before = await remoteRefs()
  const attempts: [string[], string][] = [
    [['HEAD:refs/heads/other'], `this job may push only to ${own}`],
    [['HEAD:refs/heads/main'], `this job may push only to ${own}`],
    [['+HEAD:refs/heads/main'], `this job may push only to ${own}`],
    [['refs/tags/v9:refs/tags/v9'], `this job may push only to ${own}`],
    [[`:${own}`], 'deleting a branch is not allowed'],
  ]
  for (const [refspecs, reason] of attempts) {
    const pushed = await git(job.agent_token, ['-C', dir, 'push', '--porcelain', '--', 'origin', ...refspecs])
    assert.not.ok(pushed.ok, `git push ${refspecs.join(' ')} succeeded`)
    assert.match(pushed.output, reason, `git push ${refspecs.join(' ')}: ${pushed.output}`)
    assert.is(await remoteRefs(), before, `remote unchanged after git push ${refspecs.join(' ')}`)
  }
  // A new commit for its own branch goes nowhere when the same push also names another ref.
  writeFileSync(join(dir, 'more.txt'), 'more\n')
  assert.ok((await git(undefined, ['-C', dir, 'add', '--', 'more.txt'])).ok)
  assert.ok((await git(undefined, ['-C', dir, 'commit', '--quiet', '-m', 'more'])).ok)
  const mixed = await git(job.agent_token, ['-C', dir, 'push', '--porcelain', '--', 'origin', `HEAD:${own}`, 'HEAD:refs/heads/main'])
  assert.not.ok(mixed.ok)
  assert.match(mixed.output, `${own}\t[remote rejected] (refused with the rest of this push)`)
  assert.is(await remoteRefs(), before, 'remote unchanged after a mixed push')
  // The relay's record of agent pushes (what the CI follower trusts) holds the one push the git
  // host accepted, its own branch's first commit, and nothing the relay refused.
  const ownHead = (await run('git', ['--git-dir', bare, 'rev-parse', own])).stdout.trim()
  const recorded = await t.app.ctx.sql`select branch, oid, job_id from relay_pushes where project_id = ${project} and job_id = ${job.job_id}`
  assert.equal(recorded.map((row) => ({ ...row })), [{ branch: `ticket-${job.ticket_id}`, oid: ownHead, job_id: job.job_id }])
})

test('no token, a bad one, another ticket\'s or project\'s, the worker key and an ended job\'s token are refused', async () => {
  const job = await claimTicket(project)
  const other = await claimTicket(project)
  const otherProject = await claimTicket(await newProject(await forgeGit.createRepo('acme/other')))
  const infoRefs = (headers: Record<string, string>, target: { project_id: number; ticket_id: number } = job) =>
    fetch(`${relayUrl(target)}/info/refs?service=git-upload-pack`, { headers })
  const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`job:${token}`).toString('base64')}` })
  const before = forgeGit.requests.length

  const none = await infoRefs({})
  assert.is(none.status, 401)
  assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /, 'git is challenged, so it asks its helper')
  assert.is((await infoRefs(basic('tj1.forged.token'))).status, 401)
  assert.is((await infoRefs(basic(WORKER_KEY))).status, 401)
  assert.is((await infoRefs(WORKER)).status, 401)
  assert.is((await infoRefs(basic(other.agent_token))).status, 403, 'another ticket of the same project')
  assert.is((await infoRefs(basic(otherProject.agent_token))).status, 403, 'another project')
  assert.is((await infoRefs(basic(job.agent_token), { project_id: otherProject.project_id, ticket_id: job.ticket_id })).status, 403)
  assert.is((await infoRefs(basic(job.agent_token))).status, 200, 'the token of this job')
  assert.is((await infoRefs({ authorization: `Bearer ${job.agent_token}` })).status, 200, 'Bearer works too')
  const pushAs = (token: string) => fetch(`${relayUrl(job)}/git-receive-pack`, { method: 'POST', headers: { ...basic(token), 'content-type': 'application/x-git-receive-pack-request' }, body: '0000' })
  assert.is((await pushAs(other.agent_token)).status, 403)

  const failed = await t.api('POST', `/api/worker/jobs/${job.job_id}/fail`, { coordinator_id: COORDINATOR, claim_seq: job.claim_seq, error: 'stopped' }, WORKER)
  assert.is(failed.status, 200, JSON.stringify(failed.body))
  assert.is((await infoRefs(basic(job.agent_token))).status, 401, 'the job ended')
  assert.is((await pushAs(job.agent_token)).status, 401)
  const dir = join(scratch, 'ended')
  const clone = await git(job.agent_token, ['clone', '--quiet', '--', relayUrl(job), dir])
  assert.not.ok(clone.ok)
  assert.match(clone.output, /Authentication failed|401/)
  // Two 200s above (the live token); nothing else reached the git host.
  assert.is(forgeGit.requests.length - before, 2)
})

test('a cancel stops the job token at once: push, forge/pull, the LLM relay and complete are refused; logs and cancel-requested answer', async () => {
  const job = await claimTicket(project)
  const dir = await cloneWithCommit(job, 'cancelled')
  const base = `${t.url}/api/projects/${job.project_id}/tickets/${job.ticket_id}`
  const as = (method: string, url: string, body?: unknown) => fetch(url, {
    method, headers: { authorization: `Bearer ${job.agent_token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const llm = () => as('POST', `${t.url}/api/relay/llm/worker/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'hi' }] })
  assert.is((await llm()).status, 503, 'before the cancel the token passes the relay\'s check (no LLM is configured here)')

  const cancelled = await t.api('POST', `/api/projects/${job.project_id}/tickets/${job.ticket_id}/cancel`, undefined, ADMIN)
  assert.is(cancelled.status, 200, JSON.stringify(cancelled.body))
  assert.is(cancelled.body.status, 'running', 'the coordinator has not reported the stop yet: only cancel_requested is set')
  const reason = /job \d+ was cancelled/

  const before = await remoteRefs()
  const pushed = await git(job.agent_token, ['-C', dir, 'push', '--porcelain', '--', 'origin', `HEAD:refs/heads/ticket-${job.ticket_id}`])
  assert.not.ok(pushed.ok, pushed.output)
  assert.match(pushed.output, /Authentication failed|401/)
  assert.is(await remoteRefs(), before, 'nothing was pushed')
  const refs = await fetch(`${relayUrl(job)}/info/refs?service=git-receive-pack`, { headers: { authorization: `Bearer ${job.agent_token}` } })
  assert.is(refs.status, 401)
  assert.match(await refs.text(), reason)
  for (const [what, res] of [
    ['forge/pull', await as('POST', `${base}/forge/pull`, { title: 'x', body: 'y', base: 'main' })],
    ['LLM relay', await llm()],
    ['complete', await as('POST', `${base}/complete`, { summary: 'done anyway' })],
    ['worker-context', await as('GET', `${base}/worker-context`)],
  ] as const) {
    assert.is(res.status, 401, what)
    assert.match(await res.text(), reason, what)
  }
  const logged = await as('POST', `${base}/logs`, { step: 'cancelled', summary: 'stopped on request' })
  assert.is(logged.status, 201, 'the agent still says it stopped')
  const asked = await as('GET', `${base}/cancel-requested`)
  assert.is(asked.status, 200)
  assert.is((await asked.json()).cancel_requested, true)
  assert.is((await t.api('GET', `/api/projects/${job.project_id}/tickets/${job.ticket_id}`, undefined, ADMIN)).body.column_id, 'in_progress', 'the ticket did not move on')
})

test('the forge token goes to the project\'s git host only: another host, a redirect and unlisted plain http see nothing', async () => {
  const redirectUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/acme/redirect/repo.git`
  const cases: [string, string, RegExp][] = [
    ['another host', `${decoy.url}/decoy/repo.git`, /not on the forge's host 127\.0\.0\.1/],
    ['a redirect', redirectUrl, /does not follow redirects/],
    ['plain http, not listed', `${unlisted.url}/plain/repo.git`, /ALLOW_INSECURE_GIT_HOSTS/],
  ]
  for (const [what, repoUrl, reason] of cases) {
    const job = await claimTicket(await newProject(repoUrl))
    const cloned = await git(job.agent_token, ['clone', '--quiet', '--', relayUrl(job), join(scratch, `decoy-${what.replace(/\W+/g, '-')}`)])
    assert.not.ok(cloned.ok, what)
    assert.match(cloned.output, reason, `${what}: ${cloned.output}`)
  }
  assert.is(decoy.requests.length, 0, 'the decoy host saw no request at all')
  assert.is(unlisted.requests.length, 0, 'the unlisted plain-http host saw no request')
  assert.ok(redirectorHits > 0, 'the redirecting host was asked (it is the project\'s git host)')
})

test('a review job pushes its PR\'s head branch, not ticket-<id>', async () => {
  const ticket = (await t.api('POST', `/api/projects/${project}/tickets`, { title: 'Reviewed' }, ADMIN)).body
  const seed = join(scratch, 'review-seed')
  assert.ok((await git(undefined, ['clone', '--quiet', '--', bare, seed])).ok)
  assert.ok((await git(undefined, ['-C', seed, 'push', '--quiet', '--', 'origin', 'HEAD:refs/heads/feature/by-hand'])).ok)
  const pull = gh.state.createPull('acme/relay', { title: 'By hand', head: 'feature/by-hand', base: 'main' }, 'someone')
  await t.app.ctx.sql`insert into prs (project_id, ticket_id, repo, number, tracking) values (${project}, ${ticket.id}, 'acme/relay', ${pull.number}, true)`
  const job = await claimReview(ticket.id, pull.number)
  const dir = await cloneWithCommit(job, 'review')
  const refused = await git(job.agent_token, ['-C', dir, 'push', '--porcelain', '--', 'origin', `HEAD:refs/heads/ticket-${ticket.id}`])
  assert.not.ok(refused.ok)
  assert.match(refused.output, 'this job may push only to refs/heads/feature/by-hand')
  const pushed = await git(job.agent_token, ['-C', dir, 'push', '--porcelain', '--', 'origin', 'HEAD:refs/heads/feature/by-hand'])
  assert.ok(pushed.ok, pushed.output)

  // The review context comes with worker-context; the reply goes on this job's PR with the marker.
  const context = await fetch(`${t.url}/api/projects/${project}/tickets/${ticket.id}/worker-context`, { headers: { authorization: `Bearer ${job.agent_token}` } })
  const body = await context.json()
  assert.equal(body.review.pr.head_branch, 'feature/by-hand')
  assert.equal(body.review.comment, { body: 'Please fix', github_comment_id: 7 })
  assert.not.ok(JSON.stringify(body).includes(FORGE_TOKEN), 'no forge token in worker-context')
  const reply = await fetch(`${t.url}/api/projects/${project}/tickets/${ticket.id}/forge/reply`, {
    method: 'POST', headers: { authorization: `Bearer ${job.agent_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ body: `Done (token ${FORGE_TOKEN})` }),
  })
  assert.is(reply.status, 201)
  const posted = gh.state.repo('acme/relay')!.comments.find((c) => c.issue_number === pull.number)!
  assert.match(posted.body, '<!-- terarchitect:reply -->')
  assert.not.match(posted.body, FORGE_TOKEN)
  const opened = await fetch(`${t.url}/api/projects/${project}/tickets/${ticket.id}/forge/pull`, {
    method: 'POST', headers: { authorization: `Bearer ${job.agent_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'x', body: 'y', base: 'main' }),
  })
  assert.is(opened.status, 409, 'a review job opens no PR')
})

test('a review job pushes nothing for a PR the app does not track for its ticket, nor for a fork\'s or a deleted fork\'s PR', async () => {
  const ticket = (await t.api('POST', `/api/projects/${project}/tickets`, { title: 'Not ours' }, ADMIN)).body
  const other = (await t.api('POST', `/api/projects/${project}/tickets`, { title: 'Tracks it' }, ADMIN)).body
  const seed = join(scratch, 'untracked-seed')
  assert.ok((await git(undefined, ['clone', '--quiet', '--', bare, seed])).ok)
  for (const branch of ['feature/untracked', 'feature/gone']) assert.ok((await git(undefined, ['-C', seed, 'push', '--quiet', '--', 'origin', `HEAD:refs/heads/${branch}`])).ok)
  const untracked = gh.state.createPull('acme/relay', { title: 'Someone else\'s', head: 'feature/untracked', base: 'main' }, 'someone')
  const fork = gh.state.createPull('acme/relay', { title: 'From a fork', head: 'stranger:feature/untracked', base: 'main' }, 'stranger')
  const gone = gh.state.createPull('acme/relay', { title: 'Fork deleted', head: 'feature/gone', base: 'main' }, 'stranger')
  gone.head.repo = null
  // Tracked, but for another ticket; tracked for this ticket but a fork's; a deleted fork's.
  await t.app.ctx.sql`insert into prs (project_id, ticket_id, repo, number, tracking) values
    (${project}, ${other.id}, 'acme/relay', ${untracked.number}, true), (${project}, ${ticket.id}, 'acme/relay', ${fork.number}, true),
    (${project}, ${ticket.id}, 'acme/relay', ${gone.number}, true)`
  const cases: [number, string, RegExp][] = [
    [untracked.number, 'feature/untracked', /not a pull request the app tracks for ticket/],
    [fork.number, 'feature/untracked', /comes from a fork/],
    [gone.number, 'feature/gone', /comes from a fork/],
  ]
  const before = await remoteRefs()
  for (const [number, branch, reason] of cases) {
    const job = await claimReview(ticket.id, number)
    const dir = await cloneWithCommit(job, `review-refused-${number}`)
    const pushed = await git(job.agent_token, ['-C', dir, 'push', '--porcelain', '--', 'origin', `HEAD:refs/heads/${branch}`])
    assert.not.ok(pushed.ok, `PR #${number}: ${pushed.output}`)
    assert.match(pushed.output, reason, `PR #${number}`)
    assert.is((await t.api('POST', `/api/worker/jobs/${job.job_id}/fail`, { coordinator_id: COORDINATOR, claim_seq: job.claim_seq, error: 'refused' }, WORKER)).status, 200)
  }
  assert.is(await remoteRefs(), before, 'nothing was pushed')
})

test('forge actions: the job\'s PR from ticket-<id> only, once; other callers refused; bad input named', async () => {
  const job = await claimTicket(project)
  const other = await claimTicket(project)
  const open = (token: string | undefined, body: unknown, ticketId = job.ticket_id) => fetch(`${t.url}/api/projects/${project}/tickets/${ticketId}/forge/pull`, {
    method: 'POST', headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' }, body: JSON.stringify(body),
  })
  const fields = { title: 'Add health', body: `Summary. ${FORGE_TOKEN}`, base: 'main' }
  assert.is((await open(undefined, fields)).status, 401)
  assert.is((await open(WORKER_KEY, fields)).status, 403, 'the worker key opens no ticket')
  assert.is((await open(other.agent_token, fields)).status, 403, 'another ticket\'s token')
  const bad = await open(job.agent_token, { ...fields, base: '--upload-pack=x' })
  assert.is(bad.status, 400)
  assert.match(JSON.stringify(await bad.json()), '/body/base')

  const first = await open(job.agent_token, { ...fields, draft: true })
  assert.is(first.status, 201)
  const created = await first.json()
  const again = await open(job.agent_token, fields)
  assert.is(again.status, 200, 'the open PR of the branch is reused')
  assert.is((await again.json()).number, created.number)
  const pull = gh.state.repo('acme/relay')!.pulls.find((p) => p.number === created.number)!
  assert.is(pull.head.ref, `ticket-${job.ticket_id}`, 'the head is the job\'s branch, whatever the agent says')
  assert.ok(pull.draft)
  assert.not.match(pull.body ?? '', FORGE_TOKEN)
  const reply = await fetch(`${t.url}/api/projects/${project}/tickets/${job.ticket_id}/forge/reply`, {
    method: 'POST', headers: { authorization: `Bearer ${job.agent_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ body: 'hi' }),
  })
  assert.is(reply.status, 409, 'a ticket job has no PR to reply on')

  // The app recorded the PR it opened; complete reports that one, or is refused.
  assert.equal((await t.app.ctx.sql`select pr_number from agent_jobs where id = ${job.job_id}`).map((row) => row.pr_number), [created.number])
  const complete = (token: string, body: unknown, ticketId = job.ticket_id) => fetch(`${t.url}/api/projects/${project}/tickets/${ticketId}/complete`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  })
  const elsewhere = gh.state.createPull('acme/relay', { title: 'Another branch', head: 'feature/elsewhere', base: 'main' }, 'someone')
  const forked = gh.state.createPull('acme/relay', { title: 'A fork\'s branch', head: `stranger:ticket-${job.ticket_id}`, base: 'main' }, 'stranger')
  for (const [body, status, field] of [
    [{ pr_number: elsewhere.number }, 409, '/body/pr_number'],
    [{ pr_number: forked.number }, 409, '/body/pr_number'],
    [{ pr_number: 9999 }, 409, '/body/pr_number'],
    [{ pr_number: created.number, pr_url: 'javascript:alert(1)' }, 400, '/body/pr_url'],
    [{ pr_number: created.number, pr_url: created.url.replace('https:', 'http:') }, 400, '/body/pr_url'],
    [{ pr_number: created.number, pr_url: `https://evil.example/acme/relay/pull/${created.number}` }, 400, '/body/pr_url'],
    [{ pr_url: elsewhere.html_url }, 400, '/body/pr_url'],
  ] as const) {
    const res = await complete(job.agent_token, body)
    assert.is(res.status, status, JSON.stringify(body))
    assert.match(JSON.stringify(await res.json()), field, JSON.stringify(body))
  }
  assert.is((await t.api('GET', `/api/projects/${project}/tickets/${job.ticket_id}`, undefined, ADMIN)).body.pr_number, null, 'nothing was stored')
  const done = await complete(job.agent_token, { pr_url: created.url, summary: 'Added' })
  assert.is(done.status, 200)
  const ticket = await done.json()
  assert.equal([ticket.pr_number, ticket.pr_url], [created.number, created.url], 'the PR the app opened, its https page on the forge')
  assert.match(created.url, /^https:\/\/127\.0\.0\.1:\d+\/acme\/relay\/pull\/\d+$/)
  // A PR the app did not open but the forge shows for ticket-<id> in the repository is the ticket's.
  const found = gh.state.createPull('acme/relay', { title: 'Opened by hand', head: `ticket-${other.ticket_id}`, base: 'main' }, 'someone')
  const foundDone = await complete(other.agent_token, { pr_number: found.number, pr_url: found.html_url }, other.ticket_id)
  assert.is(foundDone.status, 200)
  assert.equal((({ pr_number, pr_url }) => [pr_number, pr_url])(await foundDone.json()), [found.number, found.html_url])
  // Every forge call carried the forge token to the forge API, and only there.
  assert.ok(gh.requests.length > 0 && gh.requests.every((r) => r.token === FORGE_TOKEN))
})

test('the command section of a push is parsed as git sends it', () => {
  const pkt = (line: string) => (line.length + 4).toString(16).padStart(4, '0') + line
  const a = 'a'.repeat(40)
  const zero = '0'.repeat(40)
  const body = Buffer.from(`${pkt(`shallow ${a}\n`)}${pkt(`${zero} ${a} refs/heads/ticket-3\0 report-status side-band-64k\n`)}${pkt(`${a} ${zero} refs/heads/main\n`)}0000PACK...`)
  assert.equal(parseRefUpdates(body), {
    updates: [{ oldOid: zero, newOid: a, ref: 'refs/heads/ticket-3' }, { oldOid: a, newOid: zero, ref: 'refs/heads/main' }],
    capabilities: ['report-status', 'side-band-64k'],
  })
  assert.is(parseRefUpdates(body.subarray(0, 60)), undefined, 'incomplete until the flush')
  assert.throws(() => parseRefUpdates(Buffer.from('zzzz')), /pkt-line/)
  assert.throws(() => parseRefUpdates(Buffer.from(pkt('push-cert\0 x\n'))), /signed pushes/)
  assert.is(refusal({ oldOid: zero, newOid: a, ref: 'refs/heads/ticket-3' }, 'ticket-3'), null)
  assert.is(refusal({ oldOid: a, newOid: zero, ref: 'refs/heads/ticket-3' }, 'ticket-3'), 'deleting a branch is not allowed')
  assert.match(refusal({ oldOid: zero, newOid: a, ref: 'refs/heads/ticket-30' }, 'ticket-3') ?? '', 'only to refs/heads/ticket-3')
})

test.run()
