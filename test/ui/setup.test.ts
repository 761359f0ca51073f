/**
 * Setup that checks itself, in a real browser: the first-run checklist on an empty app, settings
 * labelled in words with the variable name secondary and the chosen CLI's hints, and the Test
 * buttons telling a working LLM, a wrong key, a wrong URL and a token without push rights apart
 * (against the fake LLM and the fake GitHub).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { openPage, screenshot, uiSuite } from './helpers.ts'
import { start as startLlm, type FakeLlm } from '../fixtures/fake-llm.ts'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'

const KEY = 'sk-ui-setup-0123456789'
const TOKEN = 'ghp_ui_setup_read_only_0123'

const suite = uiSuite(test, { GITHUB_TOKEN: '' })
let page: Page
let problems: string[]
let llm: FakeLlm
let gh: FakeGithub
let closedUrl: string

test.before(async () => {
  llm = await startLlm({ apiKey: KEY, script: () => ({ text: 'OK' }) })
  gh = await startGithub({ tokens: { [TOKEN]: 'reader' }, repos: ['acme/shop'] })
  gh.state.repo('acme/shop')!.permissions.reader = 'read'
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  ;({ page, problems } = await openPage(suite.browser, suite.ui.url))
})

test.after(async () => {
  await llm?.close()
  await gh?.close()
})

const checklist = () => page.locator('ta-setup-checklist')
const row = (key: string) => page.locator(`ta-settings-page .setting[data-key="${key}"]`)
const group = (title: string) => page.locator(`ta-settings-page section[data-group="${title}"]`)

test('an empty app shows the first-run checklist, settings first', async () => {
  await checklist().getByRole('heading', { name: 'Get started' }).waitFor()
  const steps = await checklist().locator('li').evaluateAll((items) => items.map((item) => item.getAttribute('data-step')))
  assert.equal(steps, ['settings', 'project', 'graph', 'ticket', 'pull_request'])
  assert.match(await checklist().locator('li[data-step="settings"]').innerText(), /Missing: GITHUB_TOKEN/)
  await screenshot(page, 'setup-checklist')
  await checklist().getByRole('link', { name: 'Open settings' }).click()
  await page.waitForURL(/\/settings$/)
})

test('settings are labelled in words, the variable name beside, with the chosen CLI\'s hints', async () => {
  await row('WORKER_LLM_URL').waitFor()
  const label = row('WORKER_LLM_URL').locator('label')
  assert.is((await label.innerText()).trim(), 'Worker LLM URL')
  assert.is((await row('WORKER_LLM_URL').locator('code.var').innerText()).trim(), 'WORKER_LLM_URL')
  assert.is((await row('GITHUB_TOKEN').locator('label').innerText()).trim(), 'GitHub token')
  await row('WORKER_MODE').locator('select').selectOption('claude-code')
  await row('WORKER_LLM_URL').locator('.cli-hint', { hasText: 'Claude Code wants the Anthropic base URL without /v1' }).waitFor()
  await row('WORKER_API_KEY').locator('.cli-hint', { hasText: 'x-api-key' }).waitFor()
  await row('WORKER_MODE').locator('select').selectOption('gemini')
  await row('WORKER_LLM_URL').locator('.cli-hint', { hasText: 'without /v1beta' }).waitFor()
  await page.getByRole('button', { name: 'Discard' }).click()
})

/** Saves settings through the API, reloads the page and runs the group's Test. */
async function testGroup(values: Record<string, string | null>, title: string, button: string) {
  const saved = await suite.ui.api('PUT', '/api/settings', { values })
  assert.is(saved.status, 200, JSON.stringify(saved.body))
  await page.reload()
  await group(title).getByRole('button', { name: button }).click()
  const badge = group(title).locator('ta-check-button .badge')
  await badge.waitFor()
  return { kind: await badge.getAttribute('data-kind'), text: await badge.innerText(), reason: await group(title).locator('ta-check-button .reason').innerText() }
}

test('the worker Test tells a working LLM, a wrong key and a wrong URL apart', async () => {
  const works = await testGroup({ WORKER_MODE: 'claude-code', WORKER_LLM_URL: llm.url, WORKER_API_KEY: KEY }, 'Worker', 'Test worker LLM')
  assert.is(works.kind, 'ok')
  assert.match(works.text, /Works/)
  const wrongKey = await testGroup({ WORKER_API_KEY: 'sk-ui-wrong-000000000' }, 'Worker', 'Test worker LLM')
  assert.is(wrongKey.kind, 'wrong_key')
  assert.match(wrongKey.text, /Wrong key · 401/)
  assert.match(wrongKey.reason, /WORKER_API_KEY/)
  const wrongUrl = await testGroup({ WORKER_API_KEY: KEY, WORKER_LLM_URL: closedUrl }, 'Worker', 'Test worker LLM')
  assert.is(wrongUrl.kind, 'unreachable')
  assert.match(wrongUrl.reason, /Check the URL/)
  await screenshot(page, 'setup-settings-test')
})

test('the project form\'s Test tells a token without push rights', async () => {
  await suite.ui.api('PUT', '/api/settings', { values: { GITHUB_API_URL: gh.url, GITHUB_TOKEN: TOKEN } })
  const project = await suite.ui.api('POST', '/api/projects', { name: 'Shop', repo_url: `${gh.url}/acme/shop.git` })
  assert.is(project.status, 201, JSON.stringify(project.body))
  assert.ok(project.body.warnings?.some((warning: string) => /cannot push/.test(warning)), 'the save warned')
  await page.goto(suite.ui.url)
  await page.locator('article.project').first().hover()
  await page.getByRole('button', { name: 'Edit Shop' }).click()
  const form = page.locator('ta-project-form')
  await form.getByRole('button', { name: 'Test push access' }).click()
  const badge = form.locator('ta-check-button .badge')
  await badge.waitFor()
  assert.is(await badge.getAttribute('data-kind'), 'no_push')
  assert.match(await badge.innerText(), /No push rights/)
  assert.match(await form.locator('ta-check-button .reason').innerText(), /can read acme\/shop but cannot push/)
  await form.getByRole('button', { name: 'Cancel' }).click()
})

test('the checklist follows progress and goes away with the first pull request', async () => {
  await page.goto(suite.ui.url)
  await checklist().locator('li[data-step="project"][data-done]').waitFor()
  await checklist().locator('li[data-step="settings"][data-done]').waitFor()
  const { id } = (await suite.ui.api('GET', '/api/projects')).body[0]
  const ticket = await suite.ui.api('POST', `/api/projects/${id}/tickets`, { title: 'First ticket' })
  await checklist().locator('li[data-step="ticket"][data-done]').waitFor()
  await suite.ui.app.ctx.sql`update tickets set pr_url = 'https://github.example/acme/shop/pull/1' where id = ${ticket.body.id}`
  await page.reload()
  await page.locator('article.project').first().waitFor()
  await checklist().waitFor({ state: 'hidden' })
  assert.equal(problems, [])
})

test.run()
