// Setup that checks itself (issue 12, acceptance 3): the "Test" actions tell a wrong URL, a wrong key
// and a token without push rights apart against the fake LLM and the fake GitHub, never echo a
// remote's body, and are admin-only; project saves check the repository; runs are refused without
// a forge token and for a local path two projects share; the first-run checklist.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { PROXIED, firstAdmin, userWithRole } from './people-helpers.ts'
import { ERROR_BODY_MARKER as LLM_MARKER, start as startLlm, type FakeLlm } from './fixtures/fake-llm.ts'
import { ERROR_BODY_MARKER as GITHUB_MARKER, start as startGithub, type FakeGithub } from './fixtures/fake-github.ts'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliDirs, createTicket, startWorld, type World } from './bench/agent-harness.ts'
import { dirtyCheckout, hostCoordinator } from './checkout-fixtures.ts'
import { waitFor } from './helpers.ts'

const KEY = 'sk-setup-good-0123456789'
const GOOD = 'ghp_setup_good_0123456789'
const READ_ONLY = 'ghp_setup_read_0123456789'

interface Context {
  t: TestApp
  llm: FakeLlm
  gh: FakeGithub
  /** Answers 404 with a marker body to everything: a URL that reaches a service, but not an LLM API. */
  other: Server
  otherUrl: string
  /** A port nothing listens on. */
  closedUrl: string
}

const test = suite<Context>('setup checks')

test.before(async (context) => {
  context.llm = await startLlm({ apiKey: KEY, script: () => ({ text: 'OK' }) })
  context.gh = await startGithub({ tokens: { [GOOD]: 'terarchitect-bot', [READ_ONLY]: 'reader' }, repos: ['acme/shop', 'acme/other'], scopes: { [GOOD]: 'repo, workflow' } })
  context.gh.state.repo('acme/shop')!.permissions.reader = 'read'
  context.other = createServer((req, res) => {
    req.resume()
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no such page (${LLM_MARKER})` } }))
  })
  await new Promise<void>((resolve) => context.other.listen(0, '127.0.0.1', resolve))
  context.otherUrl = `http://127.0.0.1:${(context.other.address() as AddressInfo).port}`
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  context.closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  context.t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: '' } })
})

test.after(async ({ t, llm, gh, other }) => {
  await t.close()
  await llm.close()
  await gh.close()
  await new Promise<void>((resolve) => other.close(() => resolve()))
})

const put = async (t: TestApp, values: Record<string, string | null>) => {
  const res = await t.api('PUT', '/api/settings', { values })
  assert.is(res.status, 200, JSON.stringify(res.body))
}

/** Runs a check; asserts the answer's shape and that no remote body came back. */
async function check(t: TestApp, path: string, body: unknown = {}) {
  const res = await t.api('POST', `/api/checks/${path}`, body)
  assert.is(res.status, 200, JSON.stringify(res.body))
  const text = JSON.stringify(res.body)
  assert.not.ok(text.includes(LLM_MARKER) || text.includes(GITHUB_MARKER), `a remote's body came back: ${text}`)
  assert.equal(Object.keys(res.body).sort(), ['kind', 'ok', 'reason', 'status'])
  assert.ok(res.body.reason.length < 400, 'the reason is short')
  return res.body as { ok: boolean; kind: string; status: number | null; reason: string }
}

