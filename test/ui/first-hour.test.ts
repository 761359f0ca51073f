/**
 * The first hour, walked in Chromium as a new person would, once in the light and once in the dark
 * colour scheme, each from an empty app (first-hour-world.ts): the first-run checklist; Settings
 * filled and tested; a local project saved with its repository checked; a graph of three nodes and
 * two edges drawn; a ticket created with defaults (the whole graph linked, `KEY-1`); a drag into In
 * Progress that a real coordinator runs with Claude Code against the scripted LLM, to a PR and In
 * Review, with the graph in the prompt; a review comment posted from the UI that an agent answers;
 * the checklist gone. Screenshots: test-artifacts/ui/first-hour-<scheme>-NN-<step>.png. Geometry
 * holds the visual defects away: empty-state icons inside their buttons, the inspector's connection
 * icon at icon size, the selected node drawn on top of one it overlaps.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Locator, Page } from 'playwright-core'
import { assertNoCspViolations, launchBrowser, openPage, screenshot } from './helpers.ts'
import { MODEL, REPO, startFirstHourWorld, type FirstHourWorld } from './first-hour-world.ts'
import { REPLY_MARKER } from '../../core/agent/review-flow.ts'
import { waitFor } from '../helpers.ts'

const RUN_MS = 150_000

test.after.each(assertNoCspViolations)

/** Fails unless `inner`'s box lies within `outer`'s. */
async function assertWithin(inner: Locator, outer: Locator, what: string) {
  const a = (await inner.boundingBox())!
  const b = (await outer.boundingBox())!
  assert.ok(a && b, `${what}: both are laid out`)
  const within = a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.width <= b.x + b.width + 0.5 && a.y + a.height <= b.y + b.height + 0.5
  assert.ok(within, `${what}: icon ${JSON.stringify(a)} lies within its button ${JSON.stringify(b)}`)
}

/** The graph node (its data-id) hit at a point, through the shadow roots. */
function nodeAt(page: Page, x: number, y: number): Promise<string | null> {
  return page.evaluate(([px, py]) => {
    let el: Element | null = document.elementFromPoint(px!, py!)
    while (el?.shadowRoot) {
      const inner = el.shadowRoot.elementFromPoint(px!, py!)
      if (!inner || inner === el) break
      el = inner
    }
    return el?.closest('g.node')?.getAttribute('data-id') ?? null
  }, [x, y])
}

