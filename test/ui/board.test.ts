// test-runner: alone
/**
 * The Kanban board in a real browser: tickets created in the dialog, a drag into In Progress that
 * enqueues a job, live updates in a second browser, the live job log in the ticket view, Stop,
 * and the keyboard way to move and open a ticket.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'
import { waitFor } from '../helpers.ts'

const suite = uiSuite(test)
let project: { id: number; name: string }
let page: Page
let problems: string[]
let other: Page
const ids: Record<string, number> = {}

const column = (id: string) => `ta-board-column[data-column="${id}"]`
const card = (ticketId: number) => `.card[data-id="${ticketId}"]`

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Shop API', description: 'Orders, payments and the storefront API', repo_url: 'https://github.com/acme/shop.git' })
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}`))
  ;({ page: other } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}`))
  await page.locator(column('backlog')).waitFor()
  await other.locator(column('backlog')).waitFor()
})

async function createTicket(title: string, priority: 'low' | 'medium' | 'high') {
  await page.getByRole('button', { name: 'New ticket' }).click()
  const dialog = page.locator('ta-ticket-create')
  await dialog.getByLabel('Title').fill(title)
  await dialog.getByLabel('Description').fill(`${title}: with tests, behind a flag.`)
  await dialog.locator(`label:has(input[value="${priority}"])`).click()
  await dialog.getByRole('button', { name: 'Create ticket' }).click()
  await dialog.locator('dialog').waitFor({ state: 'hidden' })
  const found = page.locator(`${column('backlog')} .card`, { hasText: title })
  await found.waitFor()
  return Number(await found.getAttribute('data-id'))
}

test('two tickets are created from the dialog', async () => {
  ids.limit = await createTicket('Add rate limiting to the orders API', 'high')
  ids.cache = await createTicket('Cache product listings in Redis', 'medium')
  const listed = (await suite.ui.api('GET', `/api/projects/${project.id}/tickets`)).body as { id: number; title: string; priority: string }[]
  assert.is(listed.length, 2)
  assert.is(listed.find((ticket) => ticket.id === ids.limit)?.priority, 'high')
  // The second browser saw both appear without reloading.
  await other.locator(`${column('backlog')} ${card(ids.cache!)}`).waitFor({ timeout: 3000 })
})

test('an empty title is refused with a clear message', async () => {
  await page.getByRole('button', { name: 'New ticket' }).click()
  const dialog = page.locator('ta-ticket-create')
  await dialog.getByRole('button', { name: 'Create ticket' }).click()
  await dialog.getByText('A ticket needs a title.').waitFor()
  await page.keyboard.press('Escape')
  await dialog.locator('dialog').waitFor({ state: 'hidden' })
})

test('dragging a ticket to In Progress enqueues its job; the other browser sees the move live', async () => {
  await page.locator(card(ids.limit!)).dragTo(page.locator(`${column('in_progress')} .list`))
  await page.locator(`${column('in_progress')} ${card(ids.limit!)} .status`).filter({ hasText: 'Queued' }).waitFor({ timeout: 5000 })
  const ticket = (await suite.ui.api('GET', `/api/projects/${project.id}/tickets/${ids.limit}`)).body
  assert.is(ticket.column_id, 'in_progress')
  assert.is(ticket.job.status, 'pending')
  const started = Date.now()
  await other.locator(`${column('in_progress')} ${card(ids.limit!)}`).waitFor({ timeout: 3000 })
  assert.ok(Date.now() - started < 3000)
})

/** More of a real board for the screenshot: a finished ticket with its PR, done work, a backlog. */
async function furnish() {
  const add = async (title: string, column_id: string, priority = 'medium') =>
    (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title, column_id, priority })).body.id as number
  await add('Paginate the admin order list', 'backlog', 'medium')
  await add('Validate shipping addresses', 'backlog', 'high')
  await add('Upgrade Fastify to v5', 'done')
  await add('Document the refund flow', 'done')
  const shipped = await add('Emit order.created events', 'in_progress', 'high')
  const claim = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'coord-b' })
  assert.is(claim.body.ticket_id, shipped)
  const auth = { authorization: `Bearer ${claim.body.agent_token}` }
  // The PR the app opened for the job (POST …/forge/pull records it): the one complete may report.
  await suite.ui.app.ctx.sql`update agent_jobs set pr_number = 42 where id = ${claim.body.job_id}`
  await suite.ui.api('POST', `/api/projects/${project.id}/tickets/${shipped}/complete`, {
    pr_url: 'https://github.com/acme/shop/pull/42', pr_number: 42, summary: 'Publishes order.created on NATS after commit',
    usage: { input_tokens: 48210, output_tokens: 6120, cost_usd: 0.21 },
  }, auth)
  await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'coord-b', claim_seq: claim.body.claim_seq, exit_code: 0 })
  await page.locator(`${column('in_review')} ${card(shipped)} .chip.pr`, { hasText: 'PR #42' }).waitFor({ timeout: 3000 })
}

