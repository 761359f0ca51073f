/**
 * What an operator must not miss, in a real browser: a secret stored with another secret key shows
 * "unreadable: set it again" on the Settings page; a job its coordinator ran on the host (the
 * container could not start) shows "ran on the host" with the reason on the Jobs page and in the
 * ticket's job history.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createSecretBox } from '../../core/secrets.ts'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'

const suite = uiSuite(test)

test('Settings: a secret stored with another key reads "unreadable: set it again"', async () => {
  const sealed = createSecretBox('a-key-this-app-never-had-0123456789').encrypt('sk-lost')
  await suite.ui.app.ctx.sql`insert into app_settings (key, value, secret) values ('WORKER_API_KEY', ${sealed}, true)`
  const { page } = await openPage(suite.browser, `${suite.ui.url}/settings`)
  const row = page.locator('ta-settings-page .setting[data-key="WORKER_API_KEY"]')
  const badge = row.locator('.badge', { hasText: 'unreadable: set it again' })
  await badge.waitFor()
  assert.match(String(await badge.getAttribute('title')), 'set it again')
  assert.match(String(await row.locator('input').getAttribute('placeholder')), 'Unreadable')
  await screenshot(page, 'settings-unreadable-secret')
  await suite.ui.app.ctx.sql`delete from app_settings where key = 'WORKER_API_KEY'`
})

test('a job that ran on the host shows the badge with the reason on the Jobs page and in the ticket\'s job history', async () => {
  const project = await createProject(suite.ui, { name: 'Fallback' })
  const ticket = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Runs on the host' })).body
  assert.is((await suite.ui.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/run`)).status, 201)
  const job = (await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'ui-fallback', executor: 'docker-dind' })).body
  const reason = 'docker-dind: image terarchitect-agent not found'
  const recorded = await suite.ui.api('POST', `/api/worker/jobs/${job.job_id}/executor`, { coordinator_id: 'ui-fallback', claim_seq: job.claim_seq, executor: 'local', fallback_reason: reason })
  assert.is(recorded.status, 200, JSON.stringify(recorded.body))

  const { page } = await openPage(suite.browser, `${suite.ui.url}/jobs`)
  const badge = page.locator(`ta-jobs-view tr[data-job="${job.job_id}"] [data-fallback]`)
  await badge.waitFor()
  assert.is((await badge.textContent())?.trim(), 'ran on the host')
  assert.match(String(await badge.getAttribute('title')), reason)
  await screenshot(page, 'jobs-ran-on-the-host')

  await page.goto(`${suite.ui.url}/projects/${project.id}/tickets/${ticket.id}`)
  await page.locator('ta-ticket-view button.tab', { hasText: 'Jobs' }).click()
  const item = page.locator(`ta-job-history li[data-job="${job.job_id}"]`)
  await item.locator('[data-fallback]').waitFor()
  assert.is((await item.locator('[data-fallback-reason]').textContent())?.trim(), reason)
  await screenshot(page, 'job-history-ran-on-the-host')
})

test.run()
