/**
 * Webhooks: a request event is a prompt to read the request from the forge, never a state taken
 * from the delivery; a delivery is taken once by its signed body (a captured delivery replayed,
 * under its id, a fresh one or none, is refused); every refusal has one text, whatever the
 * repository (docs/SECURITY.md "Webhooks").
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, type TestApp } from '../helpers.ts'
import { deliveryKey } from '../../core/services/webhook-replay.ts'
import { start as startGithub, webhookDelivery, type FakeGithub } from '../fixtures/fake-github.ts'

const REPO = 'acme/replayed'
const test = suite<{ t: TestApp; gh: FakeGithub; projectId: number; ticketId: number; prId: number; number: number }>('webhooks: forge re-read, replay, one refusal text')

test.before(async (w) => {
  w.gh = await startGithub({ tokens: { ghp_app: 'terarchitect-bot' }, repos: [REPO] })
  w.t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: 'ghp_app', GITHUB_API_URL: w.gh.url, GITHUB_WEBHOOK_SECRET: 'app-hook', REVIEW_POLL_INTERVAL_SEC: '3600' } })
  const project = await w.t.api('POST', '/api/projects', { name: 'replayed', repo_url: `https://github.com/${REPO}.git` })
  assert.is(project.status, 201, JSON.stringify(project.body))
  w.projectId = project.body.id
  const ticket = await w.t.api('POST', `/api/projects/${w.projectId}/tickets`, { title: 'x', column_id: 'in_review' })
  w.ticketId = ticket.body.id
  const pull = w.gh.state.createPull(REPO, { title: 'x', head: 'ticket-x', base: 'main' }, 'terarchitect-bot')
  w.number = pull.number
  const [pr] = await w.t.app.ctx.sql`insert into prs (project_id, ticket_id, repo, number, url, tracking) values (${w.projectId}, ${w.ticketId}, ${REPO}, ${pull.number}, ${pull.html_url}, true) returning id`
  w.prId = pr!.id as number
})
test.after(async (w) => { await w.t?.close(); await w.gh?.close() })

const deliver = (t: TestApp, d: { headers: Record<string, string>; body: Buffer }, id?: string) => {
  const headers = Object.fromEntries(Object.entries(d.headers).map(([name, value]) => [name.toLowerCase(), value]))
  return fetch(`${t.url}/api/webhooks/github`, { method: 'POST', headers: { ...headers, ...(id ? { 'x-github-delivery': id } : {}) }, body: new Uint8Array(d.body) })
}
/** As GitHub sends it: distinct events differ in their bodies (here the request's `updated_at`). */
const merged = (number: number, at = '2026-01-01T00:00:00Z') => ({ action: 'closed', number, pull_request: { number, state: 'closed', merged: true, updated_at: at }, repository: { full_name: REPO } })
const MERGED_AT = '2026-01-02T00:00:00Z'
const prState = async (w: { t: TestApp; prId: number }) => (await w.t.app.ctx.sql`select state, tracking from prs where id = ${w.prId}`)[0]

test('a signed "merged" delivery for a request the forge says is open moves nothing', async (w) => {
  const res = await deliver(w.t, webhookDelivery('app-hook', 'pull_request', merged(w.number)), 'forged-1')
  const body = await res.json()
  assert.is(res.status, 200, JSON.stringify(body))
  assert.is(body.state, 'open', 'the state the forge answers')
  assert.equal(await prState(w), { state: 'open', tracking: true })
  const ticket = await w.t.api('GET', `/api/projects/${w.projectId}/tickets/${w.ticketId}`)
  assert.is(ticket.body.column_id, 'in_review', 'the ticket is not moved to Done')
})