async function walk(scheme: 'light' | 'dark') {
  const world: FirstHourWorld = await startFirstHourWorld()
  const browser = await launchBrowser()
  let step = 0
  const shot = (page: Page, name: string) => screenshot(page, `first-hour-${scheme}-${String(++step).padStart(2, '0')}-${name}`)
  try {
    const { page, problems } = await openPage(browser, world.ui.url, { colorScheme: scheme })
    assert.is(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), scheme === 'dark')

    // 1. The empty app: the checklist, settings first; the empty state's button icon inside its button.
    const checklist = page.locator('ta-setup-checklist')
    await checklist.getByRole('heading', { name: 'Get started' }).waitFor()
    const steps = await checklist.locator('li').evaluateAll((items) => items.map((item) => item.getAttribute('data-step')))
    assert.equal(steps, ['settings', 'project', 'graph', 'ticket', 'pull_request'])
    assert.is(await checklist.locator('li[data-done]').count(), 0)
    const emptyButton = page.locator('ta-projects-page .empty').getByRole('button', { name: 'New project' })
    await assertWithin(emptyButton.locator('svg'), emptyButton, 'New project (empty state)')
    await shot(page, 'empty-app')

    // 2. Settings: typed in, saved, and each Test works against the fixtures.
    await checklist.getByRole('link', { name: 'Open settings' }).click()
    await page.waitForURL(/\/settings$/)
    const row = (key: string) => page.locator(`ta-settings-page .setting[data-key="${key}"]`)
    await row('WORKER_MODE').locator('select').selectOption('claude-code')
    await row('WORKER_LLM_URL').locator('input').fill(world.llm.url)
    await row('WORKER_API_KEY').locator('input').fill(world.values.llmKey)
    await row('WORKER_MODEL').locator('input').fill(MODEL)
    await row('GITHUB_API_URL').locator('input').fill(world.gh.url)
    await row('GITHUB_TOKEN').locator('input').fill(world.values.githubToken)
    await page.getByRole('button', { name: 'Save settings' }).click()
    await page.locator('ta-settings-page .alert.success', { hasText: 'Agents can run' }).waitFor()
    for (const [group, label, says] of [['Worker', 'Test worker LLM', /Works/], ['GitHub', 'Test GitHub token', /Works/]] as const) {
      const section = page.locator(`ta-settings-page section[data-group="${group}"]`)
      await section.getByRole('button', { name: label }).click()
      const badge = section.locator('ta-check-button .badge')
      await badge.waitFor()
      assert.is(await badge.getAttribute('data-kind'), 'ok', `${label}: ${await section.locator('ta-check-button .reason').innerText()}`)
      assert.match(await badge.innerText(), says)
    }
    assert.ok(world.llm.requests.some((r) => r.status === 200), 'the worker Test reached the LLM')
    assert.ok(world.gh.requests.some((r) => r.path === '/user' && r.token === world.values.githubToken), 'the GitHub Test asked who the token is')
    await shot(page, 'settings-tested')

    // 3. A local project, its repository checked with the token on save.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click()
    await checklist.locator('li[data-step="settings"][data-done]').waitFor()
    await emptyButton.click()
    const form = page.locator('ta-projects-page ta-project-form')
    await form.getByLabel('Name').fill('Widgets')
    await form.getByLabel('Repository URL').fill(world.repoUrl)
    await form.locator('label.mode', { hasText: 'Local' }).click()
    await form.getByLabel('Project path').fill(world.checkout)
    await shot(page, 'project-form')
    await form.getByRole('button', { name: 'Create project' }).click()
    await page.locator('ta-board-column[data-column="backlog"]').waitFor()
    assert.ok(world.gh.requests.some((r) => r.method === 'GET' && r.path === `/repos/${REPO}`), 'the save checked the repository')
    const project = (await world.ui.api('GET', '/api/projects')).body[0] as { id: number; key: string; execution_mode: string }
    assert.is(project.execution_mode, 'local')

    // 4. The graph: three nodes and two edges through the editor.
    await page.locator('ta-project-home a.tab', { hasText: 'Graph' }).click()
    await page.getByRole('heading', { name: 'Model your architecture' }).waitFor()
    const firstNode = page.locator('ta-graph-editor .empty-canvas').getByRole('button', { name: 'Add the first node' })
    await assertWithin(firstNode.locator('svg'), firstNode, 'Add the first node (empty state)')
    const inspector = page.locator('ta-graph-inspector')
    const node = (label: string) => page.locator('ta-graph-canvas g.node', { hasText: label })
    for (const [type, label, tech] of [['Service', 'Widget API', 'Node.js'], ['Database', 'Widget DB', 'PostgreSQL'], ['Cache', 'Widget cache', 'Redis']]) {
      await page.getByRole('button', { name: 'Add node' }).click()
      await page.getByRole('menuitem', { name: type }).click()
      await inspector.locator('input[name="label"]').fill(label!)
      await inspector.locator('input[name="tech"]').fill(tech!)
      await inspector.locator('input[name="tech"]').press('Tab')
      await node(label!).waitFor()
    }
    for (const [source, target, label] of [['Widget API', 'Widget DB', 'reads and writes'], ['Widget API', 'Widget cache', 'caches listings']]) {
      await page.getByRole('button', { name: 'Connect' }).click()
      await node(source!).click()
      await node(target!).click()
      await inspector.getByRole('heading', { name: 'Connection' }).waitFor()
      await inspector.locator('input[name="label"]').fill(label!)
    }
    const connectionIcon = (await inspector.getByRole('heading', { name: 'Connection' }).locator('svg').boundingBox())!
    assert.ok(connectionIcon.width <= 24 && connectionIcon.height <= 24, `the connection icon is icon-sized (${connectionIcon.width}×${connectionIcon.height})`)
    assert.is(await page.locator('ta-graph-canvas g.edge').count(), 2)

    // Two overlapping nodes: whichever is selected is drawn on top.
    const box = async (label: string) => (await node(label).locator('rect.box').boundingBox())!
    const db = await box('Widget DB')
    const cache = await box('Widget cache')
    await page.mouse.move(cache.x + cache.width / 2, cache.y + cache.height / 2)
    await page.mouse.down()
    await page.mouse.move(db.x + db.width / 2 + 40, db.y + db.height / 2 + 20, { steps: 5 })
    await page.mouse.up()
    const moved = await box('Widget cache')
    const overlap = { x: (Math.max(moved.x, db.x) + Math.min(moved.x + moved.width, db.x + db.width)) / 2, y: (Math.max(moved.y, db.y) + Math.min(moved.y + moved.height, db.y + db.height)) / 2 }
    const ids = Object.fromEntries(await Promise.all(['Widget DB', 'Widget cache'].map(async (label) => [label, await node(label).getAttribute('data-id')])))
    for (const label of ['Widget DB', 'Widget cache']) {
      const own = await box(label)
      const other = label === 'Widget DB' ? moved : db
      // Click a part of the node the other does not cover.
      await page.mouse.click(own.x < other.x ? own.x + 8 : own.x + own.width - 8, own.y < other.y ? own.y + 8 : own.y + own.height - 8)
      await page.locator('ta-graph-canvas g.node.selected', { hasText: label }).waitFor()
      assert.is(await nodeAt(page, overlap.x, overlap.y), ids[label], `${label}, selected, is on top at the overlap`)
    }
    await shot(page, 'graph-overlap')
    // Put it below the others, then save.
    const grab = { x: moved.x + moved.width - 10, y: moved.y + moved.height - 6 }
    await page.mouse.move(grab.x, grab.y)
    await page.mouse.down()
    await page.mouse.move(grab.x - (moved.x - db.x) - 120, grab.y + 150, { steps: 5 })
    await page.mouse.up()
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('status').filter({ hasText: /Saved · version/ }).waitFor()
    const graph = (await world.ui.api('GET', `/api/projects/${project.id}/graph`)).body as { nodes: { id: string }[]; edges: { id: string }[] }
    assert.is(graph.nodes.length, 3)
    assert.is(graph.edges.length, 2)
    await shot(page, 'graph')

    // 5. A ticket with the dialog's defaults: the whole graph pre-selected; the card reads KEY-1.
    await page.locator('ta-project-home a.tab', { hasText: 'Board' }).click()
    await page.locator('ta-board-column[data-column="backlog"]').waitFor()
    await page.getByRole('button', { name: 'New ticket' }).click()
    const dialog = page.locator('ta-ticket-create')
    await dialog.locator('ta-links-picker label.item').first().waitFor()
    const boxes = dialog.locator('ta-links-picker .lists input[type="checkbox"]')
    assert.is(await boxes.count(), 5, 'three nodes and two edges listed')
    for (const checkbox of await boxes.all()) assert.ok(await checkbox.isChecked(), 'pre-selected')
    await dialog.getByLabel('Title').fill('Add a health file')
    await dialog.getByLabel('Description').fill('Create HEALTH.md saying the service is healthy.')
    await shot(page, 'new-ticket')
    await dialog.getByRole('button', { name: 'Create ticket' }).click()
    await dialog.locator('dialog').waitFor({ state: 'hidden' })
    const ticket = (await world.ui.api('GET', `/api/projects/${project.id}/tickets`)).body[0] as { id: number; number: number; associated_node_ids: string[]; associated_edge_ids: string[] }
    assert.is(ticket.number, 1)
    assert.equal(ticket.associated_node_ids.sort(), graph.nodes.map((n) => n.id).sort())
    assert.equal(ticket.associated_edge_ids.sort(), graph.edges.map((e) => e.id).sort())
    const card = page.locator(`.card[data-id="${ticket.id}"]`)
    await card.locator('.tid', { hasText: new RegExp(`^\\s*${project.key}-1\\s*$`) }).waitFor()

    // 6. Into In Progress: a real coordinator runs it; the live log shows the steps; it ends In Review with its PR.
    // The move's answer is held until the coordinator claimed the job, so the page hears of the claim
    // (job.updated) first, as it may when a coordinator is waiting: the answer must not set it back to Queued.
    await page.route(`**/api/projects/${project.id}/tickets/${ticket.id}`, async (route) => {
      if (route.request().method() !== 'PATCH') return route.continue()
      const response = await route.fetch()
      await waitFor(async () => (await world.ui.api('GET', `/api/projects/${project.id}/tickets/${ticket.id}`)).body.job?.status === 'running', 30_000, 'the claim')
      await card.locator('.status', { hasText: 'Running' }).waitFor({ timeout: 5000 })
      await route.fulfill({ response })
    })
    await card.dragTo(page.locator('ta-board-column[data-column="in_progress"] .list'))
    await card.locator('.card-title').click()
    const log = page.locator('ta-ticket-view ta-job-log')
    await log.locator('li.entry', { hasText: /clon/i }).first().waitFor({ timeout: RUN_MS })
    // The claim (job.updated) may reach the page before the move's own answer: the card still says Running.
    await page.locator('ta-ticket-view .badge', { hasText: 'Running · attempt 1' }).waitFor({ timeout: 5000 })
    await card.locator('.status', { hasText: 'Running' }).waitFor({ timeout: 5000 })
    await page.unroute(`**/api/projects/${project.id}/tickets/${ticket.id}`)
    await shot(page, 'run-live-log')
    await log.locator('li.entry', { hasText: /pushed/ }).first().waitFor({ timeout: RUN_MS })
    await page.keyboard.press('Escape')
    const reviewed = page.locator(`ta-board-column[data-column="in_review"] .card[data-id="${ticket.id}"]`)
    await reviewed.locator('a.chip.pr').waitFor({ timeout: RUN_MS })
    // The agent moved it before it exited; the coordinator reports the job done right after.
    await reviewed.locator('.status', { hasText: 'Succeeded' }).waitFor({ timeout: 30_000 })
    assert.is(await reviewed.locator('button[data-action="stop"]').count(), 0, 'no Stop once the job ended')
    const pull = world.gh.state.repo(REPO)!.pulls.find((p) => p.head.ref === `ticket-${ticket.id}`)!
    assert.ok(pull, 'the agent opened a PR')
    assert.is(await reviewed.locator('a.chip.pr').getAttribute('href'), pull.html_url)
    const prompt = world.llm.llmCalls().filter((r) => r.request?.model === MODEL).map((r) => r.request!.allText).join('\n')
    for (const text of ['Widget API', 'Widget DB', 'Widget cache', 'reads and writes', 'caches listings']) {
      assert.ok(prompt.includes(text), `the run's prompt names ${JSON.stringify(text)}`)
    }
    await shot(page, 'in-review')

    // 7. A review comment from the UI, answered by an agent: the reply rendered and labelled, the comment addressed.
    await reviewed.locator('.card-title').click()
    const view = page.locator('ta-ticket-view')
    await view.getByRole('tab', { name: 'Review' }).click()
    const panel = view.locator('ta-review-panel')
    await panel.getByRole('textbox', { name: 'Comment' }).fill('Please also add READY.md saying ready.')
    assert.ok(await panel.getByRole('checkbox', { name: 'Ask the agent to address it' }).isChecked())
    await panel.getByRole('button', { name: 'Post comment' }).click()
    const comments = panel.getByRole('list', { name: 'Comments' })
    const mine = comments.locator('li.comment:not(.reply)', { hasText: 'Please also add READY.md' })
    await mine.waitFor()
    await mine.getByText('Addressed', { exact: true }).waitFor({ timeout: 90_000 })
    const reply = comments.locator('li.comment.reply')
    await reply.first().waitFor({ timeout: 15_000 })
    await reply.first().getByText('Reply', { exact: true }).waitFor()
    const replied = world.gh.state.repo(REPO)!.comments.filter((c) => c.body.includes(REPLY_MARKER))
    assert.is(replied.length, 1, 'the agent replied on the PR')
    assert.not.match(await panel.innerText(), /terarchitect:reply|<!--/, 'no raw reply marker')
    assert.ok(await reply.first().locator('blockquote').count() > 0, 'the reply\'s quote is rendered')
    await shot(page, 'review-reply')
    await page.keyboard.press('Escape')
    await page.locator('ta-project-home a.tab', { hasText: 'Review' }).click()
    await page.locator(`ta-review-list li[data-pr="${pull.number}"] .counts`, { hasText: /1 addressed/ }).waitFor({ timeout: 15_000 })

    // 8. With the first PR, the checklist is gone.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click()
    await page.locator('article.project').first().waitFor()
    await checklist.getByRole('heading', { name: 'Get started' }).waitFor({ state: 'detached' })
    await shot(page, 'projects')
    assert.equal(problems, [], 'no console error')
  } catch (error) {
    const open = browser.contexts()[0]?.pages()[0]
    if (open) await screenshot(open, `first-hour-${scheme}-failed`, { keepToasts: true }).catch(() => {})
    console.error(`first hour (${scheme}) failed; jobs, their steps and the coordinator's last lines:\n${await world.story()}`)
    throw error
  } finally {
    await browser.close()
    await world.close()
  }
}

test('the first hour, light', () => walk('light'))
test('the first hour, dark', () => walk('dark'))

test.run()