test('worker LLM test, per CLI protocol: works, wrong key, wrong URL (refused, DNS, 404) told apart', async ({ t, llm, otherUrl, closedUrl }) => {
  const wires = { 'claude-code': 'anthropic', opencode: 'openai-chat', codex: 'openai-responses', gemini: 'gemini', aider: 'openai-chat' } as const
  for (const [mode, protocol] of Object.entries(wires)) {
    await put(t, { WORKER_MODE: mode, WORKER_LLM_URL: llm.url, WORKER_API_KEY: KEY })
    const before = llm.requests.length
    const ok = await check(t, 'worker-llm')
    assert.is(ok.kind, 'ok', `${mode}: ${ok.reason}`)
    assert.ok(ok.ok)
    assert.is(ok.status, 200)
    const sent = llm.requests.slice(before)
    assert.is(sent.length, 1, `${mode}: one request`)
    assert.is(sent[0]!.protocol, protocol, `${mode} speaks ${protocol}`)
    assert.ok(llm.keyWasSent(KEY))
    const body = sent[0]!.body as any
    const limit = body.max_tokens ?? body.max_output_tokens ?? body.generationConfig?.maxOutputTokens
    assert.ok(limit <= 16, `${mode}: a minimal request (${JSON.stringify(body)})`)

    await put(t, { WORKER_API_KEY: 'sk-wrong-key-0000000000' })
    const wrongKey = await check(t, 'worker-llm')
    assert.is(wrongKey.kind, 'wrong_key', `${mode}: ${wrongKey.reason}`)
    assert.is(wrongKey.status, 401)
    assert.match(wrongKey.reason, /WORKER_API_KEY/)
    assert.not.ok(wrongKey.reason.includes('sk-wrong-key'), 'the key is not in the reason')
  }
  // The worker mode can be named for a project's own CLI.
  await put(t, { WORKER_MODE: 'opencode', WORKER_API_KEY: KEY })
  assert.is((await check(t, 'worker-llm', { worker_mode: 'claude-code' })).kind, 'ok')

  await put(t, { WORKER_LLM_URL: closedUrl })
  const refused = await check(t, 'worker-llm')
  assert.is(refused.kind, 'unreachable')
  assert.is(refused.status, null)
  assert.match(refused.reason, /ECONNREFUSED/)

  await put(t, { WORKER_LLM_URL: 'http://llm.invalid' })
  const dns = await check(t, 'worker-llm')
  assert.is(dns.kind, 'unreachable')
  assert.match(dns.reason, /ENOTFOUND|EAI_AGAIN/)

  for (const mode of ['claude-code', 'opencode', 'gemini']) {
    await put(t, { WORKER_MODE: mode, WORKER_LLM_URL: otherUrl })
    const wrongUrl = await check(t, 'worker-llm')
    assert.is(wrongUrl.kind, 'wrong_url', `${mode}: ${wrongUrl.reason}`)
    assert.is(wrongUrl.status, 404)
    assert.match(wrongUrl.reason, /WORKER_LLM_URL/)
  }
  assert.match((await check(t, 'worker-llm', { worker_mode: 'claude-code' })).reason, /without \/v1/, 'the hint names the URL shape Claude Code wants')

  await put(t, { WORKER_LLM_URL: null })
  assert.is((await check(t, 'worker-llm')).kind, 'not_configured')
  assertError(await t.api('POST', '/api/checks/worker-llm', { worker_mode: 'vim' }), 400, '/body/worker_mode')
})

test('Director and embedding tests tell the same three apart', async ({ t, llm, otherUrl, closedUrl }) => {
  assert.is((await check(t, 'director-llm')).kind, 'not_configured')
  assert.is((await check(t, 'embeddings')).kind, 'not_configured')
  for (const [path, url, key, model] of [['director-llm', 'AGENT_LLM_URL', 'AGENT_API_KEY', 'AGENT_MODEL'], ['embeddings', 'EMBEDDING_SERVICE_URL', 'EMBEDDING_API_KEY', 'MEMORY_EMBEDDING_MODEL']] as const) {
    await put(t, { [url]: `${llm.url}/v1`, [key]: KEY, [model]: 'fake-model' })
    const before = llm.requests.length
    assert.is((await check(t, path)).kind, 'ok', path)
    assert.is(llm.requests[before]!.protocol, path === 'embeddings' ? 'embeddings' : 'openai-chat')
    await put(t, { [key]: 'sk-wrong-key-0000000000' })
    assert.is((await check(t, path)).kind, 'wrong_key', path)
    await put(t, { [url]: closedUrl })
    assert.is((await check(t, path)).kind, 'unreachable', path)
    await put(t, { [url]: otherUrl })
    assert.is((await check(t, path)).kind, 'wrong_url', path)
    await put(t, { [url]: null, [key]: null, [model]: null })
  }
})