test('a delivery is taken once: the same body again, under its id, a fresh one or none, is refused and changes nothing', async (w) => {
  w.gh.state.mergePull(REPO, w.number)
  const delivery = webhookDelivery('app-hook', 'pull_request', merged(w.number, MERGED_AT))
  const unsigned = await deliver(w.t, { ...delivery, headers: { ...delivery.headers, 'X-Hub-Signature-256': 'sha256=00' } }, 'real-1')
  assert.is(unsigned.status, 401, 'an unverified delivery does not take the id')
  const first = await deliver(w.t, delivery, 'real-1')
  assert.is(first.status, 200)
  const firstBody = await first.json()
  assert.is(firstBody.state, 'merged')
  assert.equal(await prState(w), { state: 'merged', tracking: false })
  const again = await deliver(w.t, delivery, 'real-1')
  assert.is(again.status, 409)
  assert.match((await again.json()).error.message, /already received/)
  assert.is((await deliver(w.t, delivery, 'fresh-id')).status, 409, 'the id header is not signed: a fresh one makes no new delivery')
  const { 'X-GitHub-Delivery': _id, ...withoutId } = delivery.headers
  const bare = await deliver(w.t, { ...delivery, headers: withoutId })
  assert.is(bare.status, 400, 'GitHub always sends a delivery id')
  assert.match((await bare.json()).error.message, 'X-GitHub-Delivery')
  const [row] = await w.t.app.ctx.sql`select count(*)::int as n from webhook_deliveries where delivery_id = ${deliveryKey(delivery, [w.projectId])}`
  assert.is(row!.n, 1)
  assert.equal(await prState(w), { state: 'merged', tracking: false })
})

test('two hooks with their own secrets send one body: each project takes it once', async (w) => {
  const other = await w.t.api('POST', '/api/projects', { name: 'replayed-2', repo_url: `https://github.com/${REPO}.git` })
  assert.is(other.status, 201, JSON.stringify(other.body))
  assert.is((await w.t.api('PUT', `/api/projects/${other.body.id}/settings`, { values: { GITHUB_WEBHOOK_SECRET: 'second-hook' } })).status, 200)
  const payload = { action: 'closed', issue: { number: 99, title: 'x', updated_at: '2026-01-03T00:00:00Z' }, repository: { full_name: REPO }, sender: { login: 'u' } }
  assert.is((await deliver(w.t, webhookDelivery('app-hook', 'issues', payload))).status, 200)
  assert.is((await deliver(w.t, webhookDelivery('second-hook', 'issues', payload))).status, 200, 'the second hook\'s delivery verifies for another project')
  assert.is((await deliver(w.t, webhookDelivery('second-hook', 'issues', payload))).status, 409)
  await w.t.api('DELETE', `/api/projects/${other.body.id}`)
})

test('deliveries older than 24 hours are pruned', async (w) => {
  await w.t.app.ctx.sql`update webhook_deliveries set received_at = now() - interval '25 hours'`
  await w.t.app.ctx.sql`update webhook_deliveries set received_at = now() where delivery_id = ${deliveryKey(webhookDelivery('app-hook', 'pull_request', merged(w.number, MERGED_AT)), [w.projectId])}`
  const ping = webhookDelivery('app-hook', 'ping', { zen: 'x' })
  assert.is((await deliver(w.t, ping, 'ping-1')).status, 200)
  const keys = (await w.t.app.ctx.sql`select delivery_id from webhook_deliveries order by delivery_id`).map((r) => r.delivery_id).sort()
  assert.equal(keys, [deliveryKey(ping, []), deliveryKey(webhookDelivery('app-hook', 'pull_request', merged(w.number, MERGED_AT)), [w.projectId])].sort())
})

test('every refusal has one text: no secret, the wrong secret, a repository with its own secret', async (w) => {
  const guarded = await w.t.api('POST', '/api/projects', { name: 'guarded', repo_url: 'https://github.com/acme/guarded.git' })
  assert.is((await w.t.api('PUT', `/api/projects/${guarded.body.id}/settings`, { values: { GITHUB_WEBHOOK_SECRET: 'own-hook' } })).status, 200)
  const comment = (repo: string) => ({ action: 'created', issue: { number: 1, pull_request: {} }, comment: { id: 1, body: 'x', user: { login: 'u' } }, repository: { full_name: repo } })
  const answers = []
  for (const [secret, repo] of [['wrong', REPO], ['app-hook', 'acme/guarded'], ['own-hook', REPO], ['wrong', 'acme/nobody']]) {
    const res = await deliver(w.t, webhookDelivery(secret!, 'issue_comment', comment(repo!)))
    answers.push([res.status, (await res.json()).error.message])
  }
  assert.ok(answers.every(([status]) => status === 401), JSON.stringify(answers))
  assert.is(new Set(answers.map(([, message]) => message)).size, 1, JSON.stringify(answers))
  assert.is((await deliver(w.t, webhookDelivery('own-hook', 'issue_comment', comment('acme/guarded')))).status, 200, 'its own secret verifies it')
})

test.run()
