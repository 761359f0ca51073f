/**
 * The texts the Worker and the Director are given. Built only from the ticket's worker-context
 * (ticket, linked graph nodes and edges, notes, neighbouring tickets) and the repository: settings
 * and tokens are never read here, and callers redact everything again before it is sent.
 */
import type { WorkerContext } from './api.ts'

export const clip = (text: string | null | undefined, max: number) => {
  const value = (text ?? '').trim()
  return value.length > max ? `${value.slice(0, max)}\n… (${value.length - max} more characters left out)` : value
}

/**
 * How a ticket is named to people and forges: `SHOP-12` (project key, per-project number). Never
 * `#12`, which forges would link to their own issue 12. An app without keys gives `ticket 12`.
 */
export function ticketRef(project: { key?: string }, ticket: { id: number; number?: number }): string {
  return project.key && ticket.number ? `${project.key}-${ticket.number}` : `ticket ${ticket.id}`
}

/** The run's context step in words: which part of the graph the ticket links, or that there is none. */
export function linkedSummary(context: WorkerContext): string {
  const { related_nodes: nodes, related_edges: edges } = context.ticket
  if (!context.graph.nodes.length) return 'this project has no architecture graph yet'
  const names = nodes.slice(0, 6).map((node) => node.label || node.id).join(', ')
  const more = nodes.length > 6 ? ` and ${nodes.length - 6} more` : ''
  return nodes.length
    ? `linked components: ${names}${more} (${nodes.length} of ${context.graph.nodes.length}, ${edges.length} connections)`
    : `no linked components (the graph has ${context.graph.nodes.length})`
}

/** The ticket with its architecture context, as Markdown. Shared by the Worker and the Director. */
export function ticketContext(context: WorkerContext): string {
  const { ticket, project } = context
  const lines = [`# Ticket ${ticketRef(project, ticket)}: ${ticket.title}`, `Priority: ${ticket.priority}`, '', clip(ticket.description, 20000) || '(no description)']
  const nodes = ticket.related_nodes.slice(0, 100)
  const edges = ticket.related_edges.slice(0, 200)
  lines.push('', `## Architecture (project ${project.name})`)
  if (project.description) lines.push(clip(project.description, 4000))
  if (!context.graph.nodes.length) lines.push('', 'This project has no architecture graph yet.')
  else if (!nodes.length) lines.push('', `This ticket is linked to none of the ${context.graph.nodes.length} components of the project's architecture graph.`)
  if (nodes.length) {
    lines.push('', 'Components this ticket touches:')
    for (const node of nodes) {
      const kind = [node.type, node.tech].filter(Boolean).join(', ')
      const ports = node.ports?.length ? ` ports ${node.ports.join(', ')}` : ''
      lines.push(`- ${node.label}${kind ? ` (${kind})` : ''}${ports}${node.description ? `: ${clip(node.description, 1000)}` : ''}`)
    }
  }
  if (edges.length) {
    lines.push('', 'Connections:')
    for (const edge of edges) {
      const what = [edge.label, edge.protocol ? `(${edge.protocol})` : ''].filter(Boolean).join(' ')
      lines.push(`- ${edge.source_label} → ${edge.target_label}${what ? `: ${what}` : ''}`)
    }
  }
  const memories = context.memories ?? []
  if (memories.length) lines.push('', '## Project memory (related past work; may be outdated)')
  for (const memory of memories) lines.push('', `### ${memory.title || memory.kind}`, clip(memory.content, 2000))
  let noteBudget = 20000
  const notes = context.notes.filter((note) => note.content.trim() || note.title.trim())
  if (notes.length) lines.push('', '## Notes')
  for (const note of notes) {
    if (noteBudget <= 0) break
    const content = clip(note.content, Math.min(noteBudget, 8000))
    noteBudget -= content.length
    lines.push('', `### ${note.title}`, content)
  }
  const others = context.neighbouring_tickets.slice(0, 15)
  if (others.length) {
    lines.push('', '## Other tickets of the project (context only, not part of this task)')
    for (const other of others) lines.push(`- ${ticketRef(project, other)} [${other.column_id}] ${other.title}`)
  }
  return lines.join('\n')
}

const RULES = [
  'Make the change directly in the files of this repository.',
  'Keep it focused on the task; follow the conventions already in the code.',
  'Do not commit, push, switch branches or open pull requests: that is done for you afterwards.',
  'Do not print or write credentials, tokens or keys anywhere.',
]

export interface WorkspaceFacts {
  cwd: string
  branch: string
  base: string
  testCommand?: string | null
}

