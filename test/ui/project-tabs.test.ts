/**
 * The project's other tabs in a real browser: notes (create, link, edit, delete, live), the jobs
 * view (queued, failed with its reason, retry), the global jobs page, the review tab (no PRs yet),
 * and an unknown URL.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let problems: string[]
let project: { id: number; name: string }

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Shop API' })
  await suite.ui.api('PUT', `/api/projects/${project.id}/graph`, {
    nodes: [{ id: 'api', type: 'service', label: 'Orders API', x: 0, y: 0 }, { id: 'db', type: 'database', label: 'Orders DB', x: 300, y: 0 }],
    edges: [{ id: 'e1', source: 'api', target: 'db', protocol: 'SQL' }],
    version: (await suite.ui.api('GET', `/api/projects/${project.id}/graph`)).body.version,
  })
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}/notes`))
})

test('notes: create with linked nodes, edit, see another writer live, delete', async () => {
  const panel = page.locator('ta-notes-panel')
  await panel.getByRole('heading', { name: 'Notes for the agents' }).waitFor()
  await panel.getByRole('button', { name: 'New note' }).first().click()
  await panel.getByPlaceholder('Note title').fill('Money is integer cents')
  await panel.getByLabel('Content').fill('Never use floats for amounts. Store cents as bigint.')
  await panel.getByRole('checkbox', { name: 'Orders DB Database' }).check()
  await panel.getByRole('button', { name: 'Create note' }).click()
  await panel.locator('li', { hasText: 'Money is integer cents' }).waitFor()
  const [note] = (await suite.ui.api('GET', `/api/projects/${project.id}/notes`)).body as { id: number; associated_node_ids: string[] }[]
  assert.equal(note!.associated_node_ids, ['db'])

  await panel.getByLabel('Content').fill('Never use floats for amounts. Store cents as bigint. Round half to even.')
  await panel.getByRole('button', { name: 'Save note' }).click()
  await page.locator('ta-toasts').getByText('Note saved').last().waitFor()

  await suite.ui.api('POST', `/api/projects/${project.id}/notes`, { title: 'Deploys happen on Tuesdays', content: 'Freeze on Fridays.' })
  await panel.locator('li', { hasText: 'Deploys happen on Tuesdays' }).waitFor({ timeout: 3000 })

  await panel.locator('li', { hasText: 'Deploys happen on Tuesdays' }).click()
  await panel.getByRole('button', { name: 'Delete' }).click()
  await page.locator('ta-confirm').getByRole('button', { name: 'Delete note' }).click()
  await panel.locator('li', { hasText: 'Deploys happen on Tuesdays' }).waitFor({ state: 'detached' })
  assert.is(((await suite.ui.api('GET', `/api/projects/${project.id}/notes`)).body as unknown[]).length, 1)
})

test('jobs: a failed job shows its reason and can be retried; queued ones can be cancelled', async () => {
  const first = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Add idempotency keys', column_id: 'in_progress' })).body
  await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Paginate the orders list', column_id: 'in_progress' })
  const claim = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'build-host-1' })
  assert.is(claim.body.ticket_id, first.id)
  await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/fail`, { coordinator_id: 'build-host-1', claim_seq: claim.body.claim_seq, exit_code: 1, error: 'git push failed: remote rejected (protected branch)' })

  await page.locator('ta-project-home a.tab', { hasText: 'Jobs' }).click()
  const view = page.locator('ta-jobs-view')
  const failed = view.locator(`tr[data-job="${claim.body.job_id}"]`)
  await failed.getByText('git push failed: remote rejected (protected branch)').waitFor()
  await view.locator('tbody tr', { hasText: 'Queued' }).waitFor()
  await screenshot(page, 'jobs')
  await failed.getByRole('button', { name: 'Retry' }).click()
  await view.locator('tbody tr').nth(2).waitFor()
  const jobs = (await suite.ui.api('GET', `/api/projects/${project.id}/jobs`)).body as { status: string }[]
  assert.is(jobs.filter((job) => job.status === 'pending').length, 2)

  const queued = view.locator('tbody tr', { hasText: 'Paginate the orders list' })
  await queued.getByRole('button', { name: 'Cancel' }).click()
  // The status badge; the reason beside it ("Stopped by …") names the cancel too.
  await queued.locator('.badge', { hasText: 'Cancelled' }).waitFor()

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click()
  await page.locator('ta-jobs-view').getByRole('heading', { name: 'Jobs' }).waitFor()
  await page.locator('ta-jobs-view td a', { hasText: 'Shop API' }).first().waitFor()
})

test('review: the tab lists pull requests, and says when there are none yet', async () => {
  await page.goto(`${suite.ui.url}/projects/${project.id}/review`)
  await page.locator('ta-review-list').getByRole('heading', { name: 'No pull requests yet' }).waitFor()
  assert.is(await page.getByRole('heading', { name: 'Review automation not enabled' }).count(), 0)
})

test('an unknown URL shows a not-found page with a way back', async () => {
  await page.goto(`${suite.ui.url}/nowhere/at/all`)
  await page.getByRole('heading', { name: 'Page not found' }).waitFor()
  await page.getByRole('link', { name: 'Go to projects' }).click()
  await page.waitForURL(`${suite.ui.url}/`)
  assert.equal(problems, [])
})

test.run()
