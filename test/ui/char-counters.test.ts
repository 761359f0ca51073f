/**
 * Inputs carry the API's limits, in a real browser: a note's title (300) and content (100,000) and
 * a board column's title (100) have their maxlength, and a counter shows from 80 % of the limit on.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let problems: string[]
let project: { id: number; name: string }

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Counted' })
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}/notes`))
})

test('a note: title and content carry their limits, with a counter near them', async () => {
  const panel = page.locator('ta-notes-panel')
  await panel.getByRole('button', { name: 'New note' }).first().click()
  const title = panel.getByPlaceholder('Note title')
  assert.is(await title.getAttribute('maxlength'), '300')
  assert.is(await panel.getByLabel('Content').getAttribute('maxlength'), '100000')
  await title.fill('a'.repeat(200))
  assert.is(await panel.locator('.counter').count(), 0, 'no counter far from the limit')
  await title.fill('a'.repeat(250))
  assert.is((await panel.locator('.counter').innerText()).trim(), '250 / 300')
  await title.fill('a'.repeat(400))
  assert.is((await title.inputValue()).length, 300, 'the input stops at the limit')
  assert.is((await panel.locator('.counter.full').innerText()).trim(), '300 / 300')
  await panel.getByRole('button', { name: 'Create note' }).click()
  await panel.locator('li', { hasText: 'a'.repeat(300) }).waitFor()
  assert.equal(problems, [])
})

test('a board column: its title carries the limit, with a counter near it', async () => {
  await page.goto(`${suite.ui.url}/projects/${project.id}`)
  await page.locator('ta-board').getByRole('button', { name: 'Columns' }).click()
  const editor = page.locator('ta-columns-editor')
  const first = editor.getByLabel('Column title').first()
  await first.waitFor()
  assert.is(await first.getAttribute('maxlength'), '100')
  assert.is(await editor.locator('.counter').count(), 0)
  await first.fill('B'.repeat(85))
  assert.is((await editor.locator('.counter').innerText()).trim(), '85 / 100')
  await first.fill('B'.repeat(120))
  assert.is((await first.inputValue()).length, 100)
  assert.ok(await editor.locator('.counter.full').isVisible())
  await editor.getByRole('button', { name: 'Save columns' }).click()
  await page.locator('ta-board').getByText('B'.repeat(100)).first().waitFor()
  const board = (await suite.ui.api('GET', `/api/projects/${project.id}/board`)).body as { columns: { title: string }[] }
  assert.is(board.columns[0]!.title, 'B'.repeat(100))
  assert.equal(problems, [])
})

test.run()
