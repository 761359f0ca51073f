/**
 * Is the database there, and is its schema this build's? One bounded query: the versions in
 * `schema_migrations`, compared with the migration files this build ships. Used by the readiness
 * check (/api/health) and by /metrics (`terarchitect_db_up`).
 */
import { readdirSync } from 'node:fs'
import type { Sql } from '../db/index.ts'
import type { Logger } from '../log.ts'

/** How long a health check waits for the database before calling it down. */
export const DB_PROBE_TIMEOUT_MS = 2000

export interface DbProbe {
  database: { ok: boolean; ms: number; reason?: string }
  /** Migrations this build ships that the database has not applied (none when the database is down). */
  migrations: { ok: boolean; missing: string[] }
}

/** The migration versions (`001_init`, …) in a migrations directory. */
export function migrationVersions(dir: string): string[] {
  return readdirSync(dir).filter((name) => /^\d+_.+\.sql$/.test(name)).map((name) => name.replace(/\.sql$/, '')).sort()
}

/**
 * A probe function that answers within `timeoutMs` whatever the database does, and logs once when
 * the database goes down (with the driver's error) and once when it is back.
 */
export function createDbProbe(options: { sql: Sql; expected: string[]; log: Logger; timeoutMs?: number }): () => Promise<DbProbe> {
  const timeoutMs = options.timeoutMs ?? DB_PROBE_TIMEOUT_MS
  let wasDown = false
  return async () => {
    const started = Date.now()
    let outcome: { version: string }[] | Error
    try {
      outcome = await withTimeout(options.sql<{ version: string }[]>`select version from schema_migrations`, timeoutMs)
    } catch (error) {
      outcome = error as Error
    }
    const ms = Date.now() - started
    if (Array.isArray(outcome)) {
      if (wasDown) options.log.info('database reachable again', { ms })
      wasDown = false
      const applied = new Set(outcome.map((row) => row.version))
      const missing = options.expected.filter((version) => !applied.has(version))
      return { database: { ok: true, ms }, migrations: { ok: missing.length === 0, missing } }
    }
    const timedOut = outcome.name === 'TimeoutError'
    const reason = timedOut ? `no answer within ${timeoutMs} ms` : 'unreachable'
    if (!wasDown) options.log.warn('database check failed', { reason, error: timedOut ? undefined : outcome.message })
    wasDown = true
    return { database: { ok: false, ms, reason }, migrations: { ok: false, missing: [] } }
  }
}

/**
 * `promise`, or a rejection named `TimeoutError` after `ms`. A promise left hanging settles later
 * with nobody waiting (its rejection is swallowed).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' })), ms)
  })
  promise.catch(() => {})
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