test('job events posted by the agent appear in the open ticket view within a second; Stop cancels the job', async () => {
  await page.locator(card(ids.limit!)).click()
  const drawer = page.locator('ta-ticket-view aside')
  await drawer.waitFor()
  await drawer.getByText('Queued: waiting for a coordinator').waitFor()

  const claim = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'coord-a' })
  assert.is(claim.status, 200)
  const auth = { authorization: `Bearer ${claim.body.agent_token}` }
  const logs = `/api/projects/${project.id}/tickets/${ids.limit}/logs`
  await drawer.locator('.badge', { hasText: 'Running' }).first().waitFor({ timeout: 3000 })

  const events = [
    { step: 'clone', summary: 'Cloned acme/shop, branch ticket-1' },
    { step: 'worker', summary: '', event: { kind: 'message', text: 'I will add a token bucket limiter in front of the orders routes.' } },
    { step: 'worker', summary: '', event: { kind: 'tool_call', name: 'read_file', input: { path: 'src/routes/orders.ts' }, status: 'ok' } },
    { step: 'worker', summary: '', event: { kind: 'command', cmd: 'npm test -- orders', exit: 0, output: '12 passing (340ms)' } },
    { step: 'worker', summary: '', event: { kind: 'file_change', path: 'src/routes/orders.ts', change: 'modify',
      diff: '--- a/src/routes/orders.ts\n+++ b/src/routes/orders.ts\n@@ -1,4 +1,6 @@\n import { router } from "../http"\n+import { limit } from "../limit"\n \n-router.post("/orders", createOrder)\n+router.post("/orders", limit({ perMinute: 60 }), createOrder)\n' } },
    { step: 'worker', summary: '', event: { kind: 'usage', input_tokens: 18234, output_tokens: 2210, cost_usd: 0.0412 } },
  ]
  for (const event of events) assert.is((await suite.ui.api('POST', logs, event, auth)).status, 201)
  const posted = Date.now()
  const log = page.locator('ta-job-log')
  await log.locator('.entry.file_change .diff .add', { hasText: 'limit({ perMinute: 60 })' }).waitFor({ timeout: 1000 })
  assert.ok(Date.now() - posted <= 1000, 'log events showed within a second')
  await log.locator('.entry.command', { hasText: 'npm test -- orders' }).waitFor()
  await log.locator('.entry.tool_call', { hasText: 'read_file' }).waitFor()
  await log.locator('.entry.usage', { hasText: '18,234 in' }).waitFor()
  const single = Date.now()
  assert.is((await suite.ui.api('POST', logs, { step: 'worker', summary: 'Editing src/limit.ts' }, auth)).status, 201)
  await log.getByText('Editing src/limit.ts').waitFor({ timeout: 1000 })
  assert.ok(Date.now() - single <= 1000)
  await screenshot(page, 'ticket-view')

  await page.keyboard.press('Escape')
  await drawer.waitFor({ state: 'hidden' })
  await furnish()
  const running = page.locator(`${column('in_progress')} ${card(ids.limit!)}`)
  await running.locator('.latest', { hasText: 'Editing src/limit.ts' }).waitFor()
  assert.ok(await running.evaluate((el) => el.classList.contains('is-running')))
  await screenshot(page, 'board-running')

  await running.click()
  await drawer.getByRole('button', { name: 'Stop' }).click()
  await drawer.getByRole('button', { name: 'Stopping…' }).waitFor()
  let job = (await suite.ui.api('GET', `/api/jobs/${claim.body.job_id}`)).body
  assert.is(job.cancel_requested, true)
  // The coordinator sees the cancel on its heartbeat, stops the container and reports.
  const beat = await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/heartbeat`, { coordinator_id: 'coord-a', claim_seq: claim.body.claim_seq })
  assert.is(beat.body.cancel_requested, true)
  await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/fail`, { coordinator_id: 'coord-a', claim_seq: claim.body.claim_seq, error: 'cancelled by request', exit_code: 137 })
  job = (await suite.ui.api('GET', `/api/jobs/${claim.body.job_id}`)).body
  assert.is(job.status, 'cancelled')
  await drawer.locator('.meta .badge', { hasText: 'Cancelled' }).waitFor({ timeout: 3000 })
  await drawer.getByRole('button', { name: 'Retry' }).waitFor()
  await page.keyboard.press('Escape')
})

