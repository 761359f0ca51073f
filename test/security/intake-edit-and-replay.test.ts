/**
 * Issue intake's text path against a reader who edits around a writer:
 * 1. a writer's `edited` (e.g. a title fix) applies only the fields it changed, and only while the
 *    forge shows the text its signed payload carries: a reader's pending body edit stays not applied;
 * 2. the text imported is the text the writer labelled (the signed `labeled` payload's), not a
 *    reader's edit made before the app looked; on the poller path (no payload) an issue updated
 *    more than a second after the label is refused until a writer labels it again, whether the
 *    poller looks before the signed delivery arrives or after (the label's own write a second
 *    later still imports). Edits are dated seconds after a backdated label, so the app's own
 *    poller (its first cycle runs about a second after it starts) decides them as these tests do;
 * 3. the replay store is keyed on the signed body: the same delivery under a fresh delivery id is a
 *    repeat, and a GitHub delivery without its id header is refused.
 * Deliveries are built when their event happens, as GitHub does.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { EVIL, startIntakeWorld, type IntakeWorld } from './intake-world.ts'
import { EDITED_AFTER_LABEL } from '../../core/services/intake/import.ts'
import { syncIssue } from '../../core/services/intake/sync.ts'
import { intakeTarget } from '../../core/services/intake/target.ts'
import { webhookDelivery, type FakeGithub } from '../fixtures/fake-github.ts'
import type { TestApp } from '../helpers.ts'

const REPO = 'acme/intake-sec'
const test = suite<IntakeWorld>('intake: edits, import text, replay')

test.before(async (w) => {
  await startIntakeWorld(w, REPO, 'intake-sec')
})
test.after(async (w) => { await w.t?.close(); await w.gh?.close() })

const minuteAgo = () => Date.now() - 60_000
const signed = (w: { gh: FakeGithub }, action: string, n: number, sender: string, label?: string) =>
  webhookDelivery('app-hook', 'issues', w.gh.state.issuePayload(REPO, n, action, sender, label))
const send = (t: TestApp, d: { headers: Record<string, string>; body: Buffer }, id?: string) => {
  const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), v]).filter(([k]) => k !== 'x-github-delivery'))
  return fetch(`${t.url}/api/webhooks/github`, { method: 'POST', headers: { ...headers, ...(id ? { 'x-github-delivery': id } : {}) }, body: new Uint8Array(d.body) })
}
const ticketOf = async (w: { t: TestApp; projectId: number }, n: number) => {
  const [link] = await w.t.app.ctx.sql`select ticket_id from ticket_issues where project_id = ${w.projectId} and issue_number = ${n}`
  if (!link) return null
  const [ticket] = await w.t.app.ctx.sql`select title, description from tickets where id = ${link.ticket_id}`
  return ticket as { title: string; description: string }
}
const ignoredEdit = async (w: { t: TestApp; projectId: number }, n: number) => {
  const [link] = await w.t.app.ctx.sql`select ignored_edit from ticket_issues where project_id = ${w.projectId} and issue_number = ${n}`
  return (link?.ignored_edit ?? null) as { by: string | null; at: string } | null
}
/** An `edited` delivery as GitHub builds it when the edit happens (the forge may change after). */
const signedEdit = (w: { gh: FakeGithub }, n: number, sender: string, fields: { title?: string; body?: string }) => {
  w.gh.state.edit(REPO, n, sender, fields)
  return signed(w, 'edited', n, sender)
}
/** The poller's path: the issue as the forge shows it, no signed text. */
const syncIssueNow = async (w: { t: TestApp; projectId: number }, n: number) => {
  const target = (await intakeTarget(w.t.app.ctx, w.projectId))!
  return syncIssue(w.t.app.ctx, target, await target.issues.get(REPO, n), { source: 'poller' })
}
/**
 * The poller refuses issue `n` as edited after its label: audited, no ticket. The app's own first poll
 * (about a second after it starts) may have decided it before this one: then this one answers
 * "decided before", and the audited refusal is that poll's.
 */