test('forge token test: identity and scopes, push permission, wrong key, wrong URL', async ({ t, gh, closedUrl }) => {
  assert.is((await check(t, 'forge')).kind, 'not_configured')
  await put(t, { GITHUB_API_URL: gh.url, GITHUB_TOKEN: GOOD })
  const who = await check(t, 'forge')
  assert.is(who.kind, 'ok', who.reason)
  assert.match(who.reason, /terarchitect-bot/)
  assert.match(who.reason, /repo, workflow/, 'classic scopes are named')

  const project = await t.api('POST', '/api/projects', { name: 'forge-shop', repo_url: `${gh.url}/acme/shop.git` })
  assert.is(project.status, 201, JSON.stringify(project.body))
  assert.is(project.body.warnings, undefined, 'the repository exists and the token can push')
  const push = await check(t, 'forge', { project_id: project.body.id })
  assert.is(push.kind, 'ok', push.reason)
  assert.match(push.reason, /can push to acme\/shop/)

  await put(t, { GITHUB_TOKEN: READ_ONLY })
  const readOnly = await check(t, 'forge', { project_id: project.body.id })
  assert.is(readOnly.kind, 'no_push', readOnly.reason)
  assert.is(readOnly.ok, false)
  assert.match(readOnly.reason, /reader/)
  assert.is((await check(t, 'forge')).kind, 'ok', 'the identity alone is fine')

  await put(t, { GITHUB_TOKEN: 'ghp_setup_wrong_000000000' })
  const wrongKey = await check(t, 'forge', { project_id: project.body.id })
  assert.is(wrongKey.kind, 'wrong_key')
  assert.is(wrongKey.status, 401)

  await put(t, { GITHUB_TOKEN: GOOD, GITHUB_API_URL: closedUrl })
  assert.is((await check(t, 'forge')).kind, 'unreachable')
  await put(t, { GITHUB_API_URL: `${gh.url}/not-the-api` })
  const wrongUrl = await check(t, 'forge')
  assert.is(wrongUrl.kind, 'wrong_url', wrongUrl.reason)
  assert.match(wrongUrl.reason, /GITHUB_API_URL/)

  await put(t, { GITHUB_API_URL: gh.url })
  assertError(await t.api('POST', '/api/checks/forge', { project_id: 2147483647 }), 404)
  assertError(await t.api('POST', '/api/checks/forge', { project_id: 'x' }), 400, '/body/project_id')
})

test('project save: a missing repository is a 400 naming repo_url; no push or no token are warnings', async ({ t, gh }) => {
  await put(t, { GITHUB_API_URL: gh.url, GITHUB_TOKEN: GOOD })
  const missing = await t.api('POST', '/api/projects', { name: 'typo', repo_url: `${gh.url}/acme/shopp.git` })
  assertError(missing, 400, '/body/repo_url')
  assert.match(missing.body.error.details[0].message, /not found or no access/)
  assert.not.ok(JSON.stringify(missing.body).includes(GITHUB_MARKER))
  const alias = await t.api('POST', '/api/projects', { name: 'typo', github_url: `${gh.url}/acme/shopp` })
  assertError(alias, 400, '/body/github_url')
  assert.is((await t.api('GET', '/api/projects')).body.filter((project: any) => project.name === 'typo').length, 0, 'nothing was saved')

  const ok = await t.api('POST', '/api/projects', { name: 'save-ok', repo_url: `${gh.url}/acme/shop.git` })
  assert.is(ok.status, 201)
  assertError(await t.api('PATCH', `/api/projects/${ok.body.id}`, { repo_url: `${gh.url}/acme/nope.git` }), 400, '/body/repo_url')
  assert.is((await t.api('GET', `/api/projects/${ok.body.id}`)).body.repo_url, `${gh.url}/acme/shop.git`, 'the patch was refused whole')

  await put(t, { GITHUB_TOKEN: READ_ONLY })
  const readOnly = await t.api('PATCH', `/api/projects/${ok.body.id}`, { repo_url: `${gh.url}/acme/shop.git` })
  assert.is(readOnly.status, 200)
  assert.ok(readOnly.body.warnings?.some((warning: string) => /cannot push/.test(warning)), JSON.stringify(readOnly.body.warnings))

  await put(t, { GITHUB_TOKEN: null })
  const noToken = await t.api('POST', '/api/projects', { name: 'save-no-token', repo_url: `${gh.url}/acme/whatever.git` })
  assert.is(noToken.status, 201)
  assert.ok(noToken.body.warnings?.some((warning: string) => /GITHUB_TOKEN/.test(warning)))
})

