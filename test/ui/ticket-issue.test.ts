/**
 * A ticket imported from a forge issue (services/intake/) in a real browser: the board card's issue
 * chip and the ticket view's issue badge (link, state, who imported it), and an edit on the forge
 * that was not applied appearing live. The import is written as the intake writes it (the link row
 * and the ticket's live event), so no forge is needed here; the intake itself is
 * test/issue-intake.test.ts.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { write } from '../../core/context.ts'
import { getTicket } from '../../core/services/tickets.ts'
import { createProject, openPage, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let project: { id: number; name: string }
let ticketId: number
const ISSUE_URL = 'https://github.example/acme/widgets/issues/7'

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Widgets', key: 'WIDG' })
  ticketId = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Widgets are slow', description: 'From the issue' })).body.id
  await suite.ui.app.ctx.sql`insert into ticket_issues (project_id, ticket_id, forge_kind, repo, issue_number, issue_url, imported_by, synced_title, synced_body)
    values (${project.id}, ${ticketId}, 'github', 'acme/widgets', 7, ${ISSUE_URL}, 'alice', 'Widgets are slow', 'From the issue')`
  ;({ page } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}`))
})

/** What the intake does after changing the link: the ticket's live event. */
const emitTicket = () => write(suite.ui.app.ctx, async ({ tx, emit }) => {
  const ticket = await getTicket(tx, project.id, ticketId)
  await emit({ project_id: project.id, type: 'ticket.updated', payload: { ticket, from_column_id: ticket.column_id } })
})

test('the card shows the issue it came from, linked', async () => {
  const chip = page.locator(`ta-board-column .card[data-id="${ticketId}"] [data-testid="issue-chip"]`)
  await chip.waitFor({ timeout: 5000 })
  assert.is(await chip.innerText(), '#7')
  assert.is(await chip.getAttribute('href'), ISSUE_URL)
  assert.match(String(await chip.getAttribute('title')), 'acme/widgets#7')
})

test('the ticket view shows the issue, and an edit on the forge not applied appears live', async () => {
  await page.goto(`${suite.ui.url}/projects/${project.id}/tickets/${ticketId}`)
  const badge = page.locator('ta-ticket-view ta-ticket-issue [data-testid="ticket-issue"]')
  await badge.waitFor({ timeout: 5000 })
  assert.match(await badge.innerText(), 'Issue #7')
  assert.match(await badge.innerText(), 'by alice')
  assert.is(await badge.locator('a').getAttribute('href'), ISSUE_URL)
  await suite.ui.app.ctx.sql`update ticket_issues set ignored_edit = ${suite.ui.app.ctx.sql.json({ by: 'rita', at: '2026-01-01T00:00:00Z' })}, state = 'closed' where ticket_id = ${ticketId}`
  await emitTicket()
  const ignored = page.locator('ta-ticket-view ta-ticket-issue [data-testid="ignored-edit"]')
  await ignored.waitFor({ timeout: 5000 })
  assert.is(await ignored.innerText(), 'Edited on the forge by rita, not applied')
  assert.match(await badge.innerText(), 'Issue #7 (closed)')
})

test.run()
