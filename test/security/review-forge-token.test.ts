// The review side reaches the forge with the token the forge actions use (services/forge-token.ts):
// with no GITHUB_TOKEN setting, the token a coordinator serving the project handed over polls the
// ticket's PR, serves the review page and checks comment authors; a project that coordinator does not
// serve gets no token.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'
import { createTicket, startTestApp, type TestApp } from '../helpers.ts'
import { reviewCycle } from '../../core/services/review/loop.ts'

const HANDED = 'ghp_handed_by_the_coordinator_0123456789'
let t: TestApp
let gh: FakeGithub

test.before(async () => {
  gh = await startGithub({ tokens: { [HANDED]: 'terarchitect-bot' } })
  // No forge token of the app's own (the test apps' default one unset): only the handed one.
  t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: '', GITHUB_API_URL: gh.url, REVIEW_POLL_INTERVAL_SEC: '3600' } })
})
test.after(async () => {
  await t?.close()
  await gh?.close()
})

/** A project on `repo` with a ticket whose PR the app tracks. */
async function trackedTicket(repo: string) {
  const project = await t.api('POST', '/api/projects', { name: repo.replace('/', '-'), repo_url: `https://github.com/${repo}.git` })
  assert.is(project.status, 201, JSON.stringify(project.body))
  const ticket = await createTicket(t, project.body.id, { column_id: 'in_review' })
  const pull = gh.state.createPull(repo, { title: 'Tracked', head: `ticket-${ticket.id}`, base: 'main' }, 'terarchitect-bot')
  await t.app.ctx.sql`update tickets set pr_number = ${pull.number} where id = ${ticket.id}`
  return { projectId: project.body.id as number, ticketId: ticket.id as number, pull }
}

test('no GITHUB_TOKEN setting: the review cycle, the review page and author checks use the coordinator-handed token', async () => {
  const served = await trackedTicket('acme/served')
  const unserved = await trackedTicket('acme/unserved')
  const handed = await t.api('POST', '/api/worker/forge-token', { coordinator_id: 'c1', token: HANDED, project_ids: [served.projectId] },
    { authorization: `Bearer ${t.workerKey}` })
  assert.is(handed.status, 204, JSON.stringify(handed.body))
  gh.state.repo('acme/served')!.permissions.alice = 'write'
  gh.state.addComment('acme/served', served.pull.number, 'alice', 'Please rename it.')

  const before = gh.requests.length
  const cycle = await reviewCycle(t.app.ctx)
  assert.is(cycle.polled, 1, 'the served project\'s PR was polled; the other has no token')
  assert.is(cycle.failed, 0)
  const calls = gh.requests.slice(before)
  assert.ok(calls.length > 0)
  assert.ok(calls.every((call) => call.token === HANDED), JSON.stringify(calls.map((call) => call.token)))
  const comments = await t.app.ctx.sql`select authorized from pr_review_comments c join prs p on p.id = c.pr_id where p.ticket_id = ${served.ticketId}`
  assert.equal(comments.map((row) => row.authorized), [true], 'the author\'s write access was checked with the handed token')

  const page = await t.api('GET', `/api/projects/${served.projectId}/tickets/${served.ticketId}/review`)
  assert.is(page.status, 200, JSON.stringify(page.body))
  assert.is(page.body.github.number, served.pull.number)
  const refused = await t.api('GET', `/api/projects/${unserved.projectId}/tickets/${unserved.ticketId}/review`)
  assert.is(refused.status, 422)
  assert.match(JSON.stringify(refused.body), 'GITHUB_TOKEN')
})

test('REPO_ALLOWLIST set after a project was made: the review side gets no token for it, the listed one still polls', async () => {
  const listed = await trackedTicket('acme/listed')
  const unlisted = await trackedTicket('acme/unlisted')
  const settings = await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: HANDED, REPO_ALLOWLIST: 'acme/listed, acme/served' } })
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  try {
    const before = gh.requests.length
    const cycle = await reviewCycle(t.app.ctx)
    const polledRepos = new Set(gh.requests.slice(before).map((call) => /\/repos\/(acme\/[a-z]+)\//.exec(call.path)?.[1]).filter(Boolean))
    assert.ok(polledRepos.has('acme/listed'), [...polledRepos].join(','))
    assert.not.ok(polledRepos.has('acme/unlisted'), 'the unlisted repository was never called with the token')
    assert.ok(cycle.failed >= 1, 'the unlisted project is reported, not silently skipped')
    const page = await t.api('GET', `/api/projects/${unlisted.projectId}/tickets/${unlisted.ticketId}/review`)
    assert.is(page.status, 403, JSON.stringify(page.body))
    assert.match(JSON.stringify(page.body), 'REPO_ALLOWLIST')
    assert.is((await t.api('GET', `/api/projects/${listed.projectId}/tickets/${listed.ticketId}/review`)).status, 200)
  } finally {
    await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: null, REPO_ALLOWLIST: null } })
  }
})

test.run()
