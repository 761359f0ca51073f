/**
 * Applies the numbered plain-SQL migrations in `dir` (`001_name.sql`, `002_…`) in order, each in its
 * own transaction together with its row in `schema_migrations`. A transaction-scoped advisory lock
 * makes app replicas starting together apply each migration once. No down-migrations.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Sql } from './sql.ts'

const MIGRATION_LOCK = 7_210_001

export async function migrate(sql: Sql, dir: string): Promise<string[]> {
  await sql`create table if not exists schema_migrations (
    version text primary key, applied_at timestamptz not null default now())`
  const files = (await readdir(dir)).filter((name) => /^\d+_.+\.sql$/.test(name)).sort()
  const applied: string[] = []
  for (const file of files) {
    const version = file.replace(/\.sql$/, '')
    const text = await readFile(join(dir, file), 'utf8')
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
      const [done] = await tx`select 1 from schema_migrations where version = ${version}`
      if (done) return
      await tx.unsafe(text)
      await tx`insert into schema_migrations (version) values (${version})`
      applied.push(version)
    })
  }
  return applied
}
