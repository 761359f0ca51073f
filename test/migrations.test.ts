/**
 * Migrations: a database made by the first released schema upgrades to the same schema as a fresh
 * one (`pg_dump --schema-only` compared), applied migrations are logged and checksummed, an edited
 * applied migration and a database newer than the build stop the start (PostgreSQL; the edited
 * migration also through the embedded app's start).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { openDatabase } from '../core/db/index.ts'
import { migrationChecksum } from '../core/db/migrate.ts'
import { resolveAppConfig } from '../core/config.ts'
import { startApp } from '../core/app.ts'
import { createLogger } from '../core/log.ts'
import { ROOT, clusterUrl, stopOwnCluster } from './helpers.ts'
import { PG_BIN, createDatabase } from './postgres.ts'

const SQL_DIR = join(ROOT, 'sql')
const FIRST_RELEASE = join(ROOT, 'test', 'fixtures', 'migrations')
const upToDate = () => `schema up to date, ${readdirSync(SQL_DIR).filter((name) => /^\d+_.+\.sql$/.test(name)).length} migrations`
const temp = mkdtempSync(join(tmpdir(), 'terarchitect-migrations-'))
test.after(() => rmSync(temp, { recursive: true, force: true }))
test.after(stopOwnCluster)

function capture() {
  const lines: string[] = []
  return { lines, log: createLogger('debug', {}, (line) => lines.push(JSON.parse(line).msg)) }
}

async function open(url: string, migrationsDir = SQL_DIR) {
  const { lines, log } = capture()
  const db = await openDatabase({ databaseUrl: url, dataDir: temp, poolSize: 2, migrationsDir, log })
  await db.close()
  return lines
}

/**
 * What the first release (38724a4) did: its schema_migrations (no checksum) and its migrations, as
 * released (test/fixtures/migrations/: that release shipped 001_init only, before an index was added).
 */
async function createFirstRelease(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  await sql`create table schema_migrations (version text primary key, applied_at timestamptz not null default now())`
  for (const version of readdirSync(FIRST_RELEASE).filter((name) => name.endsWith('.sql')).sort().map((name) => name.slice(0, -4))) {
    await sql.begin(async (tx) => {
      await tx.unsafe(readFileSync(join(FIRST_RELEASE, `${version}.sql`), 'utf8'))
      await tx`insert into schema_migrations (version) values (${version})`
    })
  }
  await sql.end()
}

/** The schema as pg_dump 15 prints it, without comments, blank lines and the per-run \restrict key. */
function schemaOf(url: string): string {
  const dump = spawnSync(join(PG_BIN, 'pg_dump'), ['--schema-only', '--no-owner', '--no-privileges', url], { encoding: 'utf8' })
  assert.is(dump.status, 0, dump.stderr)
  return dump.stdout.split('\n').filter((line) => line.trim() && !line.startsWith('--') && !/^\\(un)?restrict /.test(line)).join('\n')
}

test('the first released schema upgrades to exactly the schema of a fresh database', async () => {
  const cluster = await clusterUrl()
  const old = await createDatabase(cluster)
  await createFirstRelease(old)
  const sql = postgres(old, { max: 1, onnotice: () => {} })
  const index = await sql`select indexname from pg_indexes where indexname = 'agent_jobs_pending_fifo'`
  assert.is(index.length, 0, 'the first release lacks the index')
  await sql.end()

  const upgrade = await open(old)
  assert.ok(upgrade.includes('recorded the checksums of 1 migrations applied before checksums existed'), upgrade.join('\n'))
  for (const file of ['002_review_memory', '007_schema_checks']) {
    const checksum = migrationChecksum(readFileSync(join(SQL_DIR, `${file}.sql`), 'utf8'))
    assert.ok(upgrade.includes(`applied ${file} (checksum ${checksum})`), upgrade.join('\n'))
  }
  const fresh = await createDatabase(cluster)
  await open(fresh)
  const upgraded = schemaOf(old)
  assert.match(upgraded, /CREATE INDEX agent_jobs_pending_fifo/)
  assert.fixture(upgraded, schemaOf(fresh))

  const again = await open(old)
  assert.equal(again, [upToDate()])
  const check = postgres(old, { max: 1, onnotice: () => {} })
  const rows = await check<{ version: string; checksum: string }[]>`select version, checksum from schema_migrations order by version`
  await check.end()
  assert.ok(rows.every((row) => /^[0-9a-f]{64}$/.test(row.checksum)), 'every row has its checksum')
})

