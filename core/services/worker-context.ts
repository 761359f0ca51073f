/**
 * Everything an agent needs to work a ticket, in one read: the project, its graph, the ticket with
 * its linked nodes and edges (those it links and every edge between two linked nodes) resolved to labels, notes, neighbouring tickets, and the agent settings
 * (no secret among them: the agent reaches the forge and the LLMs through the app's relays).
 */
import type { AppContext } from '../context.ts'
import { getProject } from './projects.ts'
import { getGraph, linkedParts } from './graph.ts'
import { getTicket } from './tickets.ts'
import { listNotes } from './notes.ts'
import { resolveProjectSettings } from './project-settings-resolve.ts'
import { getBoard } from './board.ts'
import { reviewContext } from './forge-actions.ts'
import { ciFixContext } from './ci-fix/context.ts'
import type { Job } from '../types.ts'
import { redactText } from '../log.ts'

/**
 * Settings an agent may receive. The forge token and API stay in the app (the git relay and the
 * forge actions use them for the agent); so do the LLM URLs and keys (the LLM relay uses them),
 * webhook and embedding secrets.
 */
const AGENT_SETTING_KEYS = [
  'WORKER_MODE', 'WORKER_MODEL', 'WORKER_TIMEOUT_SEC',
  'AGENT_MODEL', 'DIRECTOR_MAX_TURNS', 'DIRECTOR_MAX_MINUTES', 'DIRECTOR_MAX_TOKENS', 'DRAFT_PR_ON_BUDGET',
  'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL',
]

/** The context of `job` (its ticket's, with its project's settings before the app's); a review job's also carries its PR and comment as the forge has them. */
export async function workerContext(ctx: AppContext, projectId: number, ticketId: number, job?: Job) {
  const project = await getProject(ctx.sql, projectId)
  const [graph, ticket, notes, board, settings] = await Promise.all([
    getGraph(ctx.sql, projectId),
    getTicket(ctx.sql, projectId, ticketId),
    listNotes(ctx.sql, projectId),
    getBoard(ctx.sql, projectId),
    resolveProjectSettings(ctx, projectId).then((resolved) => resolved.values),
  ])
  const wholeGraph = ticket.associated_node_ids.includes('*')
  const linked = linkedParts(graph, { nodes: ticket.associated_node_ids, edges: ticket.associated_edge_ids })
  const nodeIds = new Set(linked.nodes.map((node) => node.id))
  const labelOf = new Map(graph.nodes.map((node) => [node.id, node.label]))
  const neighbours = await ctx.sql`
    select id, number, title, column_id, priority from tickets where project_id = ${projectId} and id <> ${ticketId}
    order by updated_at desc limit 20`
  const agentSettings: Record<string, string> = {}
  for (const key of AGENT_SETTING_KEYS) if (settings[key] !== undefined) agentSettings[key] = settings[key]!
  // LLM URLs and keys stay in the app (the LLM relay uses them); the agent learns only whether a Director is configured.
  agentSettings.DIRECTOR_ENABLED = String(Boolean(settings.AGENT_LLM_URL && settings.AGENT_MODEL))
  const context = {
    // The project's effective WORKER_MODE (its setting, else its form's Worker CLI, else the app's) is the one the agent runs.
    project: { ...project, worker_mode: settings.WORKER_MODE ?? project.worker_mode },
    repo_url: project.repo_url,
    graph,
    ticket: {
      ...ticket,
      column: board.columns.find((column) => column.id === ticket.column_id) ?? null,
      related_nodes: linked.nodes,
      related_edges: linked.edges
        .map((edge) => ({ ...edge, source_label: labelOf.get(edge.source) ?? edge.source, target_label: labelOf.get(edge.target) ?? edge.target })),
    },
    notes: notes.filter((note) =>
      wholeGraph || note.associated_node_ids.length === 0 || note.associated_node_ids.some((id) => id === '*' || nodeIds.has(id))),
    neighbouring_tickets: neighbours,
    review: job?.kind === 'review' ? await reviewContext(ctx, job) : null,
    ci_fix: job?.kind === 'ci_fix' ? await ciFixContext(ctx, job) : null,
  }
  // A secret the app holds (the forge token, say) pasted into a ticket, a note or a PR title never
  // reaches the agent, which could not mask it in what it commits: the app masks it here.
  return { ...(JSON.parse(redactText(JSON.stringify(context))) as typeof context), settings: agentSettings }
}
