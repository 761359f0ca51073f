/**
 * The project's Settings tab in a real browser: each value with its source (app, environment,
 * default, this project), an override saved for this project shows as "This project" and reaches
 * the API, a cleared one inherits again, secrets are write-only; the project form detects the
 * forge from the repository URL (Gitea and Forgejo too), and offers the override when it cannot;
 * the tab's Test buttons call the project's own test route.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, uiSuite } from './helpers.ts'
import { detectForgeKind } from '../../frontend/project-settings-detect.ts'

const suite = uiSuite(test)
let page: Page
let problems: string[]
let project: { id: number; name: string }

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Tuned Shop' })
  await suite.ui.api('PUT', '/api/settings', { values: { WORKER_TIMEOUT_SEC: 900 } })
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}`))
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
  const stored = (await suite.ui.api('GET', `/api/projects/${project.id}/settings`)).body.settings.find((s: any) => s.key === 'WORKER_MODE')
  assert.equal([stored.value, stored.source], ['codex', 'project'])

  await row('WORKER_MODE').getByRole('button', { name: 'Clear' }).click()
  await row('WORKER_MODE').locator('[data-source]', { hasText: 'Default' }).waitFor()
  assert.equal(problems, [])
})

test('the tab\'s Test buttons test this project\'s settings (its own route); the commit identity has a label and help', async () => {
  const tests = page.locator('ta-project-settings [data-tests]')
  const sent = page.waitForRequest((request) => request.method() === 'POST' && request.url().endsWith(`/api/projects/${project.id}/settings/test`))
  await tests.locator('ta-check-button[data-check="worker-llm"]').getByRole('button', { name: 'Test worker LLM' }).click()
  assert.equal((await sent).postDataJSON(), { check: 'worker-llm' })
  await tests.locator('ta-check-button[data-check="worker-llm"] [data-kind]').waitFor()
  for (const check of ['forge', 'director-llm']) assert.is(await tests.locator(`ta-check-button[data-check="${check}"] button`).count(), 1, check)
  assert.match(await row('GIT_AUTHOR_NAME').locator('strong').textContent() ?? '', 'Commit author name')
  assert.match(await row('GIT_AUTHOR_EMAIL').locator('[data-hint]').textContent() ?? '', 'agent\'s commits')
  assert.equal(problems, [])
})

test('the project form detects the forge from the repository URL, with an override', async () => {
  assert.equal(
    [
      'https://github.com/a/b.git', 'git@gitlab.com:a/b.git', 'https://git.example/a/b/-/merge_requests/1', 'https://git.example/a/b.git',
      'https://codeberg.org/a/b.git', 'git@gitea.example.com:a/b.git', 'https://forgejo.example.org/a/b', 'https://gitlab.example.com/g/s/b.git', 'https://legitlabs.example/a/b.git',
    ].map(detectForgeKind),
    ['github', 'gitlab', 'gitlab', null, 'gitea', 'gitea', 'gitea', 'gitlab', null],
  )
  await page.getByRole('button', { name: 'Edit project' }).click()
  const form = page.locator('ta-project-form')
  await form.locator('#f-repo_url').fill('https://gitlab.com/acme/shop.git')
  const select = form.locator('select[name="forge_kind"]')
  await select.locator('option', { hasText: 'Detected: gitlab' }).waitFor({ state: 'attached' })
  await select.selectOption('github')
  assert.is(await select.inputValue(), 'github')
  await select.selectOption('')
  await form.locator('#f-repo_url').fill('https://git.example.org/acme/shop.git')
  await form.locator('[data-forge-hint]').waitFor()
  await form.locator('#f-repo_url').fill('https://codeberg.org/acme/shop.git')
  await select.locator('option', { hasText: 'Detected: gitea' }).waitFor({ state: 'attached' })
  assert.is(await form.locator('[data-forge-hint]').count(), 0, 'no hint when the URL says it')
  // A host the URL does not name is asked (through the app) whether it runs Gitea or Forgejo.
  const host = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"version":"1.22.3"}'))
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  try {
    await form.locator('#f-repo_url').fill(`http://127.0.0.1:${(host.address() as AddressInfo).port}/acme/shop.git`)
    await select.locator('option', { hasText: 'Detected: gitea (asked the host)' }).waitFor({ state: 'attached' })
  } finally {
    host.close()
  }
})

test.run()
