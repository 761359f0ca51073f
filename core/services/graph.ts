/** The architecture graph: one per project, replaced whole with optimistic concurrency. */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import { badRequest, conflict, notFound, type ErrorDetail } from '../errors.ts'
import type { Graph, GraphPut } from '../types.ts'
import type { Sql, TransactionSql } from '../db/index.ts'

export async function getGraph(sql: Sql | TransactionSql, projectId: number): Promise<Graph> {
  const [row] = await sql`select nodes, edges, version from graphs where project_id = ${projectId}`
  if (!row) throw notFound(`project ${projectId}`)
  return row as unknown as Graph
}

/**
 * Replaces the graph when `input.version` is the current version, bumping it; a stale version is
 * a 409 carrying the current version, never a silent overwrite.
 */
export async function putGraph(ctx: AppContext, projectId: number, input: GraphPut): Promise<Graph> {
  checkGraph(input)
  return write(ctx, async ({ tx, emit }) => {
    const [row] = await tx`
      update graphs set nodes = ${tx.json(input.nodes as never)}, edges = ${tx.json(input.edges as never)},
        version = version + 1, updated_at = now()
      where project_id = ${projectId} and version = ${input.version}
      returning nodes, edges, version`
    if (!row) {
      const current = await getGraph(tx, projectId)
      throw conflict(`the graph changed since version ${input.version} (now ${current.version}); reload and reapply`, [
        { path: '/body/version', message: `stale; current version is ${current.version}` },
      ])
    }
    await emit({ project_id: projectId, type: 'graph.updated', payload: { version: row.version } })
    return row as unknown as Graph
  })
}

function checkGraph(input: GraphPut): void {
  const details: ErrorDetail[] = []
  const nodeIds = new Set<string>()
  input.nodes.forEach((node, i) => {
    if (nodeIds.has(node.id)) details.push({ path: `/body/nodes/${i}/id`, message: `duplicate node id "${node.id}"` })
    nodeIds.add(node.id)
  })
  const edgeIds = new Set<string>()
  input.edges.forEach((edge, i) => {
    if (edgeIds.has(edge.id)) details.push({ path: `/body/edges/${i}/id`, message: `duplicate edge id "${edge.id}"` })
    edgeIds.add(edge.id)
    if (!nodeIds.has(edge.source)) details.push({ path: `/body/edges/${i}/source`, message: `no node "${edge.source}"` })
    if (!nodeIds.has(edge.target)) details.push({ path: `/body/edges/${i}/target`, message: `no node "${edge.target}"` })
  })
  if (details.length) throw badRequest(`invalid graph: ${details[0]!.path} ${details[0]!.message}`, details)
}

/** Ticket links (`associated_node_ids`, `associated_edge_ids`; `"*"` is the whole graph). */
export interface Links {
  nodes: string[]
  edges: string[]
}

/**
 * The links a new ticket gets: an omitted node list links every current node, an omitted edge list
 * the edges between the linked nodes; an explicit list (empty included) is kept as sent.
 */
export function defaultLinks(graph: Graph, input: { associated_node_ids?: string[]; associated_edge_ids?: string[] }): Links {
  const nodes = input.associated_node_ids ?? graph.nodes.map((node) => node.id)
  const edges = input.associated_edge_ids ?? (nodes.includes('*') ? ['*'] : edgesBetween(graph, new Set(nodes)).map((edge) => edge.id))
  return { nodes, edges }
}

const edgesBetween = (graph: Graph, nodeIds: Set<string>) =>
  graph.edges.filter((edge) => nodeIds.has(edge.source) && nodeIds.has(edge.target))

/** What a ticket's links name in `graph`: its nodes, and its edges plus every edge between two of its nodes. */
export function linkedParts(graph: Graph, links: Links): { nodes: Graph['nodes']; edges: Graph['edges'] } {
  const whole = links.nodes.includes('*')
  const nodeIds = new Set(whole ? graph.nodes.map((node) => node.id) : links.nodes)
  const edgeIds = new Set(whole || links.edges.includes('*') ? graph.edges.map((edge) => edge.id) : links.edges)
  for (const edge of edgesBetween(graph, nodeIds)) edgeIds.add(edge.id)
  return { nodes: graph.nodes.filter((node) => nodeIds.has(node.id)), edges: graph.edges.filter((edge) => edgeIds.has(edge.id)) }
}

export interface NodeSuggestion {
  id: string
  label: string
  score: number
}

const STOP_WORDS = new Set('the and for with from into that this then than when what which will should must have has are was were not but all any can its our your their add make use new'.split(' '))

/** Lowercase words of 3+ characters, a trailing plural "s" dropped, stop words left out. */
function words(text: string): Set<string> {
  const out = new Set<string>()
  for (const word of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (word.length < 3 || STOP_WORDS.has(word)) continue
    out.add(word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word)
  }
  return out
}

/**
 * The nodes a ticket's text names, best first (at most 8): each word of the text found in a node's
 * label scores 3, in its tech 2, in its description 1; the whole label appearing in the text adds 5.
 */
export function suggestNodes(graph: Graph, text: string): NodeSuggestion[] {
  const asked = words(text)
  const lower = text.toLowerCase()
  const scored = graph.nodes.map((node) => {
    const [label, tech, description] = [words(node.label ?? ''), words(node.tech ?? ''), words(node.description ?? '')]
    let score = 0
    for (const word of asked) score += (label.has(word) ? 3 : 0) + (tech.has(word) ? 2 : 0) + (description.has(word) ? 1 : 0)
    if (node.label && node.label.trim().length >= 3 && lower.includes(node.label.trim().toLowerCase())) score += 5
    return { id: node.id, label: node.label || node.id, score }
  })
  return scored.filter((node) => node.score > 0).sort((a, b) => b.score - a.score || a.label.localeCompare(b.label)).slice(0, 8)
}
