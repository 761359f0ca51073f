/**
 * Ticket dependencies in a real browser (light): blockers set with the picker in the ticket view, a
 * cycle refused in plain words naming the tickets, and the waiting card ("Waiting for …", a Blocked
 * badge, a failed blocker) following the server live; the blocker's move to Done starts it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { write } from '../../core/context.ts'
import { jobSummary } from '../../core/services/jobs.ts'
import { createProject, openPage, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let project: { id: number; name: string }
const ids: Record<'a' | 'b', number> = { a: 0, b: 0 }
const labels: Record<'a' | 'b', string> = { a: '', b: '' }

const card = (ticketId: number) => `ta-board-column .card[data-id="${ticketId}"]`
const ticketPath = (id: number, tail = '') => `/api/projects/${project.id}/tickets/${id}${tail}`

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Widgets', key: 'WIDG' })
  for (const [name, title] of [['a', 'Add the widgets table'], ['b', 'List widgets in the API']] as const) {
    const res = await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title })
    ids[name] = res.body.id
    labels[name] = `${res.body.project_key}-${res.body.number}`
  }
  ;({ page } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}/tickets/${ids.b}`))
})

test('the ticket view sets blockers with a picker of the project\'s other tickets', async () => {
  const view = page.locator('ta-ticket-view')
  await view.getByRole('tab', { name: 'Details' }).click()
  const picker = view.locator('ta-ticket-blockers')
  await picker.getByLabel(`Blocked by ${labels.a}`).check()
  await picker.getByRole('button', { name: 'Save blockers' }).click()
  await picker.getByText('1 blocker').waitFor()
  const read = (await suite.ui.api('GET', ticketPath(ids.b))).body
  assert.equal(read.blocked_by.map((blocker: { id: number }) => blocker.id), [ids.a])
  // On the board the card says it is blocked, live.
  await page.locator(`${card(ids.b)} .blocked`).waitFor({ timeout: 5000 })
})

test('a cycle is refused in plain words naming the tickets', async () => {
  await page.goto(`${suite.ui.url}/projects/${project.id}/tickets/${ids.a}`)
  const view = page.locator('ta-ticket-view')
  await view.getByRole('tab', { name: 'Details' }).click()
  const picker = view.locator('ta-ticket-blockers')
  await picker.getByLabel(`Blocked by ${labels.b}`).check()
  await picker.getByRole('button', { name: 'Save blockers' }).click()
  const alert = picker.getByRole('alert')
  await alert.waitFor()
  const text = await alert.innerText()
  assert.match(text, 'would wait for each other')
  assert.match(text, `${labels.a} → ${labels.b} → ${labels.a}`)
  assert.equal((await suite.ui.api('GET', ticketPath(ids.a))).body.blocked_by, [], 'nothing was saved')
  await page.keyboard.press('Escape')
})

test("a waiting card says on what it waits, shows its blocker's failure, and starts when the blocker is Done", async () => {
  await page.goto(`${suite.ui.url}/projects/${project.id}`)
  assert.is((await suite.ui.api('PATCH', ticketPath(ids.a), { column_id: 'in_progress' })).status, 200)
  assert.is((await suite.ui.api('PATCH', ticketPath(ids.b), { column_id: 'in_progress' })).status, 200)
  const waiting = page.locator(`${card(ids.b)} [data-testid="waiting"]`)
  await waiting.waitFor({ timeout: 5000 })
  assert.is(await waiting.innerText(), `Waiting for ${labels.a}`)
  assert.is((await suite.ui.api('GET', ticketPath(ids.b))).body.job, null, 'no job while it waits')
  // Its Run button says why it does nothing: it starts by itself.
  const run = page.locator(`${card(ids.b)} .run`)
  assert.is(await run.getAttribute('title'), `Waiting for ${labels.a}: it starts by itself`)
  await run.click({ force: true })
  await page.getByText(`Waiting for ${labels.a}: it starts by itself`).first().waitFor({ timeout: 3000 })
  // The blocker's job fails: the waiting card says so at once (a live job event), and keeps waiting.
  await write(suite.ui.app.ctx, async ({ tx, emit }) => {
    const [job] = await tx`update agent_jobs set status = 'failed', error = 'tests failed', finished_at = now() where ticket_id = ${ids.a}
      returning id, project_id, ticket_id, status, attempt, error, cancel_requested`
    await emit({ project_id: project.id, type: 'job.updated', payload: jobSummary(job as never) })
  })
  await page.locator(`${card(ids.b)} .problem`, { hasText: `${labels.a} failed` }).waitFor({ timeout: 5000 })
  assert.is((await suite.ui.api('GET', ticketPath(ids.b))).body.waiting, true, 'a failed blocker starts nothing')
  // Its blocker Done: it starts by itself, and the card's wait is gone.
  assert.is((await suite.ui.api('PATCH', ticketPath(ids.a), { column_id: 'done' })).status, 200)
  await waiting.waitFor({ state: 'detached', timeout: 5000 })
  assert.is((await suite.ui.api('GET', ticketPath(ids.b))).body.job.status, 'pending')
})

test.run()
