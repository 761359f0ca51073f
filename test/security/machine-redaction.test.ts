// Issue 10, "Leaks on other paths": agent-produced text is stored masked on every path (job error,
// output tail, ticket summary, events), job and coordinator tokens included; outbound service
// errors (embeddings, GitHub) report the status, never the body.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRunnableProject, createTicket, startTestApp, type TestApp } from '../helpers.ts'
import { snapshotTables } from '../api-helpers.ts'
import { github } from '../../plugins/forges/github/index.ts'
import { createLogger } from '../../core/log.ts'
import { API_TOKEN_PREFIX } from '../../core/services/api-tokens.ts'

const SETTINGS_SECRET = 'ghp_settings_secret_for_masking_0123'
const LEAKED_BODY = 'internal-answer-that-must-not-leak'
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A server that answers every request with `status` and a body the caller must never see. */
async function leakyServer(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume()
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: LEAKED_BODY, errors: [{ message: LEAKED_BODY }] }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

const test = suite<{ t: TestApp; coordinatorToken: string }>('redaction of stored agent text')
test.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
  const put = await context.t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: SETTINGS_SECRET } })
  assert.is(put.status, 200, JSON.stringify(put.body))
  context.coordinatorToken = (await context.t.api('POST', '/api/coordinators/tokens', { name: 'leaky' })).body.token
})
test.after(async ({ t }) => t.close())

async function claimed(t: TestApp) {
  const project = await createRunnableProject(t)
  const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
  assert.is(claim.status, 200)
  return { project, ticket, jobId: claim.body.job_id as number, claimSeq: claim.body.claim_seq as number, token: claim.body.agent_token as string, base: `/api/projects/${project.id}/tickets/${ticket.id}` }
}

test('job error, output tail, summary and events are stored masked', async ({ t, coordinatorToken }) => {
  const first = await claimed(t)
  const second = await claimed(t)
  const secrets = [SETTINGS_SECRET, t.workerKey, coordinatorToken, first.token, second.token]
  const leak = (label: string) => `${label}: ${secrets.join(' | ')} (end)`

  // The agent's own writes: events and the ticket summary.
  assert.is((await t.api('POST', `${first.base}/logs`, { step: 'worker', summary: leak('summary'), raw_output: leak('raw') }, bearer(first.token))).status, 201)
  assert.is((await t.api('POST', `${first.base}/complete`, { summary: leak('ticket summary') }, bearer(first.token))).status, 200)
  // The coordinator's reports: output tail and error.
  assert.is((await t.api('POST', `/api/worker/jobs/${first.jobId}/complete`, { coordinator_id: 'c1', claim_seq: first.claimSeq, exit_code: 0, output_tail: leak('tail') })).status, 200)
  const failed = await t.api('POST', `/api/worker/jobs/${second.jobId}/fail`, { coordinator_id: 'c1', claim_seq: second.claimSeq, error: leak('error'), output_tail: leak('tail') })
  assert.is(failed.status, 200)
  assert.match(failed.body.error, /^error: \*\*\*/)
  assert.match(failed.body.output_tail, /\(end\)$/)

  const stored = JSON.stringify(await snapshotTables(t))
  for (const secret of secrets) assert.not.ok(stored.includes(secret), `stored in clear: ${secret.slice(0, 8)}…`)
  const job = (await t.api('GET', `/api/jobs/${second.jobId}`)).body
  assert.is(job.error, 'error: *** | *** | *** | *** | *** (end)')
  assert.is((await t.api('GET', first.base)).body.summary, 'ticket summary: *** | *** | *** | *** | *** (end)')
})

test('a job token is masked by its shape, whichever app signed it', async ({ t }) => {
  const c = await claimed(t)
  const foreign = 'tj1.eyJqb2JJZCI6OTk5fQ.c2lnbmF0dXJlLW9mLWFub3RoZXItYXBw'
  const fail = await t.api('POST', `/api/worker/jobs/${c.jobId}/fail`, { coordinator_id: 'c1', claim_seq: c.claimSeq, error: `curl -H "Authorization: Bearer ${foreign}"` })
  assert.is(fail.body.error, 'curl -H "Authorization: Bearer ***"')
})

test('a personal API token is masked by its shape, in stored text and in the log', async ({ t }) => {
  // Shaped as createApiToken issues them (API tokens need an account; this app has none).
  const token = API_TOKEN_PREFIX + randomBytes(32).toString('base64url')
  const c = await claimed(t)
  assert.is((await t.api('POST', `${c.base}/logs`, { step: 'worker', summary: `found ${token} in .env` }, bearer(c.token))).status, 201)
  const fail = await t.api('POST', `/api/worker/jobs/${c.jobId}/fail`, { coordinator_id: 'c1', claim_seq: c.claimSeq, error: `export TERARCHITECT_TOKEN=${token}` })
  assert.is(fail.body.error, 'export TERARCHITECT_TOKEN=***')
  assert.not.ok(JSON.stringify(await snapshotTables(t)).includes(token), 'the API token is stored nowhere in clear')
  const lines: string[] = []
  createLogger('info', {}, (line) => lines.push(line)).info('request', { authorization: `Bearer ${token}` })
  assert.is(JSON.parse(lines[0]!).authorization, 'Bearer ***')
})

test('embedding service errors name the status, never the body', async ({ t }) => {
  const { url, server } = await leakyServer(500)
  try {
    await t.api('PUT', '/api/settings', { values: { EMBEDDING_SERVICE_URL: url } })
    const project = await createRunnableProject(t)
    const indexed = await t.api('POST', `/api/projects/${project.id}/memory/index`, { documents: [{ content: 'hello' }] })
    assert.is(indexed.status, 201)
    assert.match(indexed.body.warning, /HTTP 500/)
    const found = await t.api('POST', `/api/projects/${project.id}/memory/retrieve`, { query: 'hello' })
    assert.is(found.status, 200)
    assert.match(found.body.warning, /HTTP 500/)
    for (const res of [indexed, found]) assert.not.ok(JSON.stringify(res.body).includes(LEAKED_BODY), JSON.stringify(res.body))
  } finally {
    await t.api('PUT', '/api/settings', { values: { EMBEDDING_SERVICE_URL: null } })
    server.close()
  }
})

test('GitHub API errors name the status, never the body', async () => {
  const { url, server } = await leakyServer(422)
  try {
    const gh = github().connect({ apiUrl: url, token: 'ghp_x' })
    let error: any
    try {
      await gh.openRequest('a/b', { title: 't', body: '', head: 'h', base: 'main', draft: false })
    } catch (caught) {
      error = caught
    }
    assert.ok(error, 'the request failed')
    assert.is(error.status, 422)
    assert.match(error.message, /GitHub 422/)
    assert.not.ok(error.message.includes(LEAKED_BODY), error.message)
  } finally {
    server.close()
  }
})

test.run()
