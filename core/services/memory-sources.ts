/**
 * What project memory learns by itself: the project description, each finished ticket (its summary
 * once it reaches the in_review or done column), the outcome of each reviewed PR (merged or
 * closed, with its review comments) and notes. Each source is one document with a stable `ref`,
 * replaced when the source changes and left alone when it did not (no needless re-embedding).
 *
 * Driven by the live-update feed; at start a full sync catches up on changes made while the app
 * was down, and every minute documents stored without an embedding (service down, model changed)
 * are embedded. The loop never throws: failures are logged and retried on the next tick.
 */
import type { AppContext } from '../context.ts'
import type { Feed, FeedRow } from './feed.ts'
import { getBoard } from './board.ts'
import { backfillEmbeddings, deleteMemory, indexDocuments, type MemoryDocInput } from './memory-store.ts'

const BACKFILL_INTERVAL_MS = 60000
/** Batches of 64 per backfill tick, at most this many batches (the rest waits for the next tick). */
const BACKFILL_BATCHES = 20

/** Stores the document unless the stored one with the same ref already says the same. */
async function upsertSource(ctx: AppContext, projectId: number, doc: MemoryDocInput & { kind: string; ref: string }): Promise<void> {
  const [current] = await ctx.sql`
    select title, content from memory where project_id = ${projectId} and kind = ${doc.kind} and ref = ${doc.ref}`
  if (current && current.title === (doc.title ?? '') && current.content === doc.content) return
  if (!doc.content.trim()) {
    if (current) await deleteMemory(ctx, projectId, { kind: doc.kind, ref: doc.ref })
    return
  }
  await indexDocuments(ctx, projectId, [doc])
}

export async function indexProject(ctx: AppContext, projectId: number): Promise<void> {
  const [project] = await ctx.sql`select name, description from projects where id = ${projectId}`
  if (!project) return
  await upsertSource(ctx, projectId, { kind: 'project', ref: 'project', title: project.name as string, content: project.description as string })
}

export async function indexTicket(ctx: AppContext, projectId: number, ticketId: number): Promise<void> {
  const [ticket] = await ctx.sql`select title, description, summary, column_id, pr_url from tickets where id = ${ticketId} and project_id = ${projectId}`
  if (!ticket?.summary) return
  const board = await getBoard(ctx.sql, projectId)
  const role = board.columns.find((column) => column.id === ticket.column_id)?.role
  if (role !== 'in_review' && role !== 'done') return
  const content = [`Asked: ${ticket.description || '(no description)'}`, `Done: ${ticket.summary}`, ticket.pr_url ? `Pull request: ${ticket.pr_url}` : '']
    .filter(Boolean)
    .join('\n\n')
  await upsertSource(ctx, projectId, { kind: 'ticket', ref: `ticket:${ticketId}`, title: ticket.title as string, content })
}

export async function indexNote(ctx: AppContext, projectId: number, noteId: number): Promise<void> {
  const [note] = await ctx.sql`select title, content from notes where id = ${noteId} and project_id = ${projectId}`
  if (!note) return
  await upsertSource(ctx, projectId, { kind: 'note', ref: `note:${noteId}`, title: note.title as string, content: note.content as string })
}

