/**
 * The project's Settings tab in a real browser: each value with its source (app, environment,
 * default, this project), an override saved for this project shows as "This project" and reaches
 * the API, a cleared one inherits again, secrets are write-only; the project form detects the
 * forge from the repository URL.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Browser, Page } from 'playwright-core'
import { assertNoCspViolations, createProject, launchBrowser, openPage, startUiApp, type UiApp } from './helpers.ts'
import { detectForgeKind } from '../../frontend/project-settings-detect.ts'

let ui: UiApp
let browser: Browser
let page: Page
let problems: string[]
let project: { id: number; name: string }

test.after.each(assertNoCspViolations)

test.before(async () => {
  ui = await startUiApp()
  browser = await launchBrowser()
  project = await createProject(ui, { name: 'Tuned Shop' })
  await ui.api('PUT', '/api/settings', { values: { WORKER_TIMEOUT_SEC: 900 } })
  ;({ page, problems } = await openPage(browser, `${ui.url}/projects/${project.id}`))
})

test.after(async () => {
  await browser?.close()
  await ui?.close()
})

const row = (key: string) => page.locator(`ta-project-settings tr[data-key="${key}"]`)

test('the tab shows each value and its source; an override is saved for the project and a clear inherits again', async () => {
  await page.locator('ta-project-home a.tab', { hasText: 'Project settings' }).click()
  await page.waitForURL(`**/projects/${project.id}/settings`)

  await row('WORKER_MODEL').waitFor()
  assert.is(await row('WORKER_TIMEOUT_SEC').locator('[data-source]').textContent(), 'App settings')
  assert.is(await row('WORKER_MODE').locator('[data-source]').textContent(), 'Default')
  assert.is(await row('WORKER_MODEL').locator('[data-source]').textContent(), 'Environment')
  assert.is(await row('FORGE_TOKEN').locator('input').getAttribute('type'), 'password', 'secrets are write-only')

  await row('WORKER_MODE').locator('select').selectOption('codex')
  await row('WORKER_MODE').getByRole('button', { name: 'Save' }).click()
  await row('WORKER_MODE').locator('[data-source]', { hasText: 'This project' }).waitFor()
  assert.match(await row('WORKER_MODE').textContent() ?? '', 'codex')
  const stored = (await ui.api('GET', `/api/projects/${project.id}/settings`)).body.settings.find((s: any) => s.key === 'WORKER_MODE')
  assert.equal([stored.value, stored.source], ['codex', 'project'])

  await row('WORKER_MODE').getByRole('button', { name: 'Clear' }).click()
  await row('WORKER_MODE').locator('[data-source]', { hasText: 'Default' }).waitFor()
  assert.equal(problems, [])
})

test('the project form detects the forge from the repository URL, with an override', async () => {
  assert.equal(
    ['https://github.com/a/b.git', 'git@gitlab.com:a/b.git', 'https://git.example/a/b/-/merge_requests/1', 'https://git.example/a/b.git'].map(detectForgeKind),
    ['github', 'gitlab', 'gitlab', null],
  )
  await page.getByRole('button', { name: 'Edit project' }).click()
  const form = page.locator('ta-project-form')
  await form.locator('#f-repo_url').fill('https://gitlab.com/acme/shop.git')
  const select = form.locator('select[name="forge_kind"]')
  await select.locator('option', { hasText: 'Detected: gitlab' }).waitFor({ state: 'attached' })
  await select.selectOption('github')
  assert.is(await select.inputValue(), 'github')
})

test.run()
