/**
 * Pull request review in a real browser, against the fake GitHub: the Review tab lists the
 * ticket's PR with its state and comment counts, the ticket view shows the PR (files, comments),
 * a comment posted there reaches GitHub and, once its review job succeeds, shows as addressed;
 * GitHub's refusal to merge is shown; merging moves the PR to Merged.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'
import { waitFor } from '../helpers.ts'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'

const REPO = 'acme/widgets'
const suite = uiSuite(test)
let gh: FakeGithub
let page: Page
let problems: string[]
let project: { id: number; name: string }
let ticket: { id: number; title: string }
let pullNumber: number

test.before(async () => {
  gh = await startGithub()
  const settings = await suite.ui.api('PUT', '/api/settings', { values: { GITHUB_API_URL: gh.url, GITHUB_TOKEN: 'ghp_ui_review_test' } })
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  project = await createProject(suite.ui, { name: 'Widgets', key: 'WID', repo_url: `https://github.example/${REPO}.git` })

  // A ticket whose (simulated) agent opened a PR and finished.
  ticket = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Add widget search', column_id: 'in_progress' })).body
  const claim = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  const pull = gh.state.createPull(REPO, { title: 'Add widget search', head: `ticket-${ticket.id}`, base: 'main', body: 'Adds /widgets?q=' }, 'terarchitect-bot')
  pullNumber = pull.number
  const repo = gh.state.repo(REPO)!
  repo.permissions.alice = 'write'
  repo.permissions['terarchitect-bot'] = 'write'
  repo.pullFiles[pull.number] = [
    { filename: 'src/search.ts', status: 'added', additions: 42, deletions: 0, changes: 42 },
    { filename: 'src/routes.ts', status: 'modified', additions: 3, deletions: 1, changes: 4 },
  ]
  repo.pullCommits[pull.number] = [{ sha: 'a'.repeat(40), commit: { message: 'Add widget search\n\nWith tests.', author: { name: 'agent', date: new Date().toISOString() } } }]
  gh.state.addComment(REPO, pull.number, 'alice', 'Please debounce the search input.')
  gh.state.addReviewComment(REPO, pull.number, 'alice', 'Use a prepared statement here.', 'src/search.ts', 12)
  const auth = { authorization: `Bearer ${claim.body.agent_token}` }
  const done = await suite.ui.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/complete`, { pr_url: pull.html_url, pr_number: pull.number, summary: 'Search added' }, auth)
  assert.is(done.status, 200, JSON.stringify(done.body))
  assert.is((await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })).body.status, 'succeeded')
  await waitFor(async () => (await suite.ui.api('GET', `/api/projects/${project.id}/review`)).body.prs.length > 0, 10000, 'the PR to be tracked')
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}/review`))
})

/**
 * Claims the ticket job of `ticketId`. Review jobs for comments the poller already picked up may
 * be queued ahead of it (when the poller runs is up to timing): they are claimed and succeed.
 */
async function claimTicketJob(ticketId: number) {
  for (let i = 0; i < 6; i++) {
    const claim = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1', wait_ms: 5000 })
    assert.is(claim.status, 200, JSON.stringify(claim.body))
    if (claim.body.kind === 'ticket' && claim.body.ticket_id === ticketId) return claim
    await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
  }
  throw new Error(`no ticket job for ticket ${ticketId}`)
}

test.after(async () => {
  await gh?.close()
})

test('the Review tab lists the ticket PR with its state, and updates live', async () => {
  const list = page.locator('ta-review-list')
  const row = list.locator(`li[data-pr="${pullNumber}"]`)
  await row.waitFor()
  await row.getByRole('link', { name: 'Add widget search' }).waitFor()
  // The project's key and the ticket's number in the project (its first ticket), never `#<id>`.
  await row.getByText('WID-1', { exact: true }).waitFor()
  assert.is(await row.locator('.tid').innerText(), 'WID-1')
  await row.getByRole('link', { name: `Pull request #${pullNumber}` }).waitFor()
  assert.is(await row.getByRole('link', { name: `Pull request #${pullNumber}` }).getAttribute('href'), gh.state.repo(REPO)!.pulls.find((pull) => pull.number === pullNumber)!.html_url)
  await row.getByText('Open', { exact: true }).waitFor()
  // Comments already on GitHub are picked up by the poller whenever it runs: show what the API says.
  await waitFor(async () => {
    const [pr] = (await suite.ui.api('GET', `/api/projects/${project.id}/review`)).body.prs
    const c = pr.comments
    const shown = await row.locator('.counts').textContent()
    return !!shown?.includes(`${c.queued + c.in_progress + c.undecided} pending`) && shown.includes(`${c.addressed} addressed`)
  }, 5000, 'the counts of the API')
  assert.is(await row.getByText('Approved').count(), 0)
  await screenshot(page, 'review-list')

  // Another ticket gets a PR while the list is open: it appears without a reload.
  const second = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Paginate widgets', column_id: 'in_progress' })).body
  const claim = await claimTicketJob(second.id)
  const pull = gh.state.createPull(REPO, { title: 'Paginate widgets', head: `ticket-${second.id}`, base: 'main' }, 'terarchitect-bot')
  await suite.ui.api('POST', `/api/projects/${project.id}/tickets/${second.id}/complete`, { pr_url: pull.html_url, pr_number: pull.number }, { authorization: `Bearer ${claim.body.agent_token}` })
  await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
  await list.locator(`li[data-pr="${pull.number}"]`).getByRole('link', { name: 'Paginate widgets' }).waitFor({ timeout: 5000 })
  // Closed on GitHub without merging (as the poller or a webhook would report it): tracking stops.
  gh.state.closePull(REPO, pull.number)
  await suite.ui.api('GET', `/api/projects/${project.id}/tickets/${second.id}/review`)
  await list.locator(`li[data-pr="${pull.number}"]`).getByText('Closed · tracking stopped').waitFor({ timeout: 5000 })
})

