/**
 * How long the Kanban board takes to render 500 tickets in Chromium (DESIGN §10: < 200 ms).
 * Measured in the page: from the moment the board's data arrived (`board:data`) to the first
 * frame after every column rendered (`board:rendered`), so style, layout and paint count; also
 * printed: navigation start to rendered (includes loading the app and the API calls) and a
 * re-render after typing a filter. Median of several page loads.
 * Run: node --import ./scripts/ts-register.mjs test/bench/ui-board-render.ts [runs=7]
 */
import { createProject, launchBrowser, startUiApp } from '../ui/helpers.ts'

const RUNS = Number(process.argv[2] ?? 7)
const TICKETS = 500
const words = ['orders', 'payments', 'cart', 'search', 'catalogue', 'checkout', 'auth', 'webhooks', 'invoices', 'emails']
const verbs = ['Add', 'Fix', 'Refactor', 'Speed up', 'Test', 'Document', 'Harden', 'Split']

const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const ui = await startUiApp()
const browser = await launchBrowser()
try {
  const project = await createProject(ui, { name: 'Big board' })
  const columnFor = (i: number) => (i < 20 ? 'in_progress' : i < 320 ? 'backlog' : i < 420 ? 'in_review' : 'done')
  let next = 0
  const started = Date.now()
  await Promise.all([0, 1, 2, 3].map(async () => {
    while (next < TICKETS) {
      const i = next++
      const res = await ui.api('POST', `/api/projects/${project.id}/tickets`, {
        title: `${verbs[i % verbs.length]} ${words[i % words.length]} (${i})`,
        description: `Ticket ${i} of the render benchmark`,
        priority: (['low', 'medium', 'high'] as const)[i % 3],
        column_id: columnFor(i),
        associated_node_ids: i % 4 ? [] : ['orders', 'db'],
      })
      if (res.status !== 201) throw new Error(`ticket ${i}: ${res.status} ${JSON.stringify(res.body)}`)
    }
  }))
  process.stdout.write(`seeded ${TICKETS} tickets in ${Date.now() - started} ms\n`)

  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  const page = await context.newPage()
  const render: number[] = []
  const total: number[] = []
  const filter: number[] = []
  const script: number[] = []
  for (let run = 0; run < RUNS + 1; run++) {
    await page.goto(`${ui.url}/projects/${project.id}`)
    await page.waitForSelector('ta-board[data-rendered]')
    const cards = await page.locator('.card').count()
    if (cards !== TICKETS) throw new Error(`rendered ${cards} cards, expected ${TICKETS}`)
    const figures = await page.evaluate(() => {
      const measure = performance.getEntriesByName('board:render', 'measure').pop()!
      const rendered = performance.getEntriesByName('board:rendered', 'mark').pop()!
      const updated = performance.getEntriesByName('board:updated', 'mark').pop()!
      const data = performance.getEntriesByName('board:data', 'mark').pop()!
      return { render: measure.duration, total: rendered.startTime, script: updated.startTime - data.startTime }
    })
    const typed = await page.evaluate(async () => {
      const board = document.querySelector('ta-app')!.shadowRoot!.querySelector('ta-project-home')!.shadowRoot!.querySelector('ta-board')!
      const input = board.shadowRoot!.querySelector<HTMLInputElement>('.search input')!
      const t0 = performance.now()
      input.value = 'payments'
      input.dispatchEvent(new InputEvent('input', { bubbles: true, composed: true }))
      await (board as unknown as { updateComplete: Promise<unknown> }).updateComplete
      await Promise.all([...board.shadowRoot!.querySelectorAll('ta-board-column')].map((column) => (column as unknown as { updateComplete: Promise<unknown> }).updateComplete))
      await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))
      return performance.now() - t0
    })
    // The first load warms the browser's caches; it is not counted.
    if (run === 0) continue
    render.push(figures.render)
    script.push(figures.script)
    total.push(figures.total)
    filter.push(typed)
  }
  const fmt = (values: number[]) => `median ${median(values).toFixed(1)} ms (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)})`
  process.stdout.write(`board with ${TICKETS} tickets, ${RUNS} runs, Chromium ${browser.version()}\n`)
  process.stdout.write(`  render (data → painted):            ${fmt(render)}  [budget 200 ms: ${median(render) < 200 ? 'within' : 'OVER'}]\n`)
  process.stdout.write(`    of which Lit rendering (script):   ${fmt(script)}\n`)
  process.stdout.write(`  navigation start → board painted:   ${fmt(total)}\n`)
  process.stdout.write(`  filter re-render ("payments"):      ${fmt(filter)}\n`)
} finally {
  await browser.close()
  await ui.close()
}
