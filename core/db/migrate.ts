/**
 * Applies the numbered plain-SQL migrations in `dir` (`001_name.sql`, `002_…`) in order, each in its
 * own transaction together with its row in `schema_migrations` (version and the sha256 of the file).
 * A transaction-scoped advisory lock makes app replicas starting together apply each migration once.
 * No down-migrations: a rollback is a restore (docs/RUNBOOK.md, "Upgrades and rollback").
 *
 * Before applying anything the recorded rows are checked against the files, and the start stops
 * (AppError, nothing written) when an applied migration's file changed or when the database has
 * migrations this build does not know (a newer build applied them). Released migrations are never
 * edited (docs/migrations.md).
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AppError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Sql } from './sql.ts'

const MIGRATION_LOCK = 7_210_001

/**
 * Checksums of released texts that were later edited, so databases applied from either text pass.
 * Kept because the edits predate the rule; 007 brings databases made from the older texts in line.
 * - 001_init: the first release lacked the `agent_jobs_pending_fifo` index (added in e6cb422).
 * - 003_accounts: its first commit lacked the `login_failures_at` index (added in b9be553).
 */
const RELEASED_CHECKSUMS: Record<string, string[]> = {
  '001_init': [
    '9806cb43bdd7b9319ee9d3b0c0c8f48d910e1ec7dbfd648ecff19aea6ebda74e',
    '7ccbc334737ba48145044f5e08fe60a6dea581cce902da83a9533e59b154d8e1',
  ],
  '003_accounts': [
    'f215a2da4a7e78b0c473e06f8bd8b2f48164669bdea94022771edcf59091e7fe',
    '95bd590602ba47126a2c60c2e4379195ab6532a087a9aaccef83ad419a01794c',
  ],
}

interface Migration {
  version: string
  file: string
  text: string
  checksum: string
}

/** sha256 of the text with CRLF read as LF, so a checkout with Windows line endings is no edit. */
export function migrationChecksum(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex')
}

export async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((name) => /^\d+_.+\.sql$/.test(name)).sort()
  return Promise.all(files.map(async (file) => {
    const text = await readFile(join(dir, file), 'utf8')
    return { version: file.replace(/\.sql$/, ''), file, text, checksum: migrationChecksum(text) }
  }))
}

/** Checks the applied migrations, applies the pending ones; returns the versions it applied. */
export async function migrate(sql: Sql, dir: string, log?: Logger): Promise<string[]> {
  const migrations = await readMigrations(dir)
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
    await tx`create table if not exists schema_migrations (
      version text primary key, applied_at timestamptz not null default now(), checksum text)`
    await tx`alter table schema_migrations add column if not exists checksum text`
    const rows = await tx<{ version: string; checksum: string | null }[]>`select version, checksum from schema_migrations order by version`
    checkApplied(rows, migrations, dir)
    // Rows from before checksums existed were applied from these files (or a released text above).
    const unrecorded = migrations.filter((m) => rows.some((row) => row.version === m.version && row.checksum === null))
    for (const m of unrecorded) await tx`update schema_migrations set checksum = ${m.checksum} where version = ${m.version}`
    if (unrecorded.length) log?.info(`recorded the checksums of ${unrecorded.length} migrations applied before checksums existed`)
  })
  const applied: string[] = []
  for (const m of migrations) {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
      const [done] = await tx`select 1 from schema_migrations where version = ${m.version}`
      if (done) return
      await tx.unsafe(m.text)
      await tx`insert into schema_migrations (version, checksum) values (${m.version}, ${m.checksum})`
      applied.push(m.version)
      log?.info(`applied ${m.version} (checksum ${m.checksum})`)
    })
  }
  if (!applied.length) log?.info(`schema up to date, ${migrations.length} migrations`)
  return applied
}

function checkApplied(rows: { version: string; checksum: string | null }[], migrations: Migration[], dir: string) {
  const byVersion = new Map(migrations.map((m) => [m.version, m]))
  const unknown = rows.filter((row) => !byVersion.has(row.version)).map((row) => row.version)
  if (unknown.length) {
    throw new AppError('database_newer', 409,
      `this build is older than the database: the database has migrations this build does not know (${unknown.join(', ')}). ` +
      'Run the build that applied them (or a newer one); to go back to this build, restore the backup taken before the upgrade')
  }
  for (const row of rows) {
    const m = byVersion.get(row.version)!
    if (row.checksum === null || row.checksum === m.checksum) continue
    const released = RELEASED_CHECKSUMS[m.version] ?? []
    if (released.includes(row.checksum) && released.includes(m.checksum)) continue
    throw new AppError('migration_changed', 409,
      `migration ${join(dir, m.file)} was changed after it was applied to this database (checksum recorded ${row.checksum}, file ${m.checksum}). ` +
      'Released migrations are never edited: restore the file as released and put the change into a new migration')
  }
}
