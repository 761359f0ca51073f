/**
 * Issue intake against a text read before the label: the poller lists changed issues first and reads
 * each one's label events afterwards (the webhook likewise reads the issue, then its events). An
 * issue opened with the intake label (an issue template's, refused as set at creation) and a
 * malicious body is read in that list; before its label events are read, the author replaces the
 * body with a harmless one, and a writer, seeing that, removes the label and applies it again. The
 * text read before the label is older than the label, so it passes for the labelled text unless the
 * import reads the issue again after its label events: the writer never saw it. Likewise a signed
 * `labeled` delivery of an earlier label (the opener's template label), arriving late: its text is
 * the issue's at that earlier label, not at the writer's, so it does not count as the labelled text.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { EVIL, startIntakeWorld, type IntakeWorld } from './intake-world.ts'
import { syncIssue } from '../../core/services/intake/sync.ts'
import { intakeTarget } from '../../core/services/intake/target.ts'
import { webhookDelivery } from '../fixtures/fake-github.ts'

const REPO = 'acme/intake-stale'
const HARMLESS = 'Make the widget list sortable.'
const test = suite<IntakeWorld>('intake: a text read before the label')

test.before(async (w) => {
  await startIntakeWorld(w, REPO, 'intake-stale')
  // The app's own first poll runs about a second after it starts (the next an hour later): it is
  // over (its cursor saved, or it ran before intake was on) before any issue exists, so the import
  // below is this test's, which it checks.
  const deadline = Date.now() + 3_000
  while (Date.now() < deadline && !(await w.t.app.ctx.sql`select 1 from issue_intake_cursors where project_id = ${w.projectId}`).length) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
})
test.after(async (w) => { await w.t?.close(); await w.gh?.close() })

test('a text read before a writer\'s label is not imported: the issue is read again after its label events', async (w) => {
  const issue = w.gh.state.openIssue(REPO, 'rita', { title: 'Widgets', body: EVIL, labels: ['agent'], createdAt: Date.now() - 60_000 })
  const target = (await intakeTarget(w.t.app.ctx, w.projectId))!
  // The poller's list: the issue as it is now, malicious body, the template's label on it.
  const listed = await target.issues.get(REPO, issue.number)
  assert.is(listed.body, EVIL)
  // Before its label events are read: the author swaps the body, and a writer labels what they see.
  w.gh.state.edit(REPO, issue.number, 'rita', { body: HARMLESS }, Date.now() - 30_000)
  w.gh.state.unlabel(REPO, issue.number, 'alice', 'agent')
  w.gh.state.label(REPO, issue.number, 'alice', 'agent')
  const outcome = await syncIssue(w.t.app.ctx, target, listed, { source: 'poller' })
  assert.is(outcome.imported, true, JSON.stringify(outcome))
  const [link] = await w.t.app.ctx.sql`select ticket_id, ignored_edit from ticket_issues where project_id = ${w.projectId} and issue_number = ${issue.number}`
  const [ticket] = await w.t.app.ctx.sql`select description from tickets where id = ${link.ticket_id}`
  assert.is(ticket.description, HARMLESS, 'a text no writer saw when labelling became the agent\'s prompt')
  assert.is(link.ignored_edit, null, 'the forge shows the imported text: no edit is pending')
})

test('a late `labeled` delivery of an earlier label does not import the text it carries', async (w) => {
  const issue = w.gh.state.openIssue(REPO, 'rita', { title: 'Widgets again', body: EVIL, labels: ['bug'], createdAt: Date.now() - 60_000 })
  // GitHub's delivery of the template's label, built at the opening, reaches the app late.
  const early = webhookDelivery('app-hook', 'issues', w.gh.state.issuePayload(REPO, issue.number, 'labeled', 'rita', 'bug'))
  w.gh.state.edit(REPO, issue.number, 'rita', { body: HARMLESS }, Date.now() - 30_000)
  w.gh.state.label(REPO, issue.number, 'alice', 'agent', Date.now() - 20_000)
  const res = await fetch(`${w.t.url}/api/webhooks/github`, { method: 'POST', headers: early.headers, body: new Uint8Array(early.body) })
  assert.is(res.status, 200, await res.text())
  const [link] = await w.t.app.ctx.sql`select ticket_id from ticket_issues where project_id = ${w.projectId} and issue_number = ${issue.number}`
  assert.ok(link, 'the writer\'s label imports the issue')
  const [ticket] = await w.t.app.ctx.sql`select description from tickets where id = ${link.ticket_id}`
  assert.is(ticket.description, HARMLESS, 'the text of an earlier label, replaced before the writer looked, became the agent\'s prompt')
})

test.run()
