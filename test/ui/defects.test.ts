/**
 * Small UI defects, each asserted away in Chromium: `n` and `/` work without focusing the board;
 * the "Stopping the agent…" toast ends when the job has stopped; an In Review ticket offers no
 * primary Run; icons in empty-state buttons and the graph inspector stay icon-sized (by geometry);
 * a selected graph node is drawn over a node it overlaps (`elementFromPoint`); the log shows a tool
 * call as one row and its URLs as links.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Locator, Page } from 'playwright-core'
import { createProject, openPage, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let problems: string[]

test.before(async () => {
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/`))
})

/** The icon's box lies inside its button's, and is at most 24 px each way. */
async function assertIconFits(button: Locator, what: string) {
  const [icon, box] = [(await button.locator('svg').first().boundingBox())!, (await button.boundingBox())!]
  assert.ok(icon.width <= 24 && icon.height <= 24, `${what}: icon ${icon.width}×${icon.height}`)
  assert.ok(icon.x >= box.x && icon.y >= box.y && icon.x + icon.width <= box.x + box.width && icon.y + icon.height <= box.y + box.height,
    `${what}: icon ${JSON.stringify(icon)} outside its button ${JSON.stringify(box)}`)
}

test('empty states: the plus icon in their buttons is icon-sized and inside the button', async () => {
  await assertIconFits(page.getByRole('button', { name: 'New project' }), 'New project (no projects yet)')
  const project = await createProject(suite.ui, { name: 'Empty graph' })
  await page.goto(`${suite.ui.url}/projects/${project.id}/graph`)
  await assertIconFits(page.getByRole('button', { name: 'Add the first node' }), 'Add the first node')
})

test('the graph inspector\'s connection icon is icon-sized; a selected node is drawn over the node it overlaps', async () => {
  const project = await createProject(suite.ui, { name: 'Overlap' })
  const { version } = (await suite.ui.api('GET', `/api/projects/${project.id}/graph`)).body
  const put = await suite.ui.api('PUT', `/api/projects/${project.id}/graph`, {
    version,
    nodes: [
      { id: 'a', type: 'service', label: 'Alpha', x: 0, y: 0 },
      { id: 'b', type: 'database', label: 'Beta', x: 120, y: 30 },
      { id: 'c', type: 'service', label: 'Gamma', x: 0, y: 300 },
    ],
    edges: [{ id: 'e1', source: 'a', target: 'c', label: 'calls' }],
  })
  assert.is(put.status, 200, JSON.stringify(put.body))
  await page.goto(`${suite.ui.url}/projects/${project.id}/graph`)
  const canvas = page.locator('ta-graph-canvas')
  const alpha = canvas.locator('g.node[data-id="a"]')
  const beta = canvas.locator('g.node[data-id="b"]')
  await alpha.waitFor()
  const [a, b] = [(await alpha.locator('rect.box').boundingBox())!, (await beta.locator('rect.box').boundingBox())!]
  // A point both boxes cover.
  const overlap = { x: (Math.max(a.x, b.x) + Math.min(a.x + a.width, b.x + b.width)) / 2, y: (Math.max(a.y, b.y) + Math.min(a.y + a.height, b.y + b.height)) / 2 }
  assert.ok(overlap.x > b.x && overlap.y > b.y && overlap.x < a.x + a.width && overlap.y < a.y + a.height, 'the nodes overlap')
  const onTop = () => canvas.evaluate((host, point) => host.shadowRoot!.elementFromPoint(point.x, point.y)?.closest('g.node')?.getAttribute('data-id'), overlap)
  assert.is(await onTop(), 'b', 'Beta comes later: drawn on top before any selection')
  await page.mouse.click(a.x + 20, a.y + 20)
  await canvas.locator('g.node.selected[data-id="a"]').waitFor()
  assert.is(await onTop(), 'a', 'the selected node is drawn on top')

  const edge = canvas.locator('g.edge', { hasText: 'calls' })
  const label = (await edge.locator('.edge-label rect').boundingBox())!
  await page.mouse.click(label.x + label.width / 2, label.y + label.height / 2)
  const heading = page.locator('ta-graph-inspector h3', { hasText: 'Connection' })
  await heading.waitFor()
  await assertIconFits(heading, 'the inspector\'s Connection heading')
})