test('the ticket view edits fields and links nodes or the whole graph', async () => {
  const { version } = (await suite.ui.api('GET', `/api/projects/${project.id}/graph`)).body
  await suite.ui.api('PUT', `/api/projects/${project.id}/graph`, {
    nodes: [{ id: 'api', type: 'service', label: 'Orders API' }, { id: 'cache', type: 'cache', label: 'Product cache' }],
    edges: [{ id: 'e1', source: 'api', target: 'cache', protocol: 'Redis' }],
    version,
  })
  await page.locator(card(ids.cache!)).click()
  const drawer = page.locator('ta-ticket-view')
  await drawer.getByRole('tab', { name: 'Details' }).click()
  await drawer.locator('ta-priority-picker label', { hasText: 'High' }).click()
  await drawer.getByRole('checkbox', { name: 'Product cache Cache' }).check()
  await drawer.getByRole('checkbox', { name: 'Orders API → Product cache Redis' }).check()
  await drawer.getByLabel('Title').fill('Cache product listings in Redis (5 min TTL)')
  await drawer.getByRole('button', { name: 'Save', exact: true }).click()
  await page.locator('ta-toasts').getByText('Ticket saved').waitFor()
  let ticket = (await suite.ui.api('GET', `/api/projects/${project.id}/tickets/${ids.cache}`)).body
  assert.is(ticket.title, 'Cache product listings in Redis (5 min TTL)')
  assert.is(ticket.priority, 'high')
  assert.equal(ticket.associated_node_ids, ['cache'])
  assert.equal(ticket.associated_edge_ids, ['e1'])
  await drawer.getByRole('checkbox', { name: 'Whole graph' }).check()
  await drawer.getByRole('button', { name: 'Save', exact: true }).click()
  await waitFor(async () => (await suite.ui.api('GET', `/api/projects/${project.id}/tickets/${ids.cache}`)).body.associated_node_ids[0] === '*', 3000, 'whole graph link')
  ticket = (await suite.ui.api('GET', `/api/projects/${project.id}/tickets/${ids.cache}`)).body
  assert.equal(ticket.associated_node_ids, ['*'])
  await page.locator(`${card(ids.cache!)} .card-title`, { hasText: '5 min TTL' }).waitFor()
  await page.keyboard.press('Escape')
  await drawer.waitFor({ state: 'detached' })
})

