/**
 * The review panel renders comments as Markdown built as DOM (frontend/markdown.ts), in a real
 * browser against the fake GitHub: an XSS corpus creates no element or attribute outside the
 * renderer's set and runs no script; the app's reply marker is hidden; the agent's reply is
 * labelled as a reply and the comment it answers shows as addressed; a comment posted for a person
 * with an account names them in its text.
 *
 * The comment is addressed the way the app does it: a poll cycle stores it and queues its review
 * job, and the job (played here) replies and reports it addressed. Left to the poller's cadence, the
 * comment would be stored or not depending on when its first cycle ran, and a stored one whose review
 * job nobody runs shows "in progress", never "addressed".
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'
import { waitFor } from '../helpers.ts'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'
import { postReviewComment } from '../../core/services/review/ticket-review.ts'
import { reviewCycle } from '../../core/services/review/loop.ts'

const REPO = 'acme/gadgets'
const MARKER = '<!-- terarchitect:reply -->'
const ALLOWED_TAGS = new Set(['div', 'p', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'ol', 'li', 'pre', 'code', 'em', 'strong', 'a', 'hr'])
const ALLOWED_ATTRIBUTES: Record<string, Set<string>> = { a: new Set(['href', 'target', 'rel']), div: new Set(['class']) }

const CORPUS = [
  '<script>window.__xss = "script"</script>',
  '<img src=x onerror="window.__xss = \'img\'">',
  '<svg onload="window.__xss = \'svg\'"></svg><iframe src="javascript:window.__xss=1"></iframe>',
  '[click me](javascript:window.__xss=\'link\')',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '[[nested [brackets]]](javascript:alert(1)) and [ok [inner]](https://example.com/a_(b))',
  '![pic](javascript:alert(1)) ![pic2](https://example.com/p.png)',
  '<a href="javascript:alert(1)" onclick="window.__xss=\'a\'">raw anchor</a>',
  '**<b onmouseover="window.__xss=1">bold</b>** _<i style="x">em</i>_ `<code onclick=1>`',
  '```html\n<script>window.__xss = "fence"</script>\n```',
  '> <style>*{display:none}</style> quoted <form action="https://evil.test"><input name=a></form>',
  '- item <object data="x"></object>\n- [jav&#x61;script:](jav&#x61;script:alert(1)) <https://example.com>',
  '<!-- hidden --><div onclick="x">div</div> [x](JAVASCRIPT:alert(1)) [y]( javascript:alert(1) ) [z](//evil.test/x)',
].join('\n\n')

const suite = uiSuite(test)
let gh: FakeGithub
let page: Page
let problems: string[]
let project: { id: number }
let ticketId: number
let pullNumber: number
let asked: number
let corpus: number

test.before(async () => {
  gh = await startGithub()
  assert.is((await suite.ui.api('PUT', '/api/settings', { values: { GITHUB_API_URL: gh.url, GITHUB_TOKEN: 'ghp_ui_markdown_test' } })).status, 200)
  project = await createProject(suite.ui, { name: 'Gadgets', repo_url: `https://github.example/${REPO}.git` })
  ticketId = (await suite.ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Gadget search', column_id: 'in_progress' })).body.id
  const claim = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
  const pull = gh.state.createPull(REPO, { title: 'Gadget search', head: `ticket-${ticketId}`, base: 'main' }, 'terarchitect-bot')
  pullNumber = pull.number
  gh.state.repo(REPO)!.permissions.alice = 'write'
  corpus = gh.state.addComment(REPO, pull.number, 'mallory', CORPUS).id
  asked = gh.state.addComment(REPO, pull.number, 'alice', 'Please **debounce** the input.\n\nSee https://example.com/debounce.').id
  await suite.ui.api('POST', `/api/projects/${project.id}/tickets/${ticketId}/complete`, { pr_url: pull.html_url, pr_number: pull.number }, { authorization: `Bearer ${claim.body.agent_token}` })
  await suite.ui.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
  await waitFor(async () => (await suite.ui.api('GET', `/api/projects/${project.id}/review`)).body.prs.length > 0, 10000, 'the PR to be tracked')
  // A poll cycle stores alice's comment (a writer's) and queues its review job.
  await reviewCycle(suite.ui.app.ctx)
  const review = await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1', wait_ms: 5000 })
  assert.is(review.status, 200, JSON.stringify(review.body))
  assert.equal([review.body.kind, Number(review.body.github_comment_id)], ['review', asked])
  // The review agent's reply, as core/agent/review-flow.ts writes it (quote first); then it reports the comment addressed and ends.
  gh.state.addComment(REPO, pull.number, 'terarchitect-bot', `${MARKER}\n> Please **debounce** the input.\n\nDebounced by 200 ms.\n\nPushed abc1234567 to \`ticket-${ticketId}\`.`)
  const addressed = await suite.ui.api('POST', `/api/projects/${project.id}/tickets/${ticketId}/review/addressed`, { github_comment_id: asked }, { authorization: `Bearer ${review.body.agent_token}` })
  assert.is(addressed.status, 200, JSON.stringify(addressed.body))
  assert.is((await suite.ui.api('POST', `/api/worker/jobs/${review.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: review.body.claim_seq, exit_code: 0 })).body.status, 'succeeded')
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}/tickets/${ticketId}`))
  await page.addInitScript(() => {
    ;(window as unknown as { __dialogs: number }).__dialogs = 0
    window.alert = () => void ((window as unknown as { __dialogs: number }).__dialogs++)
  })
  await page.reload()
})

test.after(async () => {
  await gh?.close()
})

test('an XSS corpus renders as text and safe links only: no other element or attribute, no script runs', async () => {
  await page.locator('ta-ticket-view').getByRole('tab', { name: 'Review' }).click()
  const panel = page.locator('ta-review-panel')
  const item = panel.locator(`li[data-comment="${corpus}"]`)
  await item.locator('.text').waitFor()
  const found = await item.locator('.text').evaluate((root) => {
    const all = [root, ...root.querySelectorAll('*')]
    return all.map((el) => ({ tag: el.localName, attributes: [...el.attributes].map((a) => [a.name, a.value]) }))
  })
  for (const el of found) {
    assert.ok(ALLOWED_TAGS.has(el.tag), `element <${el.tag}> created`)
    for (const [name, value] of el.attributes) {
      assert.ok(ALLOWED_ATTRIBUTES[el.tag]?.has(name!), `attribute ${name}="${value}" on <${el.tag}>`)
      if (name === 'href') assert.match(value!, /^https?:\/\/[^/]/, `href ${value}`)
    }
  }
  const links = found.filter((el) => el.tag === 'a').map((el) => Object.fromEntries(el.attributes).href)
  // The http(s) ones only (a bare URL in raw HTML is a link too); never javascript:, data: or relative.
  assert.equal(links, ['https://example.com/a_(b)', 'https://example.com/p.png', 'https://evil.test/', 'https://example.com/'])
  // Raw HTML is shown as the text it is.
  const text = await item.locator('.text').innerText()
  assert.match(text, '<script>window.__xss = "script"</script>')
  assert.match(text, '<img src=x onerror=')
  assert.match(text, `<svg onload="window.__xss = 'svg'"></svg>`, 'no emphasis inside a word (__xss)')
  assert.match(text, 'click me', 'a link to anything but http(s) is its label, as text')
  assert.not.match(text, 'hidden', 'an HTML comment is not shown')
  await page.waitForTimeout(300)
  assert.equal(await page.evaluate(() => [(window as any).__xss ?? null, (window as any).__dialogs]), [null, 0], 'no script ran')
  assert.equal(problems, [])
})

test('Markdown renders; the reply marker is hidden; the agent\'s reply is a reply and its comment is addressed', async () => {
  const panel = page.locator('ta-review-panel')
  const question = panel.locator(`li[data-comment="${asked}"]`)
  assert.is(await question.locator('.text strong').innerText(), 'debounce')
  assert.is(await question.locator('.text a').getAttribute('href'), 'https://example.com/debounce')
  await question.getByText('Addressed', { exact: true }).waitFor()
  const reply = panel.locator(`li[data-reply-to="${asked}"]`)
  await reply.getByText('Reply', { exact: true }).waitFor()
  await reply.getByText('replied to alice').waitFor()
  assert.is(await reply.getByText('Not addressed').count(), 0)
  const text = await reply.locator('.text').innerText()
  assert.not.match(text, 'terarchitect:reply')
  assert.is(await reply.locator('.text blockquote').count(), 1)
  assert.is(await reply.locator('.text code').innerText(), `ticket-${ticketId}`)
  await screenshot(page, 'review-markdown')
})

test('a comment posted for a person with an account names them; their name is not Markdown', async () => {
  const [user] = await suite.ui.app.ctx.sql`insert into users (login, display_name, role) values ('ada', 'Ada *the* @admin', 'member') returning id`
  const posted = await postReviewComment(suite.ui.app.ctx, project.id, ticketId, { body: 'Rename it, please.', trigger_review: false }, { userId: user!.id })
  const stored = gh.state.repo(REPO)!.comments.find((c) => c.id === posted.comment.id)!
  assert.ok(stored.body.startsWith('**Ada \\*the\\* \\@admin** (via Terarchitect): Rename it, please.'), stored.body)
  // Without accounts the app has one anonymous operator: the account only named the comment.
  await suite.ui.app.ctx.sql`delete from users where id = ${user!.id}`
  await page.reload()
  await page.locator('ta-ticket-view').getByRole('tab', { name: 'Review' }).click()
  const shown = page.locator(`ta-review-panel li[data-comment="${posted.comment.id}"]`)
  assert.is(await shown.locator('.text strong').innerText(), 'Ada *the* @admin')
  assert.match(await shown.locator('.text').innerText(), '(via Terarchitect): Rename it, please.')
})

test.run()
