/**
 * A ticket's CI badge (frontend/ticket-ci.ts, docs/ci-fix.md) in a real browser: a recorded failing
 * round shows its label and, opened, the failing check's name and summary (never its log excerpt);
 * the follower's next writes (recordFinding, which emits `ci.updated`) appear live: the fix pushed,
 * the checks passed, and the cap reached; a ticket the follower never looked at has no badge. The
 * records are written through the follower's own functions, so no forge is needed here; the
 * follower itself is test/ci-fix.test.ts.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { recordFinding, type Finding } from '../../core/services/ci-fix/record.ts'
import { ciFixSettings } from '../../core/services/ci-fix/settings.ts'
import { createProject, openPage, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let problems: string[]
let project: { id: number; name: string }
const ids: Record<'fixing' | 'capped' | 'none', number> = { fixing: 0, capped: 0, none: 0 }
const prs: Record<'fixing' | 'capped', number> = { fixing: 0, capped: 0 }

const EXCERPT = 'npm ERR! at Object.<anonymous> (test/cart.test.js:41:7) LOG-EXCERPT-MARKER'
const RUN_URL = 'https://github.com/acme/shop/actions/runs/901'
const failed = (summary: string): Finding => ({
  kind: 'failed',
  failing: [{ name: 'unit-tests', state: 'failure', summary, details_url: RUN_URL, excerpt: EXCERPT }],
})
const sha = (n: number) => `${String(n).repeat(10)}abcdef0123456789abcdef0123456789`.slice(0, 40)

/** What the follower does for one head commit (follow.ts → record.ts), under the request's lock. */
async function follow(prId: number, commit: string, finding: Finding) {
  return recordFinding(suite.ui.app.ctx, prId, commit, finding, await ciFixSettings(suite.ui.app.ctx, project.id))
}
/** The round's ci_fix job ended as the worker ends it: pushed. */
const succeed = (jobId: number | null) => suite.ui.app.ctx.sql`update agent_jobs set status = 'succeeded', finished_at = now() where id = ${jobId!}`

const badge = () => page.locator('ta-ticket-view ta-ticket-ci [data-testid="ticket-ci"]')
const openTicket = (ticketId: number) => page.goto(`${suite.ui.url}/projects/${project.id}/tickets/${ticketId}`)