test('`n` and `/` work on a freshly loaded board without focusing it first', async () => {
  const project = await createProject(suite.ui, { name: 'Keys' })
  await page.goto(`${suite.ui.url}/projects/${project.id}`)
  await page.locator('ta-board').getByRole('button', { name: 'New ticket' }).waitFor()
  assert.is(await page.evaluate(() => document.activeElement?.localName), 'body', 'nothing focused')
  await page.keyboard.press('/')
  assert.is(await page.locator('ta-board').evaluate((board) => (board.shadowRoot!.activeElement as HTMLInputElement | null)?.closest('.search') !== null), true, '/ focuses the search')
  await page.reload()
  await page.locator('ta-board').getByRole('button', { name: 'New ticket' }).waitFor()
  await page.keyboard.press('n')
  await page.getByRole('dialog', { name: 'New ticket' }).waitFor({ timeout: 3000 })
})

test('an In Review ticket offers "Run again" as a secondary action, not a primary Run', async () => {
  const project = await createProject(suite.ui, { name: 'In review' })
  const ticket = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Reviewed already', column_id: 'in_review' })).body
  await page.goto(`${suite.ui.url}/projects/${project.id}/tickets/${ticket.id}`)
  const view = page.locator('ta-ticket-view')
  await view.getByRole('button', { name: 'Run again' }).waitFor()
  assert.is(await view.locator('button.btn.primary', { hasText: /^\s*Run\s*$/ }).count(), 0)
  assert.not.ok(await view.getByRole('button', { name: 'Run again' }).evaluate((button) => button.classList.contains('primary')))
})

test('"Stopping the agent…" ends when the job has stopped', async () => {
  const project = await createProject(suite.ui, { name: 'Stop' })
  const ticket = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Long job', column_id: 'in_progress' })).body
  const claim = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  // The agent's log: a tool call (started, then ok) is one row; a URL in a line is a link.
  const auth = { authorization: `Bearer ${claim.body.agent_token}` }
  const tool = { kind: 'tool_call', name: 'Write', input: { file_path: 'a.txt' } }
  const posted = await suite.ui.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/logs`, { events: [
    { step: 'worker', summary: 'turn 1: Write(a.txt) started', event: { ...tool, status: 'started' } },
    { step: 'worker', summary: 'turn 1: Write(a.txt) ok', event: { ...tool, status: 'ok', output: 'written' } },
    { step: 'pr', summary: 'opened PR #7: https://github.example/acme/shop/pull/7' },
  ] }, auth)
  assert.is(posted.status, 201, JSON.stringify(posted.body))
  await page.goto(`${suite.ui.url}/projects/${project.id}/tickets/${ticket.id}`)
  const view = page.locator('ta-ticket-view')
  const log = view.locator('ta-job-log')
  await log.locator('a', { hasText: 'https://github.example/acme/shop/pull/7' }).waitFor()
  assert.is(await log.locator('a', { hasText: 'pull/7' }).getAttribute('href'), 'https://github.example/acme/shop/pull/7')
  assert.is(await log.locator('li.entry.tool_call').count(), 1, 'one row per tool call')
  await log.locator('li.entry.tool_call').getByText('ok', { exact: true }).waitFor()
  assert.is(await log.locator('li.entry.tool_call details summary').innerText(), 'Details')

  await view.getByRole('button', { name: 'Stop' }).click()
  const toasts = page.locator('ta-toasts')
  await toasts.getByText('Stopping the agent…').waitFor()
  // Held past an ordinary toast's 3.5 s while the agent has not stopped yet.
  await page.waitForTimeout(4500)
  assert.is(await toasts.getByText('Stopping the agent…').count(), 1, 'still stopping')
  // The coordinator sees the cancel and reports the agent's end: the job ends cancelled.
  const fail = await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/fail`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, error: 'stopped', exit_code: 130 })
  assert.is(fail.body.status, 'cancelled', JSON.stringify(fail.body))
  await toasts.getByText('Agent stopped').waitFor({ timeout: 5000 })
  assert.is(await toasts.getByText('Stopping the agent…').count(), 0)
  assert.equal(problems, [])
})

test.run()
