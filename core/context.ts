/**
 * What every app service works with, and the one way to write: `write(ctx, fn)` runs `fn` in a
 * transaction, lets it record live-update events in the same transaction, and publishes them on the
 * bus only after the commit, so listeners never see a change that was rolled back.
 */
import type { Database, Sql, TransactionSql } from './db/index.ts'
import type { Bus } from './bus.ts'
import type { AppConfig } from './config.ts'
import type { Logger } from './log.ts'
import type { SecretBox } from './secrets.ts'
import type { ReadCache } from './read-cache.ts'
import type { Forge } from './forge.ts'

export interface AppContext {
  db: Database
  sql: Sql
  bus: Bus
  config: AppConfig
  log: Logger
  secrets: SecretBox
  cache: ReadCache
  /** The forge plugins the entrypoint composed, by kind (`github`, `gitlab`, …). */
  forges: ReadonlyMap<string, Forge>
}

export interface FeedEvent {
  project_id: number | null
  type: string
  payload: Record<string, unknown>
}

export interface WriteScope {
  tx: TransactionSql
  /** Records a live-update event, committed with the transaction. */
  emit(event: FeedEvent): Promise<void>
  /** Wakes claimers after commit (a job became claimable in this project). */
  wakeClaimers(projectId: number): void
}

export async function write<T>(ctx: AppContext, fn: (scope: WriteScope) => Promise<T>): Promise<T> {
  let lastEventId = 0
  const wakes = new Set<number>()
  const touched = new Set<number | null>()
  const result = await ctx.sql.begin(async (tx) => {
    const scope: WriteScope = {
      tx,
      async emit(event) {
        const [row] = await tx`
          insert into app_events (project_id, type, payload)
          values (${event.project_id}, ${event.type}, ${tx.json(event.payload as never)})
          returning id`
        lastEventId = Math.max(lastEventId, row!.id as number)
        if (event.type !== 'log') touched.add(event.project_id)
      },
      wakeClaimers: (projectId) => wakes.add(projectId),
    }
    return fn(scope)
  })
  for (const projectId of touched) ctx.cache.invalidate(projectId)
  if (lastEventId) ctx.bus.publish('feed', lastEventId)
  for (const projectId of wakes) ctx.bus.publish('jobs', projectId)
  return result as T
}