test('an empty project says there are no pull requests yet', async () => {
  const empty = await createProject(suite.ui, { name: 'Empty' })
  await page.goto(`${suite.ui.url}/projects/${empty.id}/review`)
  await page.locator('ta-review-list').getByRole('heading', { name: 'No pull requests yet' }).waitFor()
})

test('the ticket view shows the PR, its files and comments; a comment reaches GitHub and gets addressed', async () => {
  await page.goto(`${suite.ui.url}/projects/${project.id}/review`)
  await page.locator('ta-review-list').getByRole('link', { name: 'Add widget search' }).click()
  const view = page.locator('ta-ticket-view')
  await view.getByRole('tab', { name: 'Review' }).click()
  const panel = view.locator('ta-review-panel')
  await panel.getByRole('link', { name: `PR #${pullNumber}` }).waitFor()
  await panel.getByText('ticket-' + ticket.id + ' → main').waitFor()
  await panel.getByText('src/search.ts', { exact: true }).waitFor()
  await panel.getByText('+42').waitFor()
  const comments = panel.getByRole('list', { name: 'Comments' })
  await comments.getByText('Please debounce the search input.').waitFor()
  await comments.locator('li', { hasText: 'Use a prepared statement here.' }).getByText('src/search.ts:12').waitFor()
  assert.is(await comments.locator('li').count(), 2)

  await panel.getByRole('textbox', { name: 'Comment' }).fill('Also add a test for an empty query.')
  assert.ok(await panel.getByRole('checkbox', { name: 'Ask the agent to address it' }).isChecked())
  await panel.getByRole('button', { name: 'Post comment' }).click()
  const mine = comments.locator('li', { hasText: 'Also add a test for an empty query.' })
  await mine.waitFor()
  const posted = gh.state.repo(REPO)!.comments.find((c) => c.body === 'Also add a test for an empty query.')
  assert.ok(posted, 'the comment reached GitHub')
  assert.is(gh.requests.find((r) => r.method === 'POST' && r.path.endsWith(`/issues/${pullNumber}/comments`))?.token, 'ghp_ui_review_test')
  // Queued behind alice's comments, or already given a review job when the poller has not stored them.
  await mine.getByText(/^(Not addressed yet|Being addressed)$/).waitFor()

  // Review jobs run one comment at a time (alice's first if the poller already stored them); when
  // the one for this comment succeeds, it shows as addressed, live.
  for (let i = 0; ; i++) {
    assert.ok(i < 5, 'a review job for the posted comment')
    const claim = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1', wait_ms: 5000 })
    assert.is(claim.status, 200, JSON.stringify(claim.body))
    assert.is(claim.body.kind, 'review')
    await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
    if (claim.body.github_comment_id === posted!.id) break
  }
  await mine.getByText('Addressed', { exact: true }).waitFor({ timeout: 5000 })
  await comments.getByText('Being addressed').waitFor({ state: 'detached' })
  await page.setViewportSize({ width: 1360, height: 1180 })
  await view.locator('[data-scroller]').evaluate((el) => el.scrollTo(0, 0))
  await screenshot(page, 'review')
  await page.setViewportSize({ width: 1360, height: 860 })
})

test('a comment without the agent, a merge GitHub refuses, then a merge', async () => {
  const panel = page.locator('ta-ticket-view ta-review-panel')
  await panel.getByRole('textbox', { name: 'Comment' }).fill('Thanks, looks good.')
  await panel.getByRole('checkbox', { name: 'Ask the agent to address it' }).uncheck()
  await panel.getByRole('button', { name: 'Post comment' }).click()
  await panel.getByRole('list', { name: 'Comments' }).getByText('Thanks, looks good.').waitFor()
  const last = gh.state.repo(REPO)!.comments.at(-1)!
  assert.ok(last.body.startsWith('Thanks, looks good.') && last.body !== 'Thanks, looks good.', 'sent with the app\'s marker')

  // GitHub says the PR cannot be merged: the person sees why, next to the button.
  const merged = gh.state.mergePull
  gh.state.mergePull = () => false
  await panel.getByLabel('Merge method').selectOption('squash')
  await panel.getByRole('button', { name: 'Merge', exact: true }).click()
  await page.locator('ta-confirm').getByRole('button', { name: 'Merge' }).click()
  const alert = panel.getByRole('alert')
  await alert.waitFor()
  const text = await alert.textContent()
  assert.match(text ?? '', /Could not merge \(409\).*not mergeable/)
  gh.state.mergePull = merged

  await panel.getByRole('button', { name: 'Merge', exact: true }).click()
  await page.locator('ta-confirm').getByRole('button', { name: 'Merge' }).click()
  await panel.getByText('This pull request is merged.').waitFor()
  assert.ok(gh.state.pullOf(REPO, pullNumber)!.merged)
  assert.is(gh.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/merge')).length, 2)

  await page.goto(`${suite.ui.url}/projects/${project.id}/review`)
  await page.locator(`ta-review-list li[data-pr="${pullNumber}"]`).getByText('Merged').waitFor()
  assert.equal(problems, [])
})

test.run()
