/**
 * The in-process event bus, bridged to PostgreSQL LISTEN/NOTIFY when the database is a real
 * PostgreSQL so several app replicas see each other's changes. PGlite's NOTIFY does not cross
 * socket connections, so there the bus is in-process only (one app per data dir anyway).
 *
 * Channels: `jobs` (a job became claimable; payload = project id) and `feed` (app_events rows were
 * committed; payload = highest id). Notifications carry this replica's origin id so a replica
 * ignores its own echo.
 */
import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import type { Database } from './db/index.ts'
import type { Logger } from './log.ts'

export type BusChannel = 'jobs' | 'feed'

export interface Bus {
  publish(channel: BusChannel, payload: number): void
  subscribe(channel: BusChannel, listener: (payload: number) => void): () => void
  close(): Promise<void>
}

const PG_CHANNEL = 'terarchitect'

export async function createBus(db: Database, log: Logger): Promise<Bus> {
  const emitter = new EventEmitter()
  emitter.setMaxListeners(0)
  const origin = randomUUID()
  let unlisten: (() => Promise<void>) | undefined

  if (db.kind === 'postgres') {
    const subscription = await db.sql.listen(PG_CHANNEL, (text) => {
      try {
        const message = JSON.parse(text) as { origin: string; channel: BusChannel; payload: number }
        if (message.origin !== origin) emitter.emit(message.channel, message.payload)
      } catch (error) {
        log.warn('ignored a malformed notification', { error })
      }
    })
    unlisten = () => subscription.unlisten()
  }

  return {
    publish(channel, payload) {
      emitter.emit(channel, payload)
      if (db.kind === 'postgres') {
        db.sql.notify(PG_CHANNEL, JSON.stringify({ origin, channel, payload })).catch((error) => {
          log.warn('notify failed; other replicas will catch up by polling', { error })
        })
      }
    },
    subscribe(channel, listener) {
      emitter.on(channel, listener)
      return () => emitter.off(channel, listener)
    },
    async close() {
      emitter.removeAllListeners()
      await unlisten?.().catch(() => {})
    },
  }
}