test.after.each(() => {
  assert.equal(problems.splice(0), [], 'page errors')
})

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Shop', key: 'SHOP' })
  for (const [name, title] of [['fixing', 'Cart totals'], ['capped', 'Checkout flow'], ['none', 'Product list']] as const) {
    ids[name] = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title })).body.id
  }
  for (const [name, number] of [['fixing', 12], ['capped', 13]] as const) {
    const [row] = await suite.ui.app.ctx.sql`insert into prs (project_id, ticket_id, repo, number, url, title, head_branch)
      values (${project.id}, ${ids[name]}, 'acme/shop', ${number}, ${`https://github.com/acme/shop/pull/${number}`}, 'A change', ${`ticket-${number}`}) returning id`
    prs[name] = row!.id as number
  }
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}`))
})

test('a failing round shows the badge and, opened, the failing check with its summary, never its log', async () => {
  const first = await follow(prs.fixing, sha(1), failed('3 tests failed in cart.test.js'))
  assert.is(first.round?.outcome, 'fixing')
  await openTicket(ids.fixing)
  await badge().waitFor({ timeout: 5000 })
  assert.is(await badge().innerText(), 'CI failed: fixing · round 1 of 2')
  assert.is(await badge().getAttribute('aria-expanded'), 'false')
  assert.match(String(await badge().getAttribute('title')), 'round 1 of 2: checks failed on 1111111111 (unit-tests)')
  await badge().click()
  const rounds = page.locator('ta-ticket-view ta-ticket-ci [data-testid="ticket-ci-rounds"]')
  await rounds.waitFor({ timeout: 5000 })
  assert.is(await badge().getAttribute('aria-expanded'), 'true')
  const text = await rounds.innerText()
  assert.match(text, 'unit-tests (3 tests failed in cart.test.js)')
  assert.match(text, '1111111111')
  assert.not.match(text, 'LOG-EXCERPT-MARKER')
  assert.is(await rounds.getByRole('link', { name: 'unit-tests' }).getAttribute('href'), RUN_URL)
  // Nor does the excerpt reach the page through the API it reads.
  const read = await suite.ui.api('GET', `/api/projects/${project.id}/tickets/${ids.fixing}/ci`)
  assert.is(read.status, 200)
  assert.not.match(JSON.stringify(read.body), 'LOG-EXCERPT-MARKER')
  // The ticket's other records stay closed until asked for again.
  await badge().click()
  await rounds.waitFor({ state: 'detached', timeout: 5000 })
})

test('the fix pushed, then the new commit passing, appear live without a reload', async () => {
  const [job] = await suite.ui.app.ctx.sql`select job_id from ci_rounds where pr_id = ${prs.fixing}`
  await succeed(job!.job_id as number)
  const settled = await follow(prs.fixing, sha(1), { kind: 'pending', started: true, queued: [] })
  assert.is(settled.round, null, 'the commit itself was judged already')
  await page.locator('ta-ticket-view ta-ticket-ci [data-testid="ticket-ci"]', { hasText: 'CI fix pushed' }).waitFor({ timeout: 5000 })
  assert.is(await badge().innerText(), 'CI fix pushed · round 1 of 2')
  const passed = await follow(prs.fixing, sha(2), { kind: 'passed' })
  assert.is(passed.round?.outcome, 'passed')
  await page.locator('ta-ticket-view ta-ticket-ci [data-testid="ticket-ci"]', { hasText: 'CI passed' }).waitFor({ timeout: 5000 })
  assert.match(await badge().innerText(), /^CI passed/)
  // Opened: every record, newest first.
  await badge().click()
  const items = page.locator('ta-ticket-view ta-ticket-ci [data-testid="ticket-ci-rounds"] li')
  await items.first().waitFor({ timeout: 5000 })
  assert.is(await items.count(), 2)
  assert.match(await items.nth(0).innerText(), /^CI passed 2222222222/)
  assert.match(await items.nth(1).innerText(), /^CI fix pushed 1111111111/)
})

test('a request out of rounds shows the cap reached, live', async () => {
  // Rounds 1 and 2 (CI_FIX_MAX_ROUNDS' default) were queued and pushed a fix each.
  for (const n of [1, 2]) {
    const queued = await follow(prs.capped, sha(n), failed(`round ${n} still red`))
    assert.is(queued.round?.round, n)
    await succeed(queued.jobId)
    await follow(prs.capped, sha(n), { kind: 'pending', started: true, queued: [] })
  }
  await openTicket(ids.capped)
  await badge().waitFor({ timeout: 5000 })
  assert.is(await badge().innerText(), 'CI fix pushed · round 2 of 2')
  const capped = await follow(prs.capped, sha(3), failed('1 test failed in checkout.test.js'))
  assert.is(capped.round?.outcome, 'exhausted')
  assert.is(capped.jobId, null, 'no third round is queued')
  await page.locator('ta-ticket-view ta-ticket-ci [data-testid="ticket-ci"]', { hasText: 'CI still failing: fix rounds used up' }).waitFor({ timeout: 5000 })
  assert.is(await badge().innerText(), 'CI still failing: fix rounds used up · round 2 of 2')
  assert.match(String(await badge().getAttribute('title')), 'CI_FIX_MAX_ROUNDS (2) reached')
  await badge().click()
  const newest = page.locator('ta-ticket-view ta-ticket-ci [data-testid="ticket-ci-rounds"] li').first()
  await newest.waitFor({ timeout: 5000 })
  assert.match(await newest.innerText(), 'unit-tests (1 test failed in checkout.test.js)')
  assert.not.match(await newest.innerText(), 'LOG-EXCERPT-MARKER')
})

test('a ticket the follower never looked at shows no badge', async () => {
  const read = page.waitForResponse((res) => res.url().endsWith(`/api/projects/${project.id}/tickets/${ids.none}/ci`))
  await openTicket(ids.none)
  const res = await read
  assert.is(res.status(), 200)
  assert.equal((await res.json()).rounds, [])
  await page.locator('ta-ticket-view h2', { hasText: 'Product list' }).waitFor({ timeout: 5000 })
  // The response has been rendered by the next frame.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
  assert.is(await page.locator('ta-ticket-view ta-ticket-ci').count(), 1, 'the element is there')
  assert.is(await badge().count(), 0)
})

test.run()
