/**
 * `node dist/server.js backup <file>` and `node dist/server.js restore <file> [--data-dir DIR]`,
 * for the embedded database, with the app's environment (TERARCHITECT_DATA_DIR). A backup asks the
 * app running on the data dir (backup-socket.ts) or, when none runs, opens the data dir itself
 * (taking its lock). PostgreSQL is backed up with its own tools (docs/RUNBOOK.md).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { AppConfig } from '../config.ts'
import { AppError, badRequest } from '../errors.ts'
import { createBackup, restoreBackup, type BackupManifest } from './backup.ts'
import { readArchive } from './backup-archive.ts'
import { requestBackup } from './backup-socket.ts'
import { openEmbedded } from './embedded.ts'

export const DATA_COMMANDS = ['backup', 'restore']

const USAGE = 'usage: node dist/server.js backup <file> | restore <file> [--data-dir DIR]'

/** Runs a data command; returns the lines to print. Throws AppError for what the operator must fix. */
export async function runDataCommand(args: string[], config: AppConfig): Promise<string[]> {
  const [command, file, ...rest] = args
  if (!file || file.startsWith('--')) throw badRequest(USAGE)
  if (command === 'backup' && rest.length === 0) return backup(resolve(file), config)
  if (command === 'restore' && (rest.length === 0 || (rest.length === 2 && rest[0] === '--data-dir'))) {
    return restore(resolve(file), resolve(rest[1] ?? config.TERARCHITECT_DATA_DIR))
  }
  throw badRequest(USAGE)
}

async function backup(file: string, config: AppConfig): Promise<string[]> {
  if (config.DATABASE_URL) {
    throw new AppError('not_embedded', 400, 'DATABASE_URL is set: back up PostgreSQL with pg_dump, and keep TERARCHITECT_SECRET_KEY with it (docs/RUNBOOK.md, "Backups and restore")')
  }
  const dataDir = config.TERARCHITECT_DATA_DIR
  let archive = await requestBackup(dataDir)
  const online = archive !== undefined
  if (!archive) {
    if (!existsSync(resolve(dataDir, 'pglite'))) throw badRequest(`no embedded database in ${dataDir} (TERARCHITECT_DATA_DIR)`)
    const db = await openEmbedded(dataDir)
    try {
      archive = await createBackup(dataDir, db.dumpDataDir)
    } finally {
      await db.close()
    }
  }
  // The archive holds the secret key: private from the first byte, and never half-written.
  // A fresh name opened exclusively: a file or link planted at a guessable name is never written through.
  const pending = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  writeFileSync(pending, archive, { mode: 0o600, flag: 'wx' })
  renameSync(pending, file)
  const manifest = JSON.parse(readArchive(archive).get('manifest.json')!.toString('utf8')) as BackupManifest
  const lines = [
    `backup of ${dataDir} written to ${file} (${archive.length} bytes, ${online ? 'from the running app' : 'the app was not running'})`,
    `it holds the database${manifest.key_files.map((name) => ` and ${name}`).join('')}: store it as carefully as the secret key`,
  ]
  if (config.TERARCHITECT_SECRET_KEY) lines.push('TERARCHITECT_SECRET_KEY is set, so the backup holds no secret key: keep that value with the backup, or the stored secrets cannot be read after a restore')
  return lines
}

async function restore(file: string, dataDir: string): Promise<string[]> {
  if (!existsSync(file)) throw badRequest(`no such backup file: ${file}`)
  const manifest = await restoreBackup(readFileSync(file), dataDir)
  return [
    `restored ${file} (made ${manifest.created_at} by ${manifest.build}) into ${dataDir}: database and ${manifest.key_files.join(', ') || 'no key files'}`,
    `start the app with TERARCHITECT_DATA_DIR=${dataDir}`,
  ]
}
