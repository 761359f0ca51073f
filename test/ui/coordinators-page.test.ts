// The Coordinators page in a real browser: a coordinator that reports in is listed, and one that
// reports after the page opened appears without a reload (the page re-reads the list every 5 s).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { assertNoCspViolations, launchBrowser, openPage, startUiApp } from './helpers.ts'

const report = (id: string, host: string) => ({
  coordinator_id: id, host, version: 'test', executor: 'local', capacity: 3, running_job_ids: [], report_interval_sec: 60, started_at: new Date().toISOString(),
})

test('reported coordinators are listed, and a new one appears while the page is open', async () => {
  const ui = await startUiApp()
  const browser = await launchBrowser()
  try {
    assert.is((await ui.api('POST', '/api/worker/coordinators/report', report('box-a', 'build-a'))).status, 204)
    const { page, problems } = await openPage(browser, `${ui.url}/coordinators`)
    const view = page.locator('ta-coordinators-page')
    await view.locator('tr[data-coordinator=box-a]').getByText('build-a').waitFor({ timeout: 15000 })
    assert.is(await view.locator('tr[data-coordinator]').count(), 1)
    assert.is((await ui.api('POST', '/api/worker/coordinators/report', report('box-b', 'build-b'))).status, 204)
    await view.locator('tr[data-coordinator=box-b]').getByText('build-b').waitFor({ timeout: 15000 })
    assert.is(await view.locator('tr[data-coordinator]').count(), 2)
    assertNoCspViolations()
    assert.equal(problems, [])
  } finally {
    await browser.close()
    await ui.close()
  }
})

test.run()
