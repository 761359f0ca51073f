/**
 * Settings in a real browser: every setting listed, secrets write-only, field errors, the settings
 * check as a banner that disables Run (board and ticket view) until it passes, JSON export/import.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'

// No worker model and no forge token anywhere: the settings check fails and Run must be disabled.
const suite = uiSuite(test, { WORKER_MODEL: '', GITHUB_TOKEN: '' })
let page: Page
let problems: string[]
let project: { id: number }
let ticketId: number

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Shop API' })
  ticketId = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Add a health endpoint' })).body.id
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}`))
})

const row = (key: string) => page.locator(`ta-settings-page .setting[data-key="${key}"]`)

test('with a required setting missing, Run is disabled and the banner says why', async () => {
  const banner = page.locator('ta-settings-banner')
  await banner.getByText('Run is disabled.').waitFor()
  const text = await banner.locator('.alert').innerText()
  assert.match(text, /WORKER_MODEL is not set/, text)
  const run = page.locator(`.card[data-id="${ticketId}"] button[data-action="run"]`)
  assert.is(await run.getAttribute('aria-disabled'), 'true')
  assert.match((await run.getAttribute('title'))!, /WORKER_MODEL/)
  await page.locator(`.card[data-id="${ticketId}"]`).click()
  const drawerRun = page.locator('ta-ticket-view').getByRole('button', { name: 'Run' })
  assert.ok(await drawerRun.isDisabled())
  assert.match((await drawerRun.getAttribute('title'))!, /WORKER_MODEL/)
  await page.keyboard.press('Escape')
  await banner.getByRole('link', { name: 'Open settings' }).click()
  await page.waitForURL(/\/settings$/)
})

test('every setting is listed; secrets only say set or unset', async () => {
  const { settings } = (await suite.ui.api('GET', '/api/settings')).body as { settings: { key: string; secret: boolean }[] }
  await row('WORKER_MODEL').waitFor()
  assert.is(await page.locator('ta-settings-page .setting').count(), settings.length)
  for (const setting of settings) await row(setting.key).waitFor()
  assert.is(await row('GITHUB_TOKEN').locator('input').getAttribute('type'), 'password')
  await row('GITHUB_TOKEN').getByText('secret · unset').waitFor()
  await page.locator('ta-settings-page .alert.error', { hasText: 'Run is disabled' }).waitFor()
})

test('a bad value is refused with the reason next to the setting', async () => {
  await row('GITHUB_API_URL').locator('input').fill('ftp://example.com')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await row('GITHUB_API_URL').locator('.field-error', { hasText: 'must be an http(s) URL' }).waitFor()
  await row('GITHUB_API_URL').locator('input').fill('')
})

test('saving the missing setting and a secret clears the banner; the secret never comes back', async () => {
  await row('WORKER_MODEL').locator('input').fill('qwen2.5-coder-32b')
  await row('GITHUB_TOKEN').locator('input').fill('ghp_supersecretvalue123')
  await row('DIRECTOR_MAX_TURNS').locator('input').fill('8')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await page.locator('ta-settings-page .alert.success', { hasText: 'Agents can run' }).waitFor()
  await row('GITHUB_TOKEN').getByText('secret · set').waitFor()
  assert.is(await row('GITHUB_TOKEN').locator('input').inputValue(), '')
  assert.not.match(await page.content(), /ghp_supersecretvalue123/)
  const { settings } = (await suite.ui.api('GET', '/api/settings')).body as { settings: { key: string; value: string | null; set: boolean }[] }
  assert.is(settings.find((s) => s.key === 'WORKER_MODEL')!.value, 'qwen2.5-coder-32b')
  assert.is(settings.find((s) => s.key === 'GITHUB_TOKEN')!.set, true)
  assert.is(settings.find((s) => s.key === 'GITHUB_TOKEN')!.value, null)
  await page.evaluate(() => document.querySelector('ta-app')!.shadowRoot!.querySelector('main')!.scrollTo(0, 0))
  await screenshot(page, 'settings')
})

test('non-secret settings export to JSON and import back for review', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()])
  const exported = JSON.parse(readFileSync((await download.path())!, 'utf8'))
  assert.is(exported.values.WORKER_MODEL, 'qwen2.5-coder-32b')
  assert.is(exported.values.DIRECTOR_MAX_TURNS, '8')
  assert.not.ok('GITHUB_TOKEN' in exported.values)

  const file = join(tmpdir(), `terarchitect-import-${process.pid}.json`)
  writeFileSync(file, JSON.stringify({ values: { DIRECTOR_MAX_TURNS: 12, WORKER_MODE: 'codex', GITHUB_TOKEN: 'ghp_never', NOT_A_SETTING: 1 } }))
  await page.locator('ta-settings-page input[type="file"]').setInputFiles(file)
  await page.getByText('2 unsaved changes').waitFor()
  await page.locator('ta-toasts').getByText(/secrets are never imported: GITHUB_TOKEN/).waitFor()
  await page.getByRole('button', { name: 'Save settings' }).click()
  await page.getByText('Settings saved').waitFor()
  const { settings } = (await suite.ui.api('GET', '/api/settings')).body as { settings: { key: string; value: string | null }[] }
  assert.is(settings.find((s) => s.key === 'DIRECTOR_MAX_TURNS')!.value, '12')
  assert.is(settings.find((s) => s.key === 'WORKER_MODE')!.value, 'codex')
})

test('with the settings complete, Run is enabled on the board', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click()
  await page.locator('article.project h2 a').first().click()
  const run = page.locator(`.card[data-id="${ticketId}"] button[data-action="run"]`)
  await run.waitFor({ state: 'attached' })
  await page.waitForFunction((id) => {
    const find = (root: Document | ShadowRoot): Element | null => {
      const hit = root.querySelector(`.card[data-id="${id}"] button[data-action="run"]`)
      if (hit) return hit
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const found = find(el.shadowRoot); if (found) return found }
      return null
    }
    return find(document)?.getAttribute('aria-disabled') === 'false'
  }, ticketId)
  assert.is(await page.locator('ta-settings-banner .alert.error').count(), 0)
  assert.equal(problems, [])
})

test.run()
