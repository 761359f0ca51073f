// The Notifications page in a real browser: an admin adds an endpoint (its signing secret shown
// once), sends a test, and sees the deliveries, the test's and a failed job's, arrive in the log as
// delivered; the receiver got both, signed with the secret the page showed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHmac } from 'node:crypto'
import { assertNoCspViolations, createProject, launchBrowser, openPage, screenshot, startUiApp } from './helpers.ts'

test('an admin adds an endpoint, sends a test and sees the deliveries', async () => {
  const received: { headers: IncomingMessage['headers']; body: string }[] = []
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  const ui = await startUiApp({ NOTIFY_POLL_SEC: '0.2' })
  const browser = await launchBrowser()
  try {
    const { page, problems } = await openPage(browser, `${ui.url}/notifications`)
    const view = page.locator('ta-notifications-page')
    await view.locator('input[name=url]').fill(hookUrl, { timeout: 15000 })
    await view.locator('input[name=name]').fill('Ops receiver')
    await view.locator('button[type=submit]').click()
    const secret = (await view.locator('[data-secret]').textContent({ timeout: 10000 }))?.trim() ?? ''
    assert.match(secret, /^whsec_/)
    const row = view.locator('tr[data-endpoint]')
    await row.getByText('Ops receiver').waitFor()

    await row.getByRole('button', { name: 'Send test' }).click()
    await view.locator('tr[data-status=delivered]', { hasText: 'Test' }).waitFor({ timeout: 10000 })

    // A job that fails: its delivery shows up in the log by itself.
    const project = await createProject(ui)
    const ticket = await ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Fix login', column_id: 'in_progress' })
    assert.is(ticket.status, 201)
    const claim = await ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
    assert.is((await ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/fail`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, error: 'tests did not pass' })).status, 200)
    const failed = view.locator('tr[data-status=delivered]', { hasText: 'Job failed' })
    await failed.waitFor({ timeout: 15000 })
    assert.match((await failed.textContent()) ?? '', /204/)
    await screenshot(page, 'notifications')

    assert.equal(received.map((r) => r.headers['x-terarchitect-event']), ['test', 'job.failed'])
    for (const request of received) {
      assert.is(request.headers['x-terarchitect-signature-256'], 'sha256=' + createHmac('sha256', secret).update(request.body).digest('hex'))
    }
    assert.equal(problems, [])
    assertNoCspViolations()
  } finally {
    await browser.close()
    await ui.close()
    await new Promise((resolve) => receiver.close(resolve))
  }
})

test.run()
