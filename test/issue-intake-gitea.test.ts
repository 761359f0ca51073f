/**
 * Issue intake on Gitea/Forgejo (docs/issue-intake.md), through the app on PGlite with the fake
 * Gitea: a writer's label (`issue_label` delivery) and the poller racing make one ticket; a bot's
 * label and a label set at opening make none; a writer's edit (`issues` edited) updates the ticket;
 * closing the issue cancels the ticket's queued job. A merged pull closing the issue by its keyword
 * is the conformance suite's (forge-gitea.test.ts); the app adding the keyword is forge-neutral
 * (test/issue-intake.test.ts, GitHub and GitLab). And the start label on a local project (whose
 * agents only admins start) imports without starting. 10-30 s (PGlite start, load).
 *   node --import ./scripts/ts-register.mjs test/issue-intake-gitea.test.ts
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { intakeCycle } from '../core/services/intake/loop.ts'
import { INTAKE_MARKER } from '../core/services/intake/sync.ts'
import { start as startGitea, type FakeGitea } from './fixtures/fake-gitea.ts'
import { start as startGit, type GitHttp } from './fixtures/git-http.ts'
import { startTestApp, type TestApp } from './helpers.ts'

const REPO = 'acme/widgets'
const SECRET = 'gitea-intake-secret'
const w = {} as { git: GitHttp; fake: FakeGitea; t: TestApp; projectId: number }
const minuteAgo = () => Date.now() - 60_000

test.before(async () => {
  w.git = await startGit({ token: 'gitea-app' })
  w.fake = await startGitea({ git: w.git, tokens: { 'gitea-app': 'terarchitect' } })
  const repoUrl = await w.fake.createRepo(REPO, { terarchitect: 'admin', alice: 'write', rita: 'read', 'renovate[bot]': 'write' })
  w.t = await startTestApp({ kind: 'pglite', env: { FORGE_KIND: 'gitea', FORGE_API_URL: `${w.fake.url}/api/v1`, FORGE_TOKEN: 'gitea-app', FORGE_WEBHOOK_SECRET: SECRET, REVIEW_POLL_INTERVAL_SEC: '3600' } })
  const project = await w.t.api('POST', '/api/projects', { name: 'gitea-intake', repo_url: repoUrl })
  assert.is(project.status, 201, JSON.stringify(project.body))
  w.projectId = project.body.id
  const put = await w.t.api('PUT', `/api/projects/${w.projectId}/settings`, { values: { INTAKE_LABEL: 'agent', INTAKE_START_LABEL: 'agent/start' } })
  assert.is(put.status, 200, JSON.stringify(put.body))
})

test.after(async () => {
  await w.t?.close()
  await w.fake?.close()
  await w.git?.close()
})

const deliver = (n: number, action: string, login: string) => {
  const delivery = w.fake.issues.issueDelivery(SECRET, REPO, n, action, login)
  return fetch(`${w.t.url}/api/webhooks/gitea`, { method: 'POST', headers: delivery.headers, body: new Uint8Array(delivery.body) })
}
const links = (n: number) => w.t.app.ctx.sql`select * from ticket_issues where project_id = ${w.projectId} and issue_number = ${n}`
const ticket = async (id: number) => (await w.t.api('GET', `/api/projects/${w.projectId}/tickets/${id}`)).body

test('a writer\'s label imports once (webhook and poller racing); a bot\'s and an opening label nothing; a writer\'s edit applies; closing cancels', async () => {
  const issue = w.fake.issues.openIssue(REPO, 'rita', { title: 'Gitea issue', body: 'Make it faster', createdAt: minuteAgo() })
  w.fake.issues.label(REPO, issue.number, 'alice', 'agent')
  const answers = await Promise.all([deliver(issue.number, 'label_updated', 'alice'), intakeCycle(w.t.app.ctx), deliver(issue.number, 'label_updated', 'alice')])
  const statuses = answers.filter((answer): answer is Response => answer instanceof Response).map((res) => res.status).sort()
  assert.equal(statuses, [200, 409], 'the same body delivered twice (under two delivery ids) is taken once')
  const [link] = await links(issue.number)
  assert.ok(link, 'imported')
  assert.is((await links(issue.number)).length, 1)
  assert.is((await w.t.app.ctx.sql`select 1 from tickets where project_id = ${w.projectId} and title = 'Gitea issue'`).length, 1)
  assert.is(w.fake.state.resolve(REPO).comments.filter((c) => c.issue === issue.number && c.body.startsWith(INTAKE_MARKER)).length, 1)

  const bot = w.fake.issues.openIssue(REPO, 'rita', { title: 'Bot labelled', createdAt: minuteAgo() })
  w.fake.issues.label(REPO, bot.number, 'renovate[bot]', 'agent')
  const opening = w.fake.issues.openIssue(REPO, 'alice', { title: 'Labelled at opening', labels: ['agent'] })
  await deliver(bot.number, 'label_updated', 'renovate[bot]')
  await intakeCycle(w.t.app.ctx)
  assert.equal([(await links(bot.number)).length, (await links(opening.number)).length], [0, 0])

  w.fake.issues.edit(REPO, issue.number, { body: 'Make it much faster' })
  assert.is((await deliver(issue.number, 'edited', 'alice')).status, 200)
  assert.is((await ticket(link!.ticket_id)).description, 'Make it much faster', 'a writer\'s edit applies')

  // The start label on another issue queues its job; closing the issue cancels it.
  const start = w.fake.issues.openIssue(REPO, 'rita', { title: 'Start me', createdAt: minuteAgo() })
  w.fake.issues.label(REPO, start.number, 'alice', 'agent/start')
  await deliver(start.number, 'label_updated', 'alice')
  const [startLink] = await links(start.number)
  assert.is((await ticket(startLink!.ticket_id)).job?.status, 'pending')
  w.fake.issues.closeIssue(REPO, start.number, 'rita')
  assert.is((await deliver(start.number, 'closed', 'rita')).status, 200)
  const job = (await ticket(startLink!.ticket_id)).job
  assert.equal([job?.status, job?.reason], ['cancelled', `Stopped by the close of issue ${REPO}#${start.number}`])
})

test('the start label does not start a local project\'s agents (admins only): the ticket stays in the Backlog, the refusal audited', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'intake-local-'))
  const local = await w.t.api('POST', '/api/projects', { name: 'gitea-intake-local', repo_url: `${w.fake.url}/${REPO}.git`, execution_mode: 'local', project_path: dir })
  assert.is(local.status, 201, JSON.stringify(local.body))
  await w.t.api('PUT', `/api/projects/${local.body.id}/settings`, { values: { INTAKE_START_LABEL: 'agent/local' } })
  const issue = w.fake.issues.openIssue(REPO, 'rita', { title: 'Run on the host', createdAt: minuteAgo() })
  w.fake.issues.label(REPO, issue.number, 'alice', 'agent/local')
  assert.is((await deliver(issue.number, 'label_updated', 'alice')).status, 200)
  const [link] = await w.t.app.ctx.sql`select ticket_id from ticket_issues where project_id = ${local.body.id} and issue_number = ${issue.number}`
  const shown = (await w.t.api('GET', `/api/projects/${local.body.id}/tickets/${link!.ticket_id}`)).body
  assert.equal([shown.column_id, shown.job], ['backlog', null])
  const [refusal] = await w.t.app.ctx.sql`select details from audit where action = 'intake.start_refused' and project_id = ${local.body.id}`
  assert.match(String(refusal?.details?.reason), 'only an admin may start')
  await rm(dir, { recursive: true, force: true })
})

test.run()