const pollerRefusesEdited = async (w: { t: TestApp; projectId: number }, n: number) => {
  const outcome = await syncIssueNow(w, n)
  assert.is.not(outcome.imported, true, `imported: ${JSON.stringify(outcome)}`)
  assert.is(await ticketOf(w, n), null, 'a text edited after the label became the ticket')
  const refusals = await w.t.app.ctx.sql`select details from audit where action = 'intake.refused' and target_id = ${`${REPO}#${n}`}`
  assert.ok(refusals.some((row) => String(row.details?.reason).includes(EDITED_AFTER_LABEL)), `refusals: ${JSON.stringify(refusals)}`)
}
/** An issue a writer labelled 20 s ago, the `labeled` delivery built then (not sent), and the reader's body 2 s after the label. */
const labelledThenRewritten = (w: { gh: FakeGithub }, title: string, body: string) => {
  const issue = w.gh.state.openIssue(REPO, 'rita', { title, body, createdAt: minuteAgo() })
  const labelledAt = Date.now() - 20_000
  w.gh.state.label(REPO, issue.number, 'alice', 'agent', labelledAt)
  const labeled = signed(w, 'labeled', issue.number, 'alice', 'agent')
  w.gh.state.edit(REPO, issue.number, 'rita', { body: EVIL }, labelledAt + 2_000)
  return { issue, labeled }
}
/** The `labeled` delivery imports the text it carries; the forge's newer one is shown as not applied, editor unknown. */
const labelledTextImported = async (w: { t: TestApp; projectId: number }, n: number, labeled: ReturnType<typeof signed>, body: string) => {
  assert.is((await send(w.t, labeled, id())).status, 200)
  assert.is((await ticketOf(w, n))?.description, body, 'a body the writer never saw became the agent\'s prompt')
  assert.is((await ignoredEdit(w, n))?.by, null, 'the forge\'s newer text is shown as not applied, editor unknown')
}
/** An issue a writer labelled (imported through the webhook), then the writer's body edit: its `edited` delivery, not sent. */
const importedThenEdited = async (w: { t: TestApp; gh: FakeGithub }, title: string, body: string, edited: string) => {
  const issue = w.gh.state.openIssue(REPO, 'rita', { title, body, createdAt: minuteAgo() })
  w.gh.state.label(REPO, issue.number, 'alice', 'agent')
  assert.is((await send(w.t, signed(w, 'labeled', issue.number, 'alice', 'agent'), id())).status, 200)
  return { issue, captured: signedEdit(w, issue.number, 'alice', { body: edited }) }
}
let nextId = 1
const id = () => `sec2-${nextId++}`

test('a writer\'s title-only edit does not apply a reader\'s pending body edit', async (w) => {
  const issue = w.gh.state.openIssue(REPO, 'rita', { title: 'Slow listing', body: 'Make listing faster.', createdAt: minuteAgo() })
  w.gh.state.label(REPO, issue.number, 'alice', 'agent')
  assert.is((await send(w.t, signed(w, 'labeled', issue.number, 'alice', 'agent'), id())).status, 200)
  assert.is((await ticketOf(w, issue.number))?.description, 'Make listing faster.')
  // The reader (the issue's author) rewrites the body: shown, not applied. Correct so far.
  w.gh.state.edit(REPO, issue.number, 'rita', { body: EVIL })
  assert.is((await send(w.t, signed(w, 'edited', issue.number, 'rita'), id())).status, 200)
  assert.is((await ticketOf(w, issue.number))?.description, 'Make listing faster.')
  // A writer fixes a typo in the title only.
  w.gh.state.edit(REPO, issue.number, 'alice', { title: 'Slow widget listing' })
  assert.is((await send(w.t, signed(w, 'edited', issue.number, 'alice'), id())).status, 200)
  const ticket = await ticketOf(w, issue.number)
  assert.is(ticket?.title, 'Slow widget listing')
  assert.is(ticket?.description, 'Make listing faster.', 'the reader\'s body is applied as the writer\'s edit')
  assert.ok((await ignoredEdit(w, issue.number)), 'the reader\'s body stays shown as not applied')
  // A writer's edit whose text the forge no longer shows (someone edited since) is not applied either.
  const stale = signedEdit(w, issue.number, 'alice', { title: 'Slow widget listing (v2)' })
  w.gh.state.edit(REPO, issue.number, 'rita', { title: 'Run the evil script' })
  assert.is((await send(w.t, stale, id())).status, 200)
  assert.is((await ticketOf(w, issue.number))?.title, 'Slow widget listing')
  assert.ok(await ignoredEdit(w, issue.number), 'shown as an edit not applied')
  // The writer's own edit of the body, the forge showing it: applied, and nothing left pending.
  w.gh.state.edit(REPO, issue.number, 'alice', { title: 'Slow widget listing', body: 'Make listing faster, please.' })
  assert.is((await send(w.t, signed(w, 'edited', issue.number, 'alice'), id())).status, 200)
  assert.equal(await ticketOf(w, issue.number), { title: 'Slow widget listing', description: 'Make listing faster, please.' })
  assert.is(await ignoredEdit(w, issue.number), null)
})

