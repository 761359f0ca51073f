/**
 * Webhooks: a delivery verified with one secret never acts on a tracked PR of a project whose
 * deliveries are verified with another secret (docs/SECURITY.md "Webhooks").
 *  1. The app secret (FORGE_WEBHOOK_SECRET) opens a GitHub project that has its own
 *     GITHUB_WEBHOOK_SECRET: post the delivery to /api/webhooks/gitlab instead of /github (the
 *     project-secret lookup filters by the route's kind, the PR lookup does not).
 *  2. Project B's own secret (a Gitea project whose repository path is the same `owner/name` as
 *     project A's GitHub repository) accepts a delivery that then closes/merges project A's PR.
 *  3. The FORGE_ name and the GITHUB_ alias of the webhook secret are one setting: a project's own
 *     GITHUB_WEBHOOK_SECRET is not shadowed by the app's FORGE_WEBHOOK_SECRET.
 */
import { createHmac, randomUUID } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, type TestApp } from '../helpers.ts'

const test = suite<{ t: TestApp }>('webhooks: a secret opens only its own projects')

test.before(async (w) => {
  w.t = await startTestApp({ kind: 'pglite' })
})
test.after(async (w) => { await w.t?.close() })

async function trackedPr(t: TestApp, name: string, repoUrl: string, repo: string, number: number, settings: Record<string, string>) {
  const created = await t.api('POST', '/api/projects', { name })
  assert.is(created.status, 201, JSON.stringify(created.body))
  const id = created.body.id as number
  assert.is((await t.api('PUT', `/api/projects/${id}/settings`, { values: settings })).status, 200)
  await t.app.ctx.sql`update projects set repo_url = ${repoUrl} where id = ${id}`
  const ticket = await t.api('POST', `/api/projects/${id}/tickets`, { title: 'x' })
  assert.is(ticket.status, 201, JSON.stringify(ticket.body))
  const [pr] = await t.app.ctx.sql`insert into prs (project_id, ticket_id, repo, number, url, tracking) values (${id}, ${ticket.body.id}, ${repo}, ${number}, ${`https://github.com/${repo}/pull/${number}`}, true) returning id`
  return { projectId: id, prId: pr!.id as number }
}
const stateOf = async (t: TestApp, prId: number) => (await t.app.ctx.sql`select state, tracking from prs where id = ${prId}`)[0]

const githubDelivery = (secret: string, repo: string, number: number) => {
  const body = JSON.stringify({ action: 'closed', pull_request: { number, state: 'closed', merged: false }, repository: { full_name: repo } })
  return { body, headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } }
}

test('precedence: a project\'s own GITHUB_WEBHOOK_SECRET is not shadowed by the app\'s FORGE_WEBHOOK_SECRET', async ({ t }) => {
  assert.is((await t.api('PUT', '/api/settings', { values: { FORGE_WEBHOOK_SECRET: 'app-secret' } })).status, 200)
  const a = await trackedPr(t, 'alias-guarded', 'https://github.com/octo/alias.git', 'octo/alias', 5, { GITHUB_WEBHOOK_SECRET: 'project-alias-secret' })
  // About another request of the repository: verification alone decides the answer (no forge is read).
  const own = await fetch(`${t.url}/api/webhooks/github`, { method: 'POST', ...githubDelivery('project-alias-secret', 'octo/alias', 6) })
  const app = await fetch(`${t.url}/api/webhooks/github`, { method: 'POST', ...githubDelivery('app-secret', 'octo/alias', 6) })
  assert.equal([own.status, app.status], [200, 401], `the project's own secret must verify and the app's must not (PR now ${JSON.stringify(await stateOf(t, a.prId))})`)
})

test('the app secret, sent to /api/webhooks/gitlab, does not merge a PR of a GitHub project that has its own webhook secret', async ({ t }) => {
  assert.is((await t.api('PUT', '/api/settings', { values: { FORGE_WEBHOOK_SECRET: 'app-secret' } })).status, 200)
  const a = await trackedPr(t, 'guarded', 'https://github.com/octo/guarded.git', 'octo/guarded', 7, { FORGE_WEBHOOK_SECRET: 'project-a-secret' })
  // Control: on its own route the app secret is refused for this repository (the documented rule).
  const gh = await fetch(`${t.url}/api/webhooks/github`, { method: 'POST', ...githubDelivery('app-secret', 'octo/guarded', 7) })
  assert.is(gh.status, 401, 'control: /github refuses the app secret for the guarded repository')
  // Attack: the same repository path through the GitLab route, authenticated with the app secret as a plain token.
  const res = await fetch(`${t.url}/api/webhooks/gitlab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': 'app-secret' },
    body: JSON.stringify({ object_kind: 'merge_request', project: { path_with_namespace: 'octo/guarded' }, object_attributes: { iid: 7, state: 'merged', action: 'merge' } }),
  })
  const after = await stateOf(t, a.prId)
  // No GitLab project has that path: the app's secret verifies it, and it acts on no project.
  const answer = await res.json()
  assert.is(res.status, 200, JSON.stringify(answer))
  assert.match(answer.ignored, /no project on gitlab has repository octo\/guarded/)
  assert.equal(after, { state: 'open', tracking: true })
})

test('project B\'s own secret (Gitea, same owner/name) does not merge project A\'s GitHub PR', async ({ t }) => {
  const a = await trackedPr(t, 'victim', 'https://github.com/acme/web.git', 'acme/web', 3, {})
  await trackedPr(t, 'other-forge', 'https://gitea.invalid/acme/web.git', 'acme/web-unused', 99, {
    FORGE_KIND: 'gitea', FORGE_API_URL: 'https://gitea.invalid/api/v1', FORGE_TOKEN: 'gitea-token', FORGE_WEBHOOK_SECRET: 'b-secret',
  })
  const body = JSON.stringify({ action: 'closed', number: 3, pull_request: { number: 3, state: 'closed', merged: true }, repository: { full_name: 'acme/web' } })
  const res = await fetch(`${t.url}/api/webhooks/gitea`, {
    method: 'POST', body,
    headers: { 'content-type': 'application/json', 'x-gitea-event': 'pull_request', 'x-gitea-delivery': randomUUID(), 'x-gitea-signature': createHmac('sha256', 'b-secret').update(body).digest('hex') },
  })
  const after = await stateOf(t, a.prId)
  const answer = await res.json()
  assert.equal(after, { state: 'open', tracking: true }, `B's secret must not move A's PR (answer ${res.status}: ${JSON.stringify(answer)})`)
  assert.is(res.status, 200, 'B\'s secret verifies a delivery about B\'s repository')
  assert.match(answer.ignored, /acme\/web#3 is not a tracked pull request/)
})

test.run()
