/**
 * Keeps pglite-socket's query queue running after a message fails.
 *
 * pglite-socket (pinned at 0.2.17 in package.json because this guard reads its internals) runs
 * every connection's messages through one queue. Its `processQueue` sets `processing = true`, and
 * when `db.execProtocolRawStream` throws it rejects that message and returns WITHOUT clearing the
 * flag: every later message, from every connection, including a reconnect's startup, is then queued
 * and never run, and the whole app hangs until restarted.
 *
 * The contract kept here: the connection whose message failed still gets the library's answer (its
 * message is rejected, the socket handler closes that connection, postgres.js fails the query with
 * a closed connection and reconnects); the queue itself is released and resumes the queued
 * messages. Answering the failure with a made-up ErrorResponse + ReadyForQuery instead was
 * rejected: the failed message may be one step of an extended-protocol exchange (Parse/Bind/
 * Execute before Sync), where a ReadyForQuery the client did not ask for desynchronises it, and the
 * backend's state after the throw is unknown, so closing that one connection is the honest answer.
 *
 * Ownership: `processQueue` returns at once when a run is already processing, so only the call
 * that found the queue idle and non-empty owns a run, and while it runs no other run can start. A
 * run that ends normally clears the flag; only the failure return leaves it set. So when an owning
 * run returns with the flag still set and no later run has started (a later run can only start
 * after the flag was cleared), that run failed: the guard clears the flag and starts a new run for
 * whatever is queued (through the wrapped method, so a second failure is handled alike).
 */
import type { PGlite } from '@electric-sql/pglite'
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import type { Logger } from '../log.ts'

/** The parts of pglite-socket's internal QueryQueueManager the guard relies on. */
interface QueueInternals {
  processing: boolean
  queue: unknown[]
  db: PGlite
  processQueue(): Promise<void>
}

/**
 * Installs the guard on a server not yet started. Throws when the queue does not have the shape
 * the guard relies on (a pglite-socket version other than the one pinned), so a changed dependency
 * fails at start instead of hanging later.
 */
export function guardSocketQueue(server: PGLiteSocketServer, db: PGlite, log: Logger): void {
  const queue = (server as unknown as { queryQueue?: Partial<QueueInternals> }).queryQueue
  if (!queue || typeof queue.processQueue !== 'function' || typeof queue.processing !== 'boolean'
    || !Array.isArray(queue.queue) || queue.db !== db) {
    throw new Error('@electric-sql/pglite-socket: its query queue does not have the shape the embedded database relies on '
      + '(queryQueue.processQueue/processing/queue/db); keep the version pinned in package.json or update core/db/socket-queue-guard.ts')
  }
  const internals = queue as QueueInternals
  const processQueue = internals.processQueue
  // The failure's cause, for the log: recorded by a view of the database given to the queue alone
  // (the app's own PGlite instance is left untouched), then rethrown unchanged.
  let lastFailure: unknown
  internals.db = new Proxy(db, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target)
      if (typeof value !== 'function') return value
      if (key !== 'execProtocolRawStream') return value.bind(target)
      return async (...args: unknown[]) => {
        try {
          return await value.apply(target, args)
        } catch (error) {
          lastFailure = error
          throw error
        }
      }
    },
  })
  let runs = 0
  internals.processQueue = async function guardedProcessQueue(this: QueueInternals) {
    const owner = !this.processing && this.queue.length > 0
    const run = owner ? ++runs : runs
    await processQueue.call(this)
    if (!owner || !this.processing || run !== runs) return
    const error = lastFailure
    lastFailure = undefined
    // Never the message itself: it may carry query text and parameters.
    log.error('embedded database: a message failed in the socket query queue; its connection was closed and the queue resumed', {
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      queued: this.queue.length,
    })
    // Resumed on the next turn of the event loop, the flag held till then: by that time the failed
    // connection's handler has closed it and dropped its own queued messages (the rest of an
    // exchange whose first step failed), so the resumed run starts with other connections' work.
    setImmediate(() => {
      this.processing = false
      if (this.queue.length > 0) void this.processQueue()
    })
  }
}