test('runs are refused without a forge token, and for a local path two projects share', async ({ t, gh }) => {
  await put(t, { GITHUB_API_URL: gh.url, GITHUB_TOKEN: null })
  const check = await t.api('GET', '/api/settings/check')
  const forge = check.body.problems.find((problem: any) => problem.key === 'GITHUB_TOKEN')
  assert.is(forge?.severity, 'error', 'a missing token disables Run: not a warning')
  assert.is(check.body.ok, false)
  const project = await t.api('POST', '/api/projects', { name: 'run-no-token', repo_url: `${gh.url}/acme/shop.git` })
  const ticket = await t.api('POST', `/api/projects/${project.body.id}/tickets`, { title: 'needs a token' })
  const refused = await t.api('POST', `/api/projects/${project.body.id}/tickets/${ticket.body.id}/run`)
  assertError(refused, 422, '/settings/GITHUB_TOKEN')
  assert.match(refused.body.error.message, /GITHUB_TOKEN is not set/)

  await put(t, { GITHUB_TOKEN: GOOD })
  const first = await t.api('POST', '/api/projects', { name: 'path-a', repo_url: `${gh.url}/acme/shop.git`, execution_mode: 'local', project_path: '/srv/shared-checkout' })
  assert.is(first.status, 201)
  assert.not.ok(first.body.warnings.some((warning: string) => /already use/.test(warning)))
  assert.ok(first.body.warnings.some((warning: string) => /checked .* before each run/.test(warning)), 'the path is checked before the run')
  const second = await t.api('POST', '/api/projects', { name: 'path-b', repo_url: `${gh.url}/acme/shop.git`, execution_mode: 'local', project_path: '/srv/shared-checkout' })
  assert.is(second.status, 201, 'sharing a path is a warning at save')
  assert.ok(second.body.warnings.some((warning: string) => /path-a already uses this path/.test(warning)), JSON.stringify(second.body.warnings))
  const shared = await t.api('POST', `/api/projects/${second.body.id}/tickets`, { title: 'shared path' })
  assertError(await t.api('POST', `/api/projects/${second.body.id}/tickets/${shared.body.id}/run`), 422, '/project/project_path')
  await t.api('PATCH', `/api/projects/${second.body.id}`, { project_path: '/srv/own-checkout' })
  const own = await t.api('POST', `/api/projects/${second.body.id}/tickets/${shared.body.id}/run`)
  assert.is(own.status, 201, JSON.stringify(own.body))
})

test('the first-run checklist follows settings, project, graph, ticket and the first pull request', async () => {
  const t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: '' } })
  try {
    const steps = async () => {
      const res = await t.api('GET', '/api/setup/checklist')
      assert.is(res.status, 200)
      return res.body as { complete: boolean; steps: { key: string; done: boolean; detail?: string; project_id?: number }[] }
    }
    const empty = await steps()
    assert.equal(empty.steps.map((step) => step.key), ['settings', 'project', 'graph', 'ticket', 'pull_request'])
    assert.equal(empty.steps.map((step) => step.done), [false, false, false, false, false])
    assert.match(empty.steps[0]!.detail!, /GITHUB_TOKEN/)
    assert.is(empty.complete, false)
    await put(t, { GITHUB_TOKEN: 'ghp_checklist_000000000000' })
    const project = await t.api('POST', '/api/projects', { name: 'first', repo_url: 'https://git.example/acme/first.git' })
    await t.api('PUT', `/api/projects/${project.body.id}/graph`, { nodes: [{ id: 'api', label: 'API', type: 'service', x: 0, y: 0 }], edges: [], version: 1 })
    const ticket = await t.api('POST', `/api/projects/${project.body.id}/tickets`, { title: 'first ticket' })
    const later = await steps()
    assert.equal(later.steps.map((step) => step.done), [true, true, true, true, false], JSON.stringify(later))
    assert.is(later.steps[1]!.project_id, project.body.id)
    await t.app.ctx.sql`update tickets set pr_url = 'https://github.example/acme/first/pull/1' where id = ${ticket.body.id}`
    assert.is((await steps()).complete, true)
  } finally {
    await t.close()
  }
})

