/**
 * The architecture graph editor in a real browser: nodes added and edited, connected two ways,
 * moved, saved with the version and still there after a reload; single edges deleted; the
 * unsaved-changes guard; a stale save (409) offered a reload; pan and zoom.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let problems: string[]
let project: { id: number; name: string }

test.before(async () => {
  project = await createProject(suite.ui, { name: 'Shop API' })
  ;({ page, problems } = await openPage(suite.browser, `${suite.ui.url}/projects/${project.id}/graph`))
  await page.getByRole('heading', { name: 'Model your architecture' }).waitFor()
})

const inspector = () => page.locator('ta-graph-inspector')
const node = (label: string) => page.locator('ta-graph-canvas g.node', { hasText: label })
const graph = async () => (await suite.ui.api('GET', `/api/projects/${project.id}/graph`)).body as {
  nodes: { id: string; label: string; type: string; tech?: string; ports?: unknown[]; x: number; y: number }[]
  edges: { id: string; source: string; target: string; label?: string; protocol?: string }[]
  version: number
}

async function addNode(type: string, label: string, tech: string, ports: string) {
  await page.getByRole('button', { name: 'Add node' }).click()
  await page.getByRole('menuitem', { name: type }).click()
  const name = inspector().locator('input[name="label"]')
  await name.fill(label)
  await inspector().locator('input[name="tech"]').fill(tech)
  await inspector().locator('input[name="ports"]').fill(ports)
  await inspector().locator('input[name="ports"]').press('Tab')
  await node(label).waitFor()
}

async function centre(label: string) {
  const box = (await node(label).locator('rect.box').boundingBox())!
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 }
}

let base = 0

test('three nodes and two edges are built, saved, and still there after a reload', async () => {
  base = (await graph()).version
  await addNode('Service', 'Orders API', 'Node 20, Fastify', '8080')
  await addNode('Database', 'Orders DB', 'PostgreSQL 16', '5432')
  await addNode('Cache', 'Product cache', 'Redis 7', '6379')
  await page.getByRole('status').filter({ hasText: 'Unsaved changes' }).waitFor()

  // Edge 1: Connect mode, source then target.
  await page.getByRole('button', { name: 'Connect' }).click()
  await node('Orders API').click()
  await node('Orders DB').click()
  await inspector().getByRole('heading', { name: 'Connection' }).waitFor()
  await inspector().locator('input[name="label"]').fill('reads and writes')
  await inspector().locator('input[name="protocol"]').fill('SQL')

  // Edge 2: drag from the source node's handle onto the target.
  const handle = (await node('Orders API').locator('circle.handle').boundingBox())!
  const target = await centre('Product cache')
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2)
  await page.mouse.down()
  await page.mouse.move(target.x - 30, target.y, { steps: 6 })
  await page.mouse.move(target.x, target.y, { steps: 2 })
  await page.mouse.up()
  await inspector().locator('input[name="protocol"]').fill('Redis')
  assert.is(await page.locator('ta-graph-canvas g.edge').count(), 2)

  // Move a node by dragging it.
  const before = await centre('Product cache')
  await page.mouse.move(before.x, before.y)
  await page.mouse.down()
  await page.mouse.move(before.x + 260, before.y - 30, { steps: 5 })
  await page.mouse.up()
  const after = await centre('Product cache')
  assert.ok(Math.abs(after.x - before.x - 260) < 3 && Math.abs(after.y - before.y + 30) < 3, 'the node followed the pointer')

  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByRole('status').filter({ hasText: `Saved · version ${base + 1}` }).waitFor()

  const saved = await graph()
  assert.is(saved.version, base + 1)
  assert.equal(saved.nodes.map((n) => n.label).sort(), ['Orders API', 'Orders DB', 'Product cache'])
  const byLabel = new Map(saved.nodes.map((n) => [n.label, n]))
  assert.equal(byLabel.get('Orders DB')!.ports, [5432])
  assert.is(byLabel.get('Orders DB')!.type, 'database')
  assert.is(byLabel.get('Product cache')!.tech, 'Redis 7')
  const sql = saved.edges.find((edge) => edge.protocol === 'SQL')!
  assert.is(sql.source, byLabel.get('Orders API')!.id)
  assert.is(sql.target, byLabel.get('Orders DB')!.id)
  assert.is(sql.label, 'reads and writes')
  const redis = saved.edges.find((edge) => edge.protocol === 'Redis')!
  assert.is(redis.target, byLabel.get('Product cache')!.id)

  await page.reload()
  await node('Product cache').waitFor()
  assert.is(await page.locator('ta-graph-canvas g.node').count(), 3)
  assert.is(await page.locator('ta-graph-canvas g.edge').count(), 2)
  await page.locator('ta-graph-canvas g.edge', { hasText: 'reads and writes · SQL' }).waitFor()
  await page.getByRole('status').filter({ hasText: `Saved · version ${base + 1}` }).waitFor()
})

test('a single edge is selected and deleted; leaving with unsaved changes asks first', async () => {
  const edge = page.locator('ta-graph-canvas g.edge', { hasText: 'Redis' })
  const box = (await edge.locator('.edge-label rect').boundingBox())!
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
  await inspector().getByRole('heading', { name: 'Connection' }).waitFor()
  await page.keyboard.press('Delete')
  assert.is(await page.locator('ta-graph-canvas g.edge').count(), 1)
  assert.is(await page.locator('ta-graph-canvas g.node').count(), 3)

  await page.locator('ta-project-home a.tab', { hasText: 'Board' }).click()
  const confirm = page.locator('ta-confirm')
  await confirm.getByText('Your changes to the architecture graph are not saved yet.').waitFor()
  await confirm.getByRole('button', { name: 'Cancel' }).click()
  assert.match(page.url(), /\/graph$/)
  await page.keyboard.press('Control+s')
  await page.getByRole('status').filter({ hasText: `Saved · version ${base + 2}` }).waitFor()
  assert.is((await graph()).edges.length, 1)
})

test('a save based on a stale version tells the person and offers a reload', async () => {
  const current = await graph()
  // Someone else saves meanwhile (another browser, the API).
  const other = await suite.ui.api('PUT', `/api/projects/${project.id}/graph`, {
    nodes: [...current.nodes, { id: 'n-queue', type: 'queue', label: 'Order events', x: 600, y: 0 }],
    edges: current.edges,
    version: current.version,
  })
  assert.is(other.status, 200)
  // Not dirty here: the editor shows their version by itself.
  await node('Order events').waitFor({ timeout: 3000 })

  // Now edit, and have someone save again before this editor does.
  await node('Orders DB').click()
  await page.keyboard.press('ArrowDown')
  const latest = await graph()
  await suite.ui.api('PUT', `/api/projects/${project.id}/graph`, { nodes: latest.nodes.slice(0, 3), edges: latest.edges, version: latest.version })
  const banner = page.locator('ta-graph-editor .banner')
  await banner.getByText('Someone else saved this graph').waitFor({ timeout: 3000 })
  await page.getByRole('button', { name: 'Save' }).click()
  await banner.getByText('Someone else saved this graph').waitFor()
  assert.is((await graph()).nodes.length, 3, 'the stale save did not overwrite')
  await banner.getByRole('button', { name: 'Reload' }).click()
  await banner.waitFor({ state: 'detached' })
  await node('Order events').waitFor({ state: 'detached' })
  await page.getByRole('status').filter({ hasText: `Saved · version ${(await graph()).version}` }).waitFor()
})

test('the canvas pans and zooms', async () => {
  const layer = page.locator('ta-graph-canvas svg > g')
  const start = await layer.getAttribute('transform')
  await page.getByRole('button', { name: 'Zoom in' }).click()
  const zoomed = await layer.getAttribute('transform')
  assert.is.not(zoomed, start)
  const box = (await page.locator('ta-graph-canvas').boundingBox())!
  await page.mouse.move(box.x + 40, box.y + box.height - 40)
  await page.mouse.down()
  await page.mouse.move(box.x + 140, box.y + box.height - 10, { steps: 4 })
  await page.mouse.up()
  const panned = await layer.getAttribute('transform')
  assert.is.not(panned, zoomed)
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  await page.mouse.wheel(0, 300)
  assert.is.not(await layer.getAttribute('transform'), panned)
})

test('screenshot: a realistic architecture', async () => {
  const { version } = await graph()
  const n = (id: string, type: string, label: string, tech: string, ports: number[], x: number, y: number) => ({ id, type, label, tech, ports, x, y })
  const nodes = [
    n('web', 'frontend', 'Storefront', 'Next.js 14', [3000], 0, 0),
    n('admin', 'view', 'Back office', 'Lit, Vite', [], 0, 190),
    n('gw', 'api', 'API gateway', 'Envoy', [8443], 300, 95),
    n('orders', 'service', 'Orders service', 'Node 20, Fastify', [8080], 600, 0),
    n('pay', 'worker', 'Payments worker', 'Go 1.22', [], 600, 190),
    n('db', 'database', 'Orders DB', 'PostgreSQL 16', [5432], 900, -60),
    n('cache', 'cache', 'Product cache', 'Redis 7', [6379], 900, 95),
    n('events', 'queue', 'Order events', 'NATS JetStream', [4222], 900, 250),
  ]
  const e = (id: string, source: string, target: string, label: string, protocol: string) => ({ id, source, target, label, protocol })
  const edges = [
    e('e1', 'web', 'gw', 'checkout', 'HTTPS'), e('e2', 'admin', 'gw', 'manage', 'HTTPS'), e('e3', 'gw', 'orders', 'routes', 'gRPC'),
    e('e4', 'orders', 'db', 'reads/writes', 'SQL'), e('e5', 'orders', 'cache', 'lookups', 'Redis'), e('e6', 'orders', 'events', 'publishes', 'NATS'),
    e('e7', 'events', 'pay', 'consumes', 'NATS'),
  ]
  assert.is((await suite.ui.api('PUT', `/api/projects/${project.id}/graph`, { nodes, edges, version })).status, 200)
  await page.reload()
  await node('Orders service').click()
  await page.mouse.move(5, 300)
  await screenshot(page, 'graph-editor')
  assert.equal(problems, [])
})

test.run()