/** A merged or closed PR: what reviewers asked and what became of it. */
export async function indexReviewOutcome(ctx: AppContext, prId: number): Promise<void> {
  const [pr] = await ctx.sql`
    select p.project_id, p.number, p.repo, p.title, p.state, p.approved, t.title as ticket_title
    from prs p join tickets t on t.id = p.ticket_id where p.id = ${prId} and p.state <> 'open'`
  if (!pr) return
  const comments = await ctx.sql`
    select author, body, addressed_at, failed_at, error from pr_review_comments
    where pr_id = ${prId} and ignored_reason is null order by created_at, github_id limit 50`
  const lines = comments.map((c) => {
    const outcome = c.addressed_at ? 'addressed' : c.failed_at ? `not addressed (${c.error ?? 'failed'})` : 'open'
    return `- @${c.author} (${outcome}): ${String(c.body).slice(0, 1000)}`
  })
  const content = [
    `Pull request #${pr.number} of ${pr.repo} for ticket "${pr.ticket_title}" was ${pr.state}${pr.approved ? ' after approval' : ''}.`,
    lines.length ? `Review comments:\n${lines.join('\n')}` : 'No review comments asked for changes.',
  ].join('\n\n')
  await upsertSource(ctx, pr.project_id as number, { kind: 'review', ref: `pr:${prId}`, title: `Review of ${pr.title ?? `#${pr.number}`}`, content })
}

/** Every source of every project (at start). */
export async function syncAllSources(ctx: AppContext): Promise<void> {
  for (const project of await ctx.sql`select id from projects order by id`) {
    const projectId = project.id as number
    await indexProject(ctx, projectId)
    for (const t of await ctx.sql`select id from tickets where project_id = ${projectId} and summary is not null`) await indexTicket(ctx, projectId, t.id as number)
    for (const n of await ctx.sql`select id from notes where project_id = ${projectId}`) await indexNote(ctx, projectId, n.id as number)
    for (const p of await ctx.sql`select id from prs where project_id = ${projectId} and state <> 'open'`) await indexReviewOutcome(ctx, p.id as number)
  }
}

/** The feed rows that change a source, as indexing tasks. */
function tasksFor(ctx: AppContext, row: FeedRow): (() => Promise<unknown>)[] {
  const payload = row.payload as Record<string, any>
  const projectId = row.project_id
  if (projectId === null) return []
  switch (row.type) {
    case 'project.created':
    case 'project.updated':
      return [() => indexProject(ctx, projectId)]
    case 'ticket.created':
    case 'ticket.updated':
      return payload.ticket?.summary ? [() => indexTicket(ctx, projectId, payload.ticket.id)] : []
    case 'note.created':
    case 'note.updated':
      return payload.note?.id ? [() => indexNote(ctx, projectId, payload.note.id)] : []
    case 'note.deleted':
      return [() => deleteMemory(ctx, projectId, { kind: 'note', ref: `note:${payload.note_id}` })]
    case 'ticket.deleted':
      return [() => deleteMemory(ctx, projectId, { kind: 'ticket', ref: `ticket:${payload.ticket_id}` })]
    case 'pr.updated':
      return payload.pr && payload.pr.state !== 'open' && payload.from_state === 'open' ? [() => indexReviewOutcome(ctx, payload.pr.id)] : []
    default:
      return []
  }
}

export interface MemoryIndexer {
  stop(): Promise<void>
}

export function startMemoryIndexer(ctx: AppContext, feed: Feed): MemoryIndexer {
  let stopped = false
  let chain: Promise<void> = Promise.resolve()
  const enqueue = (task: () => Promise<unknown>, what: string) => {
    chain = chain.then(async () => {
      if (stopped) return
      try {
        await task()
      } catch (error) {
        if (!stopped) ctx.log.warn(`memory: ${what} failed; retried at the next sync`, { error })
      }
    })
  }
  const unsubscribe = feed.subscribe((rows) => {
    for (const row of rows) for (const task of tasksFor(ctx, row)) enqueue(task, `indexing after ${row.type}`)
  })
  enqueue(() => syncAllSources(ctx), 'start-up sync')
  const backfill = async () => {
    for (let i = 0; i < BACKFILL_BATCHES && !stopped; i++) if ((await backfillEmbeddings(ctx)) === 0) break
  }
  const timer = setInterval(() => enqueue(backfill, 'embedding backfill'), BACKFILL_INTERVAL_MS)
  timer.unref()
  return {
    async stop() {
      stopped = true
      unsubscribe()
      clearInterval(timer)
      await chain
    },
  }
}
