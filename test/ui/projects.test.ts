/** The projects page in a real browser: create through the form, field errors, edit, typed-name delete. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, screenshot, uiSuite, waitForOrExplain } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let problems: string[]

test.before(async () => {
  ;({ page, problems } = await openPage(suite.browser, suite.ui.url))
})

const form = () => page.locator('ta-projects-page ta-project-form')
const backlog = () => page.locator('ta-board-column[data-column="backlog"]')

test('an empty list invites creating the first project', async () => {
  await waitForOrExplain(page, page.getByRole('heading', { name: 'Start with a project' }), problems)
})

test('a bad repository URL is refused with a message next to the field', async () => {
  await page.getByRole('button', { name: 'New project' }).click()
  await form().getByLabel('Name').fill('Storefront')
  // No spaces: those are refused first, with another message (the one this test means is the kind of URL).
  await form().getByLabel('Repository URL').fill('notaurl')
  await form().getByRole('button', { name: 'Create project' }).click()
  const fieldError = form().locator('label.field:has(input[name="repo_url"]) .field-error')
  await fieldError.waitFor()
  // In words for people: the field's label, what is wrong, what is allowed.
  assert.match(await fieldError.innerText(), /Repository URL must be an https, http or ssh URL, or git@host:path/)
  assert.match(await form().locator('.alert.error').innerText(), /Repository URL must be an https, http or ssh URL/)
  assert.is(await form().locator('input[name="repo_url"]').getAttribute('aria-invalid'), 'true')
  const listed = (await suite.ui.api('GET', '/api/projects')).body as unknown[]
  assert.is(listed.length, 0)
})

test('an empty name is caught before the request', async () => {
  await form().getByLabel('Name').fill('')
  await form().getByRole('button', { name: 'Create project' }).click()
  await form().getByText('Give the project a name.').waitFor()
})

test('a project is created from the form and opens on its board', async () => {
  await form().getByLabel('Name').fill('Storefront')
  await form().getByLabel('Description').fill('The customer-facing shop: catalogue, cart and checkout')
  await form().getByLabel('Repository URL').fill('https://github.com/acme/storefront.git')
  await form().getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL(/\/projects\/\d+$/)
  // When the board does not show, the failure says what the page shows instead.
  await waitForOrExplain(page, backlog(), problems)
  const [project] = (await suite.ui.api('GET', '/api/projects')).body as { name: string; repo_url: string; execution_mode: string }[]
  assert.is(project!.name, 'Storefront')
  assert.is(project!.repo_url, 'https://github.com/acme/storefront.git')
  assert.is(project!.execution_mode, 'docker')
})

test('a board that could not load says why, and a failed wait for it quotes that', async () => {
  const tickets = /\/api\/projects\/\d+\/tickets$/
  await page.route(tickets, (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'database is starting' } }) }))
  try {
    await page.reload()
    await page.getByRole('alert').filter({ hasText: 'Could not load the board' }).waitFor()
    const failure = await waitForOrExplain(page, backlog(), problems, { timeout: 500 }).then(() => null, (error: Error) => error.message)
    assert.ok(failure, 'the board stays away while its tickets cannot be read')
    assert.match(failure!, /The page at .*\/projects\/\d+ shows: .*Could not load the board: Database is starting Trying again by itself… Retry/)
    assert.match(failure!, /Console errors: none/)
  } finally {
    await page.unroute(tickets)
  }
  // The board reads again by itself once the tickets can be read (board-retry.test.ts).
  await waitForOrExplain(page, backlog(), problems)
})

test('local mode asks for the project path', async () => {
  await page.goto(suite.ui.url)
  await page.getByRole('button', { name: 'New project' }).click()
  await form().getByLabel('Name').fill('Internal tools')
  await form().locator('label.mode', { hasText: 'Local' }).click()
  await form().getByLabel('Project path').fill('relative/path')
  await form().getByRole('button', { name: 'Create project' }).click()
  await form().getByText('Use an absolute path, like /home/me/shop.').waitFor()
  await form().getByLabel('Project path').fill('/srv/internal-tools')
  await form().getByRole('button', { name: 'Create project' }).click()
  await page.waitForURL(/\/projects\/\d+$/)
  const projects = (await suite.ui.api('GET', '/api/projects')).body as { name: string; execution_mode: string; project_path: string }[]
  const local = projects.find((project) => project.name === 'Internal tools')!
  assert.is(local.execution_mode, 'local')
  assert.is(local.project_path, '/srv/internal-tools')
})

test('a project is edited in place', async () => {
  await createProject(suite.ui, { name: 'Payments', description: 'Card payments, refunds and payouts', repo_url: 'git@github.com:acme/payments.git' })
  await page.goto(suite.ui.url)
  const card = page.locator('article.project', { hasText: 'Payments' })
  await card.hover()
  await card.getByRole('button', { name: 'Edit Payments' }).click()
  await form().getByLabel('Description').fill('Card payments, refunds, payouts and invoices')
  await form().getByRole('button', { name: 'Save changes' }).click()
  await card.getByText('payouts and invoices').waitFor()
})

test('deleting needs the project name typed', async () => {
  await createProject(suite.ui, { name: 'Legacy monolith', description: 'Being split into services' })
  await page.locator('article.project', { hasText: 'Legacy monolith' }).waitFor()
  await screenshot(page, 'projects')
  const card = page.locator('article.project', { hasText: 'Legacy monolith' })
  await card.hover()
  await card.getByRole('button', { name: 'Delete Legacy monolith' }).click()
  const confirm = page.locator('ta-confirm')
  const button = confirm.getByRole('button', { name: 'Delete project' })
  assert.ok(await button.isDisabled())
  await confirm.getByRole('textbox').fill('Legacy')
  assert.ok(await button.isDisabled())
  await confirm.getByRole('textbox').fill('Legacy monolith')
  await button.click()
  await card.waitFor({ state: 'detached' })
  const names = ((await suite.ui.api('GET', '/api/projects')).body as { name: string }[]).map((project) => project.name)
  assert.not.ok(names.includes('Legacy monolith'))
  assert.equal(problems, [])
})

test('a token an earlier UI kept in localStorage is cleared on load and never sent', async () => {
  await page.evaluate(() => localStorage.setItem('terarchitect.adminToken', 'stale-admin-token-0123'))
  const sent: string[] = []
  const watch = (request: import('playwright-core').Request) => {
    const authorization = request.headers().authorization
    if (authorization) sent.push(`${request.url()} ${authorization}`)
  }
  page.on('request', watch)
  try {
    await page.reload()
    await page.getByRole('button', { name: 'New project' }).first().waitFor()
    assert.is(await page.evaluate(() => localStorage.getItem('terarchitect.adminToken')), null, 'the key is gone')
    assert.equal(sent, [], 'no request carried a bearer token')
  } finally {
    page.off('request', watch)
  }
})

test.run()
