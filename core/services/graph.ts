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
