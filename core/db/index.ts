/**
 * Opens the app's database: PostgreSQL when DATABASE_URL is set, else the embedded PGlite, then
 * applies migrations. The rest of the app only sees `Database`.
 */
import { createSql, type Sql } from './sql.ts'
import { openEmbedded } from './embedded.ts'
import { migrate } from './migrate.ts'
import { unavailable } from '../errors.ts'
import type { Logger } from '../log.ts'

export type { Sql, TransactionSql } from './sql.ts'

export interface Database {
  sql: Sql
  kind: 'postgres' | 'pglite'
  /** The embedded database only: a consistent tar of its data dir, taken while the app runs. */
  dumpDataDir?(): Promise<Blob>
  close(): Promise<void>
}

export interface DatabaseOptions {
  databaseUrl?: string
  dataDir: string
  poolSize: number
  migrationsDir: string
  /** Where applied migrations are reported. */
  log?: Logger
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let db: Database
  if (options.databaseUrl) {
    const sql = createSql({ url: options.databaseUrl }, options.poolSize)
    try {
      await sql`select 1`
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {})
      throw unavailable(`cannot reach PostgreSQL at DATABASE_URL: ${(error as Error).message}`, error)
    }
    db = { sql, kind: 'postgres', close: () => sql.end({ timeout: 5 }) }
  } else {
    const embedded = await openEmbedded(options.dataDir, options.log)
    db = { sql: embedded.sql, kind: 'pglite', dumpDataDir: embedded.dumpDataDir, close: embedded.close }
  }
  try {
    await migrate(db.sql, options.migrationsDir, options.log)
  } catch (error) {
    await db.close().catch(() => {})
    throw error
  }
  return db
}
