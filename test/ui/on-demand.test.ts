/**
 * Pages other than the board load on demand, in a real browser: the board's first paint fetches
 * only the initial JavaScript (under the 60 KB gzipped budget, measured on what the browser
 * really loaded), no chunk of another page, tab or dialog; Settings, the Notes and Review tabs, the
 * project form and the global Jobs page fetch their chunk when first shown, same-origin under the
 * CSP. The global Jobs page names tickets `KEY-N` (the jobs API carries the project's key).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Page } from 'playwright-core'
import { ROOT } from '../helpers.ts'
import { createProject, openPage, uiSuite } from './helpers.ts'

const BUDGET_KB = 60
/** The chunks of pages and panels that the board must not fetch (esbuild names them after their module). */
const PAGE_CHUNKS = ['ticket-create', 'columns-editor', 'settings-page', 'jobs-view', 'review-panel', 'review-list', 'notes-panel', 'project-form', 'setup-checklist', 'graph-editor']

const suite = uiSuite(test)
let page: Page
let problems: string[]
let project: { id: number; name: string }
let ticket: { id: number }
const scripts: string[] = []

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Lazy Shop', key: 'LAZY' })
  ticket = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Add gift cards', column_id: 'in_progress' })).body
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}`))
  page.on('request', (request) => {
    if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname)
  })
})

const chunkOf = (name: string) => scripts.find((path) => new RegExp(`^/chunks/${name}-[A-Z0-9]+\\.js$`).test(path))

test('the board paints from the initial JavaScript alone, under the budget', async () => {
  // Counted from a fresh load, with the listener in place.
  await page.reload()
  await page.locator(`ta-board .card[data-id="${ticket.id}"]`, { hasText: 'Add gift cards' }).waitFor()
  await page.waitForLoadState('networkidle')
  assert.ok(scripts.includes('/app.js'), `scripts: ${scripts.join(', ')}`)
  for (const name of PAGE_CHUNKS) assert.not.ok(chunkOf(name), `the board fetched ${name}: ${scripts.join(', ')}`)
  let gz = 0
  for (const path of scripts) gz += gzipSync(readFileSync(join(ROOT, 'dist', 'public', path)), { level: 9 }).length
  assert.ok(gz / 1024 < BUDGET_KB, `initial JS ${(gz / 1024).toFixed(1)} KB gzipped`)
  assert.equal(problems, [])
})

test('Settings, the Jobs page and the project tabs fetch their chunk when first shown', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click()
  await page.locator('ta-settings-page').getByRole('heading', { name: 'Settings', level: 1 }).waitFor()
  assert.ok(chunkOf('settings-page'))

  await page.goto(`${suite.ui.url}/projects/${project.id}/notes`)
  await page.locator('ta-notes-panel').getByRole('heading', { name: 'Notes for the agents' }).waitFor()
  assert.ok(chunkOf('notes-panel'))
  await page.locator('ta-project-home a.tab', { hasText: 'Review' }).click()
  await page.locator('ta-review-list').getByRole('heading', { name: 'No pull requests yet' }).waitFor()
  assert.ok(chunkOf('review-list'))
  await page.locator('ta-project-home').getByRole('button', { name: 'Edit project' }).click()
  await page.locator('ta-project-form').getByLabel('Name').waitFor()
  assert.ok(chunkOf('project-form'))
  assert.equal(problems, [])
})

test('the global Jobs page names each ticket KEY-N', async () => {
  const jobs = (await suite.ui.api('GET', '/api/jobs')).body as { ticket_id: number; project_key: string; ticket_number: number }[]
  const job = jobs.find((candidate) => candidate.ticket_id === ticket.id)!
  assert.is(job.project_key, 'LAZY')
  assert.is(job.ticket_number, 1)

  await page.goto(`${suite.ui.url}/jobs`)
  const row = page.locator('ta-jobs-view tbody tr', { hasText: 'Add gift cards' })
  await row.getByText('LAZY-1', { exact: true }).waitFor()
  assert.not.match(await row.innerText(), /Ticket \d+/)
  assert.ok(chunkOf('jobs-view'))
  assert.equal(problems, [])
})

test.run()
