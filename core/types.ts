/**
 * The domain's shapes as TypeBox schemas: one source for validation, TypeScript types and the
 * wire format. Field names follow the runbook's wire names (`column_id`, `associated_node_ids`, …).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { FixTarget, ReasonKind } from './services/job-reason.ts'

/** Largest value of an int4 column: ids, versions, PR numbers and exit codes are bounded by it, so an
 * oversized number is a 400 here rather than an out-of-range error (500) in the database. */
export const INT4_MAX = 2147483647
export const Id = Type.Integer({ minimum: 1, maximum: INT4_MAX, description: 'numeric id' })
/** A position in a bigint-keyed stream (`?after=`, Last-Event-ID). */
export const Cursor = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
const Text = (max: number, extra: object = {}) => Type.String({ maxLength: max, ...extra })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const ExecutionMode = Type.Union([Type.Literal('docker'), Type.Literal('local')])
export const Priority = Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')])
export const ColumnRole = Type.Union([
  Type.Literal('backlog'), Type.Literal('in_progress'), Type.Literal('in_review'), Type.Literal('done'), Type.Literal('custom'),
])
export const JobKind = Type.Union([Type.Literal('ticket'), Type.Literal('review'), Type.Literal('ci_fix')])
export const JobStatus = Type.Union([
  Type.Literal('pending'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled'),
])
export type ExecutionMode = Static<typeof ExecutionMode>
export type Priority = Static<typeof Priority>
export type ColumnRole = Static<typeof ColumnRole>
export type JobKind = Static<typeof JobKind>
export type JobStatus = Static<typeof JobStatus>

// ---- projects -------------------------------------------------------------------------------

const ProjectFields = {
  name: Text(200, { minLength: 1 }),
  /** Shown before ticket numbers (`SHOP-12`); derived from the name when not given. */
  key: Type.String({ minLength: 2, maxLength: 6, pattern: '^[A-Z]+$' }),
  description: Text(20000),
  repo_url: Nullable(Text(2000)),
  /** Alias of repo_url accepted on input (the runbook's name). */
  github_url: Nullable(Text(2000)),
  default_branch: Nullable(Text(200, { pattern: '^[^\\s~^:?*\\[\\\\]*$' })),
  execution_mode: ExecutionMode,
  project_path: Nullable(Text(4000)),
  worker_mode: Nullable(Text(50)),
  setup_command: Nullable(Text(4000)),
  test_command: Nullable(Text(4000)),
}
export const ProjectCreate = Type.Object(
  { ...Type.Partial(Type.Object(ProjectFields)).properties, name: ProjectFields.name },
  { additionalProperties: false },
)
export const ProjectPatch = Type.Partial(Type.Object(ProjectFields), { additionalProperties: false, minProperties: 1 })
export type ProjectCreate = Static<typeof ProjectCreate>
export type ProjectPatch = Static<typeof ProjectPatch>

export interface Project {
  id: number
  name: string
  key: string
  description: string
  repo_url: string | null
  default_branch: string | null
  execution_mode: ExecutionMode
  project_path: string | null
  worker_mode: string | null
  setup_command: string | null
  test_command: string | null
  created_at: string
  updated_at: string
}

// ---- graph ----------------------------------------------------------------------------------

const GraphId = Text(100, { minLength: 1 })
export const GraphNode = Type.Object(
  {
    id: GraphId,
    type: Type.Optional(Text(50)),
    label: Text(200),
    description: Type.Optional(Text(5000)),
    tech: Type.Optional(Text(200)),
    ports: Type.Optional(Type.Array(Type.Union([Type.Integer(), Text(100)]), { maxItems: 50 })),
    x: Type.Optional(Type.Number()),
    y: Type.Optional(Type.Number()),
  },
  { additionalProperties: true },
)
export const GraphEdge = Type.Object(
  {
    id: GraphId,
    source: GraphId,
    target: GraphId,
    label: Type.Optional(Text(200)),
    protocol: Type.Optional(Text(100)),
  },
  { additionalProperties: true },
)
export const GraphPut = Type.Object(
  {
    nodes: Type.Array(GraphNode, { maxItems: 2000 }),
    edges: Type.Array(GraphEdge, { maxItems: 5000 }),
    /** The version this edit was based on; a stale one is refused with 409. */
    version: Type.Integer({ minimum: 0, maximum: INT4_MAX }),
  },
  { additionalProperties: false },
)
export type GraphNode = Static<typeof GraphNode>
export type GraphEdge = Static<typeof GraphEdge>
export type GraphPut = Static<typeof GraphPut>
export interface Graph {
  nodes: GraphNode[]
  edges: GraphEdge[]
  version: number
}

// ---- board ----------------------------------------------------------------------------------

export const Column = Type.Object(
  {
    id: Text(60, { minLength: 1, pattern: '^[A-Za-z0-9_-]+$' }),
    title: Text(100, { minLength: 1 }),
    order: Type.Integer({ minimum: 0, maximum: 1000 }),
    role: ColumnRole,
  },
  { additionalProperties: false },
)
export const BoardPut = Type.Object(
  {
    columns: Type.Array(Column, { minItems: 1, maxItems: 50 }),
    version: Type.Optional(Type.Integer({ minimum: 0, maximum: INT4_MAX })),
  },
  { additionalProperties: false },
)
export type Column = Static<typeof Column>
export type BoardPut = Static<typeof BoardPut>
export interface Board {
  columns: Column[]
  version: number
}

/** The board a new project starts with; behaviour keys off `role`, so users may rename these. */
export const DEFAULT_COLUMNS: Column[] = [
  { id: 'backlog', title: 'Backlog', order: 0, role: 'backlog' },
  { id: 'in_progress', title: 'In Progress', order: 1, role: 'in_progress' },
  { id: 'in_review', title: 'In Review', order: 2, role: 'in_review' },
  { id: 'done', title: 'Done', order: 3, role: 'done' },
]

// ---- tickets and notes ----------------------------------------------------------------------

/** `["*"]` links the whole graph. */
const LinkedIds = Type.Array(GraphId, { maxItems: 500 })

const TicketFields = {
  title: Text(300, { minLength: 1 }),
  description: Text(50000),
  column_id: Column.properties.id,
  position: Type.Integer({ minimum: 0, maximum: 100000 }),
  priority: Priority,
  associated_node_ids: LinkedIds,
  associated_edge_ids: LinkedIds,
}
export const TicketCreate = Type.Object(
  { ...Type.Partial(Type.Object(TicketFields)).properties, title: TicketFields.title },
  { additionalProperties: false },
)
export const TicketPatch = Type.Partial(Type.Object(TicketFields), { additionalProperties: false, minProperties: 1 })
export type TicketCreate = Static<typeof TicketCreate>
export type TicketPatch = Static<typeof TicketPatch>
export interface Ticket {
  id: number
  /** Per project, shown as `<project key>-<number>`; the id stays the API's and the branch's. */
  number: number
  /** The project's key, on tickets as the API shows them (`SHOP` of `SHOP-12`). */
  project_key?: string
  project_id: number
  title: string
  description: string
  column_id: string
  position: number
  priority: Priority
  associated_node_ids: string[]
  associated_edge_ids: string[]
  pr_url: string | null
  pr_number: number | null
  summary: string | null
  created_at: string
  updated_at: string
  /** Tickets this one waits for (services/ticket-dependencies.ts); on every ticket read. */
  blocked_by?: BlockerRef[]
  /** Ids of the tickets this one blocks. */
  blocks?: number[]
  /** In In Progress, waiting for a blocker to be Done: no job exists yet. */
  waiting?: boolean
  /** What happened to its blockers while it waited ("WIDG-1 was deleted"). */
  waiting_notes?: string[]
  /** The forge issue it was imported from (services/intake/); null for a ticket made in the app. */
  issue?: TicketIssue | null
}
/** A ticket's forge issue: where it is, its state, who imported it, the last edit not applied. */
export interface TicketIssue {
  number: number
  url: string | null
  repo: string
  state: 'open' | 'closed'
  imported_by: string
  ignored_edit: { by: string | null; at: string } | null
}
export interface BlockerRef {
  id: number
  number: number
  title: string
  column_id: string
  /** In the done column. */
  done: boolean
  /** Its latest job's status, null when it never ran. */
  job_status: JobStatus | null
}
export const TicketBlockers = Type.Object({ blocked_by: Type.Array(Id, { maxItems: 50 }) }, { additionalProperties: false })
export type TicketBlockers = Static<typeof TicketBlockers>

const NoteFields = {
  title: Text(300, { minLength: 1 }),
  content: Text(100000),
  associated_node_ids: LinkedIds,
  associated_edge_ids: LinkedIds,
}
export const NoteCreate = Type.Object(
  { ...Type.Partial(Type.Object(NoteFields)).properties, title: NoteFields.title },
  { additionalProperties: false },
)
export const NotePatch = Type.Partial(Type.Object(NoteFields), { additionalProperties: false, minProperties: 1 })
export type NoteCreate = Static<typeof NoteCreate>
export type NotePatch = Static<typeof NotePatch>
export interface Note {
  id: number
  project_id: number
  title: string
  content: string
  associated_node_ids: string[]
  associated_edge_ids: string[]
  created_at: string
  updated_at: string
}

// ---- jobs and their events ------------------------------------------------------------------

export const Usage = Type.Object(
  {
    input_tokens: Type.Optional(Type.Integer({ minimum: 0 })),
    output_tokens: Type.Optional(Type.Integer({ minimum: 0 })),
    cost_usd: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
)
export type Usage = Static<typeof Usage>

/** Tokens and calls a job made through the LLM relay, all purposes together (core/services/llm-relay-usage.ts). */
export interface RelayUsage {
  input_tokens: number
  output_tokens: number
  calls: number
}

export interface Job {
  id: number
  project_id: number
  ticket_id: number | null
  kind: JobKind
  status: JobStatus
  attempt: number
  max_attempts: number
  claimed_by: string | null
  lease_expires_at: string | null
  cancel_requested: boolean
  created_at: string
  started_at: string | null
  finished_at: string | null
  exit_code: number | null
  error: string | null
  output_tail: string | null
  executor: string | null
  /** Set when a docker-mode job ran on the coordinator's host instead (executor `local`): why the container could not start. */
  fallback_reason: string | null
  usage: Usage | null
  /** The jobs API: what the job spent through the LLM relay, counted by the app (null: no relayed call). */
  relay_usage?: RelayUsage | null
  pr_number: number | null
  comment_body: string | null
  github_comment_id: number | null
  /** Who started the job: a person's login, `local`, `admin-token`, or `app`. */
  started_by: string | null
  started_by_user_id: number | null
  /** Why it ended failed or cancelled (core/services/job-reason.ts); null otherwise. */
  reason_kind: ReasonKind | null
  reason: string | null
  reason_event_id: number | null
  reason_fix: FixTarget | null
  /** People's job lists: the ticket's title and per-project number, and the project's key (`KEY-N`). */
  ticket_title?: string | null
  ticket_number?: number | null
  project_key?: string | null
}

/** A normalized worker event as stored in `job_events.event` (see core/worker.ts). */
export const WorkerEventJson = Type.Object({ kind: Text(40, { minLength: 1 }) }, { additionalProperties: true })

export const JobEventInput = Type.Object(
  {
    step: Text(100, { minLength: 1 }),
    summary: Type.Optional(Text(4000)),
    raw_output: Type.Optional(Text(65536)),
    event: Type.Optional(WorkerEventJson),
  },
  { additionalProperties: false },
)
export type JobEventInput = Static<typeof JobEventInput>

export interface JobEvent {
  seq: number
  job_id: number
  ticket_id: number | null
  created_at: string
  step: string
  summary: string
  raw_output: string | null
  event: Record<string, unknown> | null
}