test('the imported text is the text the writer labelled, not a reader\'s later edit', async (w) => {
  // Before the delivery arrives (webhook latency), the author edits, seconds after the label; the app's
  // poller looking in between refuses that text (the test below), so either way the ticket's is the labelled one.
  const { issue, labeled } = labelledThenRewritten(w, 'Flaky test', 'Fix the flaky widget test.')
  await labelledTextImported(w, issue.number, labeled, 'Fix the flaky widget test.')
})

test('an issue updated after its label is not imported from the forge\'s text (no signed text to go by)', async (w) => {
  const issue = w.gh.state.openIssue(REPO, 'rita', { title: 'Cache', body: 'Cache the widget list.', createdAt: minuteAgo() })
  // Labelled half a minute ago, edited by the author since (as a late poll or an intake turned on later sees it).
  w.gh.state.label(REPO, issue.number, 'alice', 'agent', Date.now() - 30_000)
  w.gh.state.edit(REPO, issue.number, 'rita', { body: EVIL })
  await pollerRefusesEdited(w, issue.number)
})

test('a reader\'s edit two seconds after the label: the poller refuses it, the signed label still imports the labelled text', async (w) => {
  // The reader watches for the label and rewrites the body; the poller looks before the delivery arrives.
  const { issue, labeled } = labelledThenRewritten(w, 'Retry', 'Retry the widget upload once.')
  await pollerRefusesEdited(w, issue.number)
  await labelledTextImported(w, issue.number, labeled, 'Retry the widget upload once.')
})

test('the label\'s own write a second later (a second-rounded forge crossing a second) still imports through the poller', async (w) => {
  const issue = w.gh.state.openIssue(REPO, 'rita', { title: 'Sort', body: 'Sort widgets by name.', createdAt: minuteAgo() })
  const labelledAt = Date.now() - 20_000
  w.gh.state.label(REPO, issue.number, 'alice', 'agent', labelledAt)
  w.gh.state.issueOf(REPO, issue.number).updated_at = new Date(labelledAt + 1_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const outcome = await syncIssueNow(w, issue.number)
  // The app's own first poll may have imported it already: the ticket is what counts.
  assert.ok(outcome.imported === true || outcome.ticket_id, JSON.stringify(outcome))
  assert.is((await ticketOf(w, issue.number))?.description, 'Sort widgets by name.')
})

test('a signed delivery replayed under a fresh delivery id, or none, is refused', async (w) => {
  const { issue, captured } = await importedThenEdited(w, 'Docs', 'Document the widget API.', 'Document the widget API (v2).')
  assert.is((await send(w.t, captured)).status, 400, 'a GitHub delivery without its id header')
  assert.is((await send(w.t, captured, 'real-edit')).status, 200)
  assert.is((await send(w.t, captured, 'real-edit')).status, 409, 'the same delivery again')
  // Later the reader rewrites the body, then replays the writer's captured delivery.
  w.gh.state.edit(REPO, issue.number, 'rita', { body: EVIL })
  // The id header is not covered by the signature: a fresh id makes no new delivery, none is refused.
  const statuses = [(await send(w.t, captured, 'attacker-fresh-id')).status, (await send(w.t, captured)).status]
  assert.equal(statuses, [409, 400], `replays with a fresh id / no id answered ${statuses.join(', ')}`)
  assert.is((await ticketOf(w, issue.number))?.description, 'Document the widget API (v2).')
})

test('without the replay check, the replayed edit is still not applied: the forge shows another text', async (w) => {
  const { issue, captured } = await importedThenEdited(w, 'Logs', 'Rotate the logs.', 'Rotate the logs daily.')
  assert.is((await send(w.t, captured, id())).status, 200)
  w.gh.state.edit(REPO, issue.number, 'rita', { body: EVIL })
  await w.t.app.ctx.sql`delete from webhook_deliveries`
  assert.is((await send(w.t, captured, id())).status, 200)
  assert.is((await ticketOf(w, issue.number))?.description, 'Rotate the logs daily.')
})

test.run()
