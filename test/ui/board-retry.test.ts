/**
 * The board when reading its tickets fails (the app answering 503 for a while, through a route in
 * the page): it shows the error with its Retry button and tries again by itself, 1 s, 2 s, 4 s …
 * apart, until the tickets show, without a click. Leaving the board stops the retries.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, uiSuite, waitForOrExplain } from './helpers.ts'
import { sleep } from '../helpers.ts'

const suite = uiSuite(test)

/** Answers the project's tickets reads with 503 while `failing(n)` (n: the read's number); returns the reads seen. */
async function failTicketReads(page: Page, projectId: number, failing: (read: number) => boolean) {
  let reads = 0
  await page.route(`**/api/projects/${projectId}/tickets`, async (route) => {
    if (route.request().method() !== 'GET') return route.continue()
    const read = ++reads
    if (!failing(read)) return route.continue()
    // The read's number in the message: the alert showing it means the page has handled that failure.
    const body = { error: { code: 'unavailable', message: `the database is restarting (read ${read})` } }
    return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify(body) })
  })
  return () => reads
}

test('a failed tickets read is retried by itself until the board shows its tickets', async () => {
  const project = await createProject(suite.ui)
  const ticket = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Add a health endpoint' })).body as { id: number }
  const { page, problems } = await openPage(suite.browser, `${suite.ui.url}/`)
  // The first three reads fail: the board's own, then its retries after ≈1 s and ≈2 s.
  const reads = await failTicketReads(page, project.id, (read) => read <= 3)
  await page.goto(`${suite.ui.url}/projects/${project.id}`)
  const alert = page.locator('ta-board [role="alert"]')
  await waitForOrExplain(page, alert.filter({ hasText: 'Could not load the board: The database is restarting (read 1)' }), problems)
  await alert.getByText('Trying again by itself').waitFor()
  assert.ok(await alert.getByRole('button', { name: 'Retry' }).isVisible(), 'the Retry button stays')

  await waitForOrExplain(page, page.locator(`ta-board .card[data-id="${ticket.id}"]`), problems, { timeout: 30000 })
  assert.is(reads(), 4, 'three failed reads, then the one that loaded')
  assert.is(await alert.count(), 0, 'the error is gone')
  assert.equal(problems, [])
  await page.context().close()
})

test('the retries wait 1 s, 2 s, 4 s (within a fifth); Retry reads at once; leaving the board ends them', async () => {
  const project = await createProject(suite.ui)
  const { page, problems } = await openPage(suite.browser, `${suite.ui.url}/`)
  const reads = await failTicketReads(page, project.id, () => true)
  // The page's clock stands still but for runFor: no retry can come from anything but the time given.
  const start = Date.parse('2026-03-02T09:00:00Z')
  await page.clock.install({ time: start })
  await page.clock.pauseAt(start + 1000)
  await page.goto(`${suite.ui.url}/projects/${project.id}`)
  const alert = page.locator('ta-board [role="alert"]')
  const handled = (read: number) => waitForOrExplain(page, alert.filter({ hasText: `(read ${read})` }), problems)
  /** No read in the first `soonest - 1` ms of the page's time; one by `latest`. */
  const retriedWithin = async (soonest: number, latest: number) => {
    const before = reads()
    await page.clock.runFor(soonest - 1)
    await sleep(300)
    assert.is(reads(), before, `no read before ${soonest} ms`)
    await page.clock.runFor(latest - soonest + 1)
    await handled(before + 1)
  }
  await handled(1)
  await alert.getByText('Trying again by itself').waitFor()
  await retriedWithin(800, 1200)
  await retriedWithin(1600, 2400)
  await retriedWithin(3200, 4800)

  // The time stands still: only the click reads now.
  await alert.getByRole('button', { name: 'Retry' }).click()
  await handled(5)

  // Away from the board (the Jobs page), the scheduled retry is cancelled.
  await page.locator('ta-app nav a[href="/jobs"]').click()
  await page.locator('ta-board').waitFor({ state: 'detached' })
  await page.clock.runFor(60_000)
  await sleep(500)
  assert.is(reads(), 5, 'no tickets read after leaving the board')
  assert.equal(problems, [])
  await page.context().close()
})

test.run()
