/**
 * The live-update feed behind SSE. One reader per app process turns bus signals ("feed rows up to
 * id N were committed") into a single query and fans the rows out to every open stream, so the cost
 * of a change does not grow with the number of browsers. Resuming streams replay from the table.
 *
 * Known gap: ids are assigned at insert, so a transaction committing after a later id was already
 * delivered is picked up by the next read only if its id is above the last one read; such rows
 * are rare (concurrent writers) and a reload shows the state anyway.
 */
import type { AppContext } from '../context.ts'

export interface FeedRow {
  id: number
  project_id: number | null
  type: string
  payload: Record<string, unknown>
  created_at: string
}

export interface Feed {
  /** Rows with id > `after` for this project (and global rows), oldest first, at most `limit`. */
  replay(after: number, projectId: number | null, limit: number): Promise<FeedRow[]>
  subscribe(listener: (rows: FeedRow[]) => void): () => void
  latestId(): number
  close(): void
}

export async function createFeed(ctx: AppContext): Promise<Feed> {
  const listeners = new Set<(rows: FeedRow[]) => void>()
  const [{ max }] = (await ctx.sql`select coalesce(max(id), 0)::bigint as max from app_events`) as unknown as [{ max: number }]
  let lastRead = max
  let reading: Promise<void> | null = null
  let again = false

  const read = async () => {
    do {
      again = false
      try {
        const rows = (await ctx.sql`
          select id, project_id, type, payload, created_at from app_events where id > ${lastRead} order by id limit 5000`) as unknown as FeedRow[]
        if (rows.length) {
          lastRead = rows[rows.length - 1]!.id
          for (const listener of listeners) listener(rows)
          if (rows.length === 5000) again = true
        }
      } catch (error) {
        ctx.log.warn('feed read failed; the next change retries', { error })
      }
    } while (again)
    reading = null
  }

  const unsubscribe = ctx.bus.subscribe('feed', (id) => {
    if (id <= lastRead) return
    if (reading) {
      again = true
      return
    }
    reading = read()
  })

  return {
    async replay(after, projectId, limit) {
      return (await ctx.sql`
        select id, project_id, type, payload, created_at from app_events
        where id > ${after} and (${projectId}::int is null or project_id = ${projectId} or project_id is null)
        order by id limit ${limit}`) as unknown as FeedRow[]
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    latestId: () => lastRead,
    close() {
      unsubscribe()
      listeners.clear()
    },
  }
}
