/**
 * A migrated, never-used PGlite data dir to copy into a test app's data dir, so each embedded
 * database skips PGlite's initdb and the migrations (together 10–40 s of WebAssembly on a loaded
 * 2-core machine) and opens in a few seconds; the app still checks every migration against sql/
 * as it starts. The template is made by the app's own code (openDatabase) from the current sql/,
 * once per content of sql/ and PGlite version, in the temp dir, where every test process (and the
 * runner, before the files start) finds it. The first start on an empty data dir (initdb, every
 * migration applied) stays covered by the suites that start the built server themselves
 * (server-process, deploy-systemd, backup, migrations).
 */
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openDatabase } from '../core/db/index.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SQL_DIR = join(ROOT, 'sql')

let template: Promise<string> | undefined

/** The template's path (`…/pglite`), made when missing. */
export function pgliteTemplate(): Promise<string> {
  return (template ??= makeTemplate())
}

/** Copies the template into `<dataDir>/pglite` unless the data dir already holds a database. */
export async function seedPglite(dataDir: string): Promise<void> {
  const target = join(dataDir, 'pglite')
  if (existsSync(target)) return
  cpSync(await pgliteTemplate(), target, { recursive: true })
}

async function makeTemplate(): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(join(ROOT, 'node_modules/@electric-sql/pglite/package.json')))
  for (const file of readdirSync(SQL_DIR).sort()) hash.update(file).update(readFileSync(join(SQL_DIR, file)))
  const dir = join(tmpdir(), `terarchitect-pglite-template-${hash.digest('hex').slice(0, 16)}`)
  if (existsSync(dir)) return join(dir, 'pglite')
  // Made aside and renamed into place: processes starting together each make one, the first rename wins.
  const making = mkdtempSync(`${dir}-making-`)
  try {
    const db = await openDatabase({ dataDir: making, poolSize: 1, migrationsDir: SQL_DIR })
    await db.close()
    rmSync(join(making, 'terarchitect.lock'), { force: true })
    renameSync(making, dir)
  } catch (error) {
    rmSync(making, { recursive: true, force: true })
    if (!existsSync(dir)) throw error
  }
  return join(dir, 'pglite')
}
