/**
 * Backups of the embedded database: one gzipped tar (backup-archive.ts) holding the PGlite data dir
 * as PGlite dumps it (`pglite.tar`), the data dir's key files (`secret.key` decrypts the stored
 * secrets: without it they are unreadable; `worker.key` is what coordinators present) and a
 * `manifest.json`. Restore writes them into a new, empty data dir.
 */
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { ensurePrivateDir } from '../private-dir.ts'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { conflict, unprocessable } from '../errors.ts'
import { BUILD } from '../version.ts'
import { readArchive, writeArchive, type ArchiveEntry } from './backup-archive.ts'

/** The key files of a data dir that travel with its database. */
export const KEY_FILES = ['secret.key', 'worker.key'] as const
const DATABASE_FILE = 'pglite.tar'
const FORMAT = 'terarchitect-backup-1'

export interface BackupManifest {
  format: typeof FORMAT
  created_at: string
  build: string
  /** The key files in the archive; a key configured in the environment is not among them. */
  key_files: string[]
}

/** The archive of a data dir whose database is dumped by `dumpDataDir` (the running PGlite). */
export async function createBackup(dataDir: string, dumpDataDir: () => Promise<Blob>): Promise<Buffer> {
  const database = Buffer.from(await (await dumpDataDir()).arrayBuffer())
  const keys = KEY_FILES.filter((name) => existsSync(join(dataDir, name)))
  const manifest: BackupManifest = { format: FORMAT, created_at: new Date().toISOString(), build: BUILD.id, key_files: keys }
  const entries: ArchiveEntry[] = [
    { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), mode: 0o644 },
    ...keys.map((name) => ({ name, data: readFileSync(join(dataDir, name)), mode: 0o600 })),
    { name: DATABASE_FILE, data: database, mode: 0o600 },
  ]
  return writeArchive(entries)
}

/**
 * Writes the backup into `dataDir`, which must be missing or empty (409 otherwise: a restore never
 * mixes with existing data). The database is unpacked by PGlite itself and opened once, so a
 * restore that reports success opens.
 */
export async function restoreBackup(archive: Buffer, dataDir: string): Promise<BackupManifest> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw conflict(`the data directory ${dataDir} is not empty: restore into a new directory (--data-dir) or empty it first`)
  }
  const files = readArchive(archive)
  const manifestText = files.get('manifest.json')?.toString('utf8')
  const manifest = manifestText ? (JSON.parse(manifestText) as BackupManifest) : undefined
  const database = files.get(DATABASE_FILE)
  if (manifest?.format !== FORMAT || !database) throw unprocessable(`not a Terarchitect backup: no ${FORMAT} manifest or no ${DATABASE_FILE}`)
  // An existing empty directory keeps its mode otherwise: the database and keys land in a private one.
  ensurePrivateDir(dataDir)
  for (const name of manifest.key_files) {
    const data = files.get(name)
    if (!data || !(KEY_FILES as readonly string[]).includes(name)) throw unprocessable(`the backup lists ${name} but does not hold it`)
    writeFileSync(join(dataDir, name), data, { mode: 0o600, flag: 'wx' })
  }
  const pglite = await PGlite.create(join(dataDir, 'pglite'), { extensions: { vector }, loadDataDir: new Blob([new Uint8Array(database)]) })
  try {
    await pglite.query('select count(*) from schema_migrations')
  } finally {
    await pglite.close()
  }
  return manifest
}