function rules(facts: WorkspaceFacts): string {
  const list = [...RULES]
  if (facts.testCommand) list.push(`The project's tests run with \`${facts.testCommand}\`; make them pass.`)
  list.push('End with a short summary of what you changed.')
  return list.map((rule) => `- ${rule}`).join('\n')
}

/** Single-shot mode (and the Director's fallback): the whole job in one prompt. */
export function ticketPrompt(context: WorkerContext, facts: WorkspaceFacts): string {
  return [
    `Working directory: ${facts.cwd} (a git repository, branch ${facts.branch}, based on ${facts.base}).`,
    'Implement the ticket below.',
    '',
    ticketContext(context),
    '',
    '## How to work',
    rules(facts),
  ].join('\n')
}

/** Review jobs: the comment to address, with the ticket for context. */
export function reviewPrompt(context: WorkerContext, facts: WorkspaceFacts, review: { prNumber: number; prTitle: string; comment: string }): string {
  return [
    `Working directory: ${facts.cwd} (a git repository, branch ${facts.branch} of pull request #${review.prNumber} "${review.prTitle}").`,
    'A reviewer left this comment on the pull request. Address it with changes in this repository:',
    '',
    clip(review.comment, 20000).split('\n').map((line) => `> ${line}`).join('\n'),
    '',
    ...pullRequestTail(context, facts),
  ].join('\n')
}

/** What follows a task on a pull request's branch (review, CI fix): the ticket it implements and the rules. */
export function pullRequestTail(context: WorkerContext, facts: WorkspaceFacts): string[] {
  return ['The pull request implements this ticket (for context):', '', ticketContext(context), '', '## How to work', rules(facts)]
}

/** A Director instruction wrapped with what every worker turn must know. */
export function turnPrompt(instructions: string, facts: WorkspaceFacts, first: { task: string } | undefined): string {
  const parts = [`Working directory: ${facts.cwd} (branch ${facts.branch}).`, '', instructions.trim()]
  if (first) parts.push('', '## The task', first.task)
  parts.push('', '## How to work', rules(facts))
  return parts.join('\n')
}

export const DIRECTOR_SYSTEM = [
  'You are the Director of an autonomous coding job. A Worker (a coding CLI with file and shell tools)',
  'changes a git repository; you plan its work, instruct it one turn at a time, and judge each turn',
  'from the real git diff and test output you are shown, not from what the Worker says about itself.',
  'Instructions you write go to the Worker verbatim: be concrete (files, functions, behaviour, tests).',
  'Always answer with one JSON object and nothing else.',
].join(' ')

export function planRequest(task: string): string {
  return [
    task,
    '',
    'Plan the work. Answer with JSON:',
    '{"plan": "<a short plan>", "prompt": "<instructions for the Worker\'s first turn>"}',
  ].join('\n')
}

export interface TurnReport {
  turn: number
  failure?: string
  workerMessage: string
  denied: string[]
  diff: { stat: string; diff: string; truncated: boolean; empty: boolean }
  base: string
  tests?: { command: string; exitCode: number | null; output: string; timedOut: boolean }
  budgetLeft: string
}

export function assessRequest(report: TurnReport): string {
  const lines = [
    `## Worker turn ${report.turn}`,
    report.failure ? `The turn FAILED: ${report.failure}` : 'The turn ended normally.',
    '',
    "The Worker's final message (its own claim, verify it against the diff):",
    clip(report.workerMessage, 4000) || '(none)',
  ]
  if (report.denied.length) lines.push('', `Denied tool calls: ${report.denied.join(', ')}`)
  lines.push('', `## git diff against ${report.base} (everything changed so far)`)
  if (report.diff.empty) lines.push('(no changes at all)')
  else lines.push(report.diff.stat, '', '```diff', report.diff.diff, report.diff.truncated ? '… (diff truncated)' : '', '```')
  if (report.tests) {
    const outcome = report.tests.timedOut ? 'timed out' : `exit ${report.tests.exitCode}`
    lines.push('', `## Test command \`${report.tests.command}\`: ${outcome}`, '```', report.tests.output || '(no output)', '```')
  } else {
    lines.push('', '(the project has no test command)')
  }
  lines.push(
    '',
    `Budget left: ${report.budgetLeft}.`,
    'Is the ticket fully done? Answer with JSON:',
    '{"complete": true|false, "next_prompt": "<instructions for the next Worker turn, when not complete>",',
    ' "summary": "<what the change does, for the pull request description>"}',
  )
  return lines.join('\n')
}
