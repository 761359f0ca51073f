/**
 * The ticket's job history in a real browser shows what a job spent through the LLM relay: a real
 * relayed call (the fake LLM reports 100 tokens in, 20 out) for a claimed job, then the ticket's
 * Jobs tab.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { start as startLlm, type FakeLlm } from '../fixtures/fake-llm.ts'
import { PROTOCOL_CALLS } from '../security/llm-relay-calls.ts'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let llm: FakeLlm
let page: Page

test.before(async () => {
  llm = await startLlm({ models: ['fake-model'] })
})

test.after(async () => {
  await llm?.close()
})

test('the Jobs tab of a ticket shows the job\'s tokens and calls through the LLM relay', async () => {
  const settings = await suite.ui.api('PUT', '/api/settings', { values: { WORKER_LLM_URL: `http://localhost:${new URL(llm.url).port}`, WORKER_API_KEY: 'sk-ui-relay-0123456789' } })
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  const project = await createProject(suite.ui, { name: 'Relay usage' })
  const ticket = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Count my tokens' })).body
  assert.is((await suite.ui.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/run`)).status, 201)
  const job = (await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'ui-relay' })).body
  const relayed = PROTOCOL_CALLS.anthropic!
  const answer = await fetch(suite.ui.url + relayed.path, { method: 'POST', headers: { 'content-type': 'application/json', ...relayed.headers(job.agent_token) }, body: JSON.stringify(relayed.body) })
  const streamed = await answer.text()
  assert.is(answer.status, 200, streamed)

  ;({ page } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}/tickets/${ticket.id}`))
  await page.locator('ta-ticket-view button.tab', { hasText: 'Jobs' }).click()
  const usage = page.locator(`ta-job-history li[data-job="${job.job_id}"] [data-relay-usage]`)
  await usage.waitFor()
  assert.is((await usage.textContent())?.trim(), '100 in · 20 out · 1 call')
  await screenshot(page, 'job-history-relay-usage')
})

test.run()