test('an edited applied migration stops the start, naming the file and what to do', async () => {
  const url = await createDatabase(await clusterUrl())
  await open(url)
  const edited = join(temp, 'edited-pg')
  cpSync(SQL_DIR, edited, { recursive: true })
  const file = join(edited, '002_review_memory.sql')
  const text = readFileSync(file, 'utf8')
  writeFileSync(file, text.replace('-', '='))
  const error = await open(url, edited).then(() => null, (caught: Error & { code?: string }) => caught)
  assert.is(error?.code, 'migration_changed')
  assert.match(error!.message, `migration ${file} was changed after it was applied`)
  assert.match(error!.message, /Released migrations are never edited: restore the file as released and put the change into a new migration/)
  // Nothing was written: the unchanged files still start.
  assert.equal(await open(url), [upToDate()])
})

test('a database with the first commit of 003_accounts (edited before the rule) is accepted', async () => {
  const url = await createDatabase(await clusterUrl())
  await open(url)
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  await sql`update schema_migrations set checksum = 'f215a2da4a7e78b0c473e06f8bd8b2f48164669bdea94022771edcf59091e7fe' where version = '003_accounts'`
  await sql`update schema_migrations set checksum = '0000000000000000000000000000000000000000000000000000000000000000' where version = '004_machine_trust'`
  await sql.end()
  const error = await open(url).then(() => null, (caught: Error) => caught)
  assert.match(error?.message ?? '', /004_machine_trust\.sql was changed/, 'only the unknown checksum is refused')
})

test('a database newer than the build stops the start, naming the migrations it does not know', async () => {
  const url = await createDatabase(await clusterUrl())
  await open(url)
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  await sql`insert into schema_migrations (version, checksum) values ('999_from_the_future', 'abc')`
  await sql.end()
  const error = await open(url).then(() => null, (caught: Error & { code?: string }) => caught)
  assert.is(error?.code, 'database_newer')
  assert.match(error!.message, /this build is older than the database: the database has migrations this build does not know \(999_from_the_future\)/)
  assert.match(error!.message, /restore the backup taken before the upgrade/)
})

test('embedded: the app refuses to start on an edited applied migration and releases the data dir', async () => {
  const dataDir = join(temp, 'embedded')
  const config = resolveAppConfig({ PORT: '0', HOST: '127.0.0.1', TERARCHITECT_DATA_DIR: dataDir, LOG_LEVEL: 'error' })
  const first = capture()
  const app = await startApp({ config, migrationsDir: SQL_DIR, log: first.log })
  await app.close()
  assert.ok(first.lines.some((line) => line.startsWith('applied 001_init (checksum ')), first.lines.join('\n'))
  const edited = join(temp, 'edited-pglite')
  cpSync(SQL_DIR, edited, { recursive: true })
  const file = join(edited, '001_init.sql')
  writeFileSync(file, readFileSync(file, 'utf8').replace('-', '='))
  const error = await startApp({ config, migrationsDir: edited, log: capture().log }).then(() => null, (caught: Error) => caught)
  assert.match(error?.message ?? '', `migration ${file} was changed after it was applied`)
  const again = capture()
  const restarted = await startApp({ config, migrationsDir: SQL_DIR, log: again.log })
  await restarted.close()
  assert.ok(again.lines.some((line) => /^schema up to date, \d+ migrations$/.test(line)), again.lines.join('\n'))
})

test.run()