test('filters by text and priority', async () => {
  const search = page.getByLabel('Filter tickets by text')
  await search.fill('redis')
  await page.locator(card(ids.limit!)).waitFor({ state: 'detached' })
  assert.is(await page.locator('.card').count(), 1)
  await search.fill('')
  await page.getByLabel('Filter by priority').selectOption('low')
  await page.locator('.card').first().waitFor({ state: 'detached' })
  assert.is(await page.locator('.card').count(), 0)
  await page.getByLabel('Filter by priority').selectOption('')
  await page.locator(card(ids.limit!)).waitFor()
})

test('columns are renamed, added, reordered and given a role', async () => {
  await page.getByRole('button', { name: 'Columns' }).click()
  const editor = page.locator('ta-columns-editor')
  await editor.getByRole('textbox', { name: 'Column title' }).nth(3).fill('Shipped')
  await editor.getByRole('button', { name: 'Add column' }).click()
  await editor.getByRole('textbox', { name: 'Column title' }).nth(4).fill('QA')
  await editor.getByRole('button', { name: 'Move QA left' }).click()
  await editor.getByRole('button', { name: 'Delete In Review' }).isDisabled()
  await editor.getByRole('button', { name: 'Save columns' }).click()
  await editor.locator('dialog').waitFor({ state: 'hidden' })
  const board = (await suite.ui.api('GET', `/api/projects/${project.id}/board`)).body as { columns: { id: string; title: string; role: string; order: number }[] }
  assert.equal(board.columns.map((column) => column.title), ['Backlog', 'In Progress', 'In Review', 'QA', 'Shipped'])
  assert.is(board.columns.find((column) => column.title === 'QA')!.role, 'custom')
  assert.is(board.columns.find((column) => column.title === 'Shipped')!.role, 'done')
  await page.locator('ta-board-column h2', { hasText: 'Shipped' }).waitFor()
  await other.locator('ta-board-column h2', { hasText: 'QA' }).waitFor({ timeout: 3000 })

  // Two columns with the same role are refused with the reason.
  await page.getByRole('button', { name: 'Columns' }).click()
  await editor.getByRole('combobox', { name: 'Role of QA' }).selectOption('done')
  await editor.getByRole('button', { name: 'Save columns' }).click()
  await editor.locator('.alert.error', { hasText: 'needs exactly one column with role "done"' }).waitFor()
  await page.keyboard.press('Escape')
  await editor.locator('dialog').waitFor({ state: 'hidden' })
})

test('keyboard only: a ticket moves between columns and opens with Enter', async () => {
  await page.locator('body').click({ position: { x: 5, y: 400 } })
  // Tab from the top of the page until a ticket card has focus.
  let focused = ''
  for (let i = 0; i < 40 && !focused.startsWith('card:'); i++) {
    await page.keyboard.press('Tab')
    focused = await page.evaluate(() => {
      let el: Element | null = document.activeElement
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement
      return el?.classList.contains('card') ? `card:${(el as HTMLElement).dataset.id}` : el?.tagName ?? ''
    })
  }
  assert.ok(focused.startsWith('card:'), `a card got focus by Tab (last: ${focused})`)
  const id = Number(focused.slice(5))
  const before = (await suite.ui.api('GET', `/api/projects/${project.id}/tickets/${id}`)).body.column_id
  await page.keyboard.press('Alt+ArrowRight')
  const after = await waitFor(async () => {
    const ticket = (await suite.ui.api('GET', `/api/projects/${project.id}/tickets/${id}`)).body
    return ticket.column_id !== before && ticket.column_id
  }, 3000, 'the keyboard move')
  assert.is.not(after, before)
  await page.locator(`${column(after)} ${card(id)}`).waitFor()
  // Focus stayed on the moved card, so Enter opens it.
  await page.keyboard.press('Enter')
  await page.locator('ta-ticket-view aside').waitFor()
  assert.match(page.url(), new RegExp(`/projects/${project.id}/tickets/${id}$`))
  await page.keyboard.press('Escape')
  await page.locator('ta-ticket-view').waitFor({ state: 'detached' })
  assert.equal(problems, [])
})

test.run()