test('only admins run the tests; anyone signed in reads the checklist', async () => {
  const t = await startTestApp({ kind: 'pglite' })
  try {
    const admin = await firstAdmin(t)
    const member = { ...PROXIED, ...(await userWithRole(t, admin, 'mia', 'member')).headers }
    const viewer = { ...PROXIED, ...(await userWithRole(t, admin, 'vic', 'viewer')).headers }
    for (const path of ['worker-llm', 'director-llm', 'embeddings', 'forge']) {
      assertError(await t.api('POST', `/api/checks/${path}`, {}, member), 403, undefined, `member ${path}`)
      assertError(await t.api('POST', `/api/checks/${path}`, {}, viewer), 403, undefined, `viewer ${path}`)
      assertError(await t.api('POST', `/api/checks/${path}`, {}, PROXIED), 401, undefined, `anonymous ${path}`)
      assert.is((await t.api('POST', `/api/checks/${path}`, {}, admin)).status, 200, `admin ${path}`)
    }
    assert.is((await t.api('GET', '/api/setup/checklist', undefined, viewer)).status, 200)
    assertError(await t.api('GET', '/api/setup/checklist', undefined, PROXIED), 401)
  } finally {
    await t.close()
  }
})

test.run()

// The path of a local project is checked where it lives, by the coordinator, before the agent starts.
const local = suite<{ world: World; scratch: string }>('local path checks before a run')

local.before(async (context) => {
  context.scratch = mkdtempSync(join(tmpdir(), 'setup-checks-'))
  context.world = await startWorld()
  const res = await context.world.t.api('PATCH', `/api/projects/${context.world.projectId}`, { execution_mode: 'local', project_path: join(context.scratch, 'unset') }, context.world.people)
  assert.is(res.status, 200, JSON.stringify(res.body))
})

local.after(async ({ world, scratch }) => {
  await world?.close()
  rmSync(scratch, { recursive: true, force: true })
})

/** Points the project at `path`, runs a ticket with a real coordinator and returns the failed job. */
async function failedRun(world: World, path: string, title: string) {
  const patched = await world.t.api('PATCH', `/api/projects/${world.projectId}`, { project_path: path }, world.people)
  assert.is(patched.status, 200, JSON.stringify(patched.body))
  const coordinator = hostCoordinator(world, cliDirs().get('claude') ?? '/nonexistent', 1)
  try {
    const ticket = await createTicket(world, { title })
    const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
    assert.is(run.status, 201, JSON.stringify(run.body))
    const job = await waitFor(async () => {
      const [latest] = (await world.t.api('GET', `/api/projects/${world.projectId}/jobs?ticket_id=${ticket.id}`, undefined, world.people)).body
      return latest && ['failed', 'succeeded'].includes(latest.status) ? latest : null
    }, 60_000, 'the job to end')
    assert.is(job.status, 'failed', JSON.stringify(job))
    assert.is(world.llm.llmCalls().length, 0, 'the worker never started')
    if ('reason_kind' in job) assert.is(job.reason_kind, 'setup', JSON.stringify(job))
    return job as { error: string; reason?: string }
  } finally {
    await coordinator.stop()
  }
}

local('a checkout whose origin is another repository fails before the agent starts, naming both', async ({ world, scratch }) => {
  const checkout = join(scratch, 'wrong-origin')
  dirtyCheckout(world.bare, checkout, 'https://github.example/acme/gadgets.git')
  const job = await failedRun(world, checkout, 'Wrong origin')
  assert.match(job.error, `the checkout at ${checkout} has origin https://github.example/acme/gadgets.git, not the project's repository`)
  if (job.reason !== undefined) assert.match(job.reason, /has origin https:\/\/github\.example\/acme\/gadgets\.git/)
})

local('a folder that is not a git checkout fails before the agent starts', async ({ world, scratch }) => {
  const folder = join(scratch, 'not-a-checkout')
  mkdirSync(folder)
  writeFileSync(join(folder, 'notes.txt'), 'mine\n')
  const job = await failedRun(world, folder, 'Not a checkout')
  assert.match(job.error, `the project path ${folder} is not a git checkout`)
})

local('a path that does not exist fails before the agent starts', async ({ world, scratch }) => {
  const missing = join(scratch, 'no-such-checkout')
  const job = await failedRun(world, missing, 'Missing path')
  assert.match(job.error, `the project path ${missing} does not exist`)
})

local.run()
