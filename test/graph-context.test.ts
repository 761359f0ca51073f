/**
 * The architecture graph in every run (issue 12, acceptance 4). New tickets link the whole graph
 * unless told otherwise; the app suggests the nodes a ticket's text names; the worker context and
 * the prompt the worker CLI really sent (recorded by the fake LLM) carry the linked nodes and edges;
 * a project without a graph says so once. The run is the agent from source with the real Claude
 * Code CLI (scripts/provision-clis.sh), single-shot.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultScript } from './fixtures/fake-llm.ts'
import { cliDirs, runAgentProcess, runAndClaim, startWorld, ticketEvents, type World } from './bench/agent-harness.ts'
import { assertError } from './api-helpers.ts'
import { PROXIED } from './people-helpers.ts'
import { ticketContext } from '../core/agent/prompt.ts'
import type { WorkerContext } from '../core/agent/api.ts'

let world: World
let project: { id: number; key: string }

const GRAPH = {
  nodes: [
    { id: 'api', label: 'Widget API', type: 'service', tech: 'Node.js', description: 'HTTP API serving widgets' },
    { id: 'db', label: 'Widget DB', type: 'database', tech: 'PostgreSQL', description: 'Orders and widgets' },
    { id: 'cache', label: 'Edge Cache', type: 'cache', tech: 'Redis' },
  ],
  edges: [
    { id: 'api-db', source: 'api', target: 'db', label: 'reads and writes', protocol: 'SQL' },
    { id: 'api-cache', source: 'api', target: 'cache', label: 'caches listings', protocol: 'RESP' },
  ],
}

const api = (method: string, path: string, body?: unknown) => world.t.api(method, path, body, world.people)
const tickets = () => `/api/projects/${world.projectId}/tickets`

test.before(async () => {
  world = await startWorld({ script: defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md.' }), settings: { WORKER_MODE: 'claude-code' } })
  project = (await api('GET', `/api/projects/${world.projectId}`)).body
  const graph = (await api('GET', `/api/projects/${world.projectId}/graph`)).body
  const put = await api('PUT', `/api/projects/${world.projectId}/graph`, { version: graph.version, ...GRAPH })
  assert.is(put.status, 200, JSON.stringify(put.body))
})

test.after(async () => {
  await world?.close()
})

test('a new ticket links the whole graph by default; an explicit empty list links nothing', async () => {
  const linked = await api('POST', tickets(), { title: 'Defaults' })
  assert.is(linked.status, 201, JSON.stringify(linked.body))
  assert.equal(linked.body.associated_node_ids, ['api', 'db', 'cache'])
  assert.equal(linked.body.associated_edge_ids, ['api-db', 'api-cache'])
  const none = await api('POST', tickets(), { title: 'Nothing linked', associated_node_ids: [], associated_edge_ids: [] })
  assert.equal(none.body.associated_node_ids, [])
  assert.equal(none.body.associated_edge_ids, [])
  // Nodes named, edges omitted: the edges between the named nodes.
  const two = await api('POST', tickets(), { title: 'Two nodes', associated_node_ids: ['api', 'db'] })
  assert.equal(two.body.associated_edge_ids, ['api-db'])
})

test('suggestions: the nodes the text names, best first; the query is validated; anonymous callers are refused', async () => {
  const suggest = (text: string) => api('GET', `/api/projects/${world.projectId}/graph/suggest?text=${encodeURIComponent(text)}`)
  const res = await suggest('Slow widget listings: cache them in Redis')
  assert.is(res.status, 200, JSON.stringify(res.body))
  assert.is(res.body.nodes[0].id, 'cache', 'tech (Redis) and label words (cache) count most')
  assert.ok(res.body.nodes.some((node: { id: string }) => node.id === 'api'), 'a description word (widgets) counts too')
  const named = await suggest('The Widget DB loses orders')
  assert.is(named.body.nodes[0].id, 'db', 'the whole label in the text ranks first')
  assert.equal((await suggest('nothing relevant here at all')).body.nodes, [])
  assertError(await suggest('x'.repeat(4001)), 400, '/query/text')
  assertError(await api('GET', `/api/projects/${world.projectId}/graph/suggest`), 400, '/query/text')
  assert.is((await world.t.api('GET', `/api/projects/${world.projectId}/graph/suggest?text=cache`, undefined, PROXIED)).status, 401)
})

test('a ticket created with defaults runs with the whole graph in the prompt the worker sent', async () => {
  const claude = cliDirs().get('claude')
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const created = await api('POST', tickets(), { title: 'Add a health file', description: 'Create HEALTH.md saying the service is healthy.' })
  assert.is(created.status, 201)
  const ticket = created.body
  const ref = `${project.key}-${ticket.number}`
  const job = await runAndClaim(world, ticket.id)
  const before = world.llm.requests.length
  const result = await runAgentProcess(world, job, { path: [claude!] })
  assert.is(result.code, 0, `agent exit ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`)

  const calls = world.llm.requests.slice(before).filter((r) => r.request?.model === 'fake-model')
  assert.ok(calls.length > 0, 'the worker called the LLM')
  const prompt = calls.map((r) => r.request!.allText).join('\n')
  for (const text of [
    `# Ticket ${ref}: Add a health file`, '## Architecture', 'Components this ticket touches:',
    '- Widget API (service, Node.js): HTTP API serving widgets', '- Widget DB (database, PostgreSQL)', '- Edge Cache (cache, Redis)',
    'Connections:', '- Widget API → Widget DB: reads and writes (SQL)', '- Widget API → Edge Cache: caches listings (RESP)',
  ]) {
    assert.ok(prompt.includes(text), `the recorded prompt holds ${JSON.stringify(text)}`)
  }
  assert.not.match(prompt, 'no architecture graph')
  const events = await ticketEvents(world, ticket.id)
  const context = events.find((event) => event.step === 'context')
  assert.ok(context, 'a context step')
  assert.match(context!.summary, 'linked components: Widget API, Widget DB, Edge Cache (3 of 3, 2 connections)')
  assert.match(context!.summary, ref)
})

test('a project without a graph says so once, instead of "0 linked components"', () => {
  const context = {
    project: { id: 1, name: 'empty', key: 'EMP', description: '' },
    graph: { nodes: [], edges: [], version: 0 },
    ticket: { id: 9, number: 1, title: 'First', description: 'Start.', priority: 'medium', related_nodes: [], related_edges: [] },
    notes: [],
    neighbouring_tickets: [],
  } as unknown as WorkerContext
  const text = ticketContext(context)
  assert.is(text.split('This project has no architecture graph yet.').length, 2, 'said exactly once')
  assert.not.match(text, 'Components this ticket touches')
  assert.not.match(text, '0 linked')
  const unlinked = ticketContext({ ...context, graph: { nodes: GRAPH.nodes, edges: GRAPH.edges, version: 1 } } as unknown as WorkerContext)
  assert.match(unlinked, 'linked to none of the 3 components')
})

test.run()
