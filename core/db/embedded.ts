/**
 * The embedded database: PGlite (PostgreSQL 18 in WebAssembly) with pgvector, served to postgres.js
 * through pglite-socket on a private unix socket (mode 0600) so the app keeps one SQL code path.
 * Measured limits: statements are serialized; LISTEN/NOTIFY does not cross socket connections (the
 * in-process event bus covers it); the socket's maxConnections must be ≥ the pool size.
 * The client pool is one connection: pglite-socket multiplexes connections onto one backend, and
 * with several, concurrent extended-protocol exchanges were seen clobbering each other's unnamed
 * portal ("portal \"\" does not exist"). One connection loses nothing (execution is serialized
 * anyway) and postgres.js pipelines queries on it.
 * The socket's query queue is guarded (socket-queue-guard.ts): a message that throws inside PGlite
 * closes its own connection instead of stalling every later query.
 */
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { chmodSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { acquireLockFile } from '../lock-file.ts'
import { ensurePrivateDir } from '../private-dir.ts'
import { createSql, type Sql } from './sql.ts'
import { createBackup } from './backup.ts'
import { serveBackups } from './backup-socket.ts'
import { guardSocketQueue } from './socket-queue-guard.ts'
import { createLogger, type Logger } from '../log.ts'

export interface EmbeddedDatabase {
  sql: Sql
  /**
   * A tar of the data dir while the app runs. PGlite runs it between queries (its query mutex), so
   * the files are those of a crash at that instant: committed work is in them (after the checkpoint
   * even in the tables' files), a transaction still open is rolled back when the copy is opened.
   */
  dumpDataDir(): Promise<Blob>
  close(): Promise<void>
}

/** Serves `db` on a private unix socket at `socketPath` (mode 0600), its query queue guarded. */
export async function serveEmbedded(db: PGlite, socketPath: string, log: Logger): Promise<PGLiteSocketServer> {
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 4 })
  guardSocketQueue(server, db, log)
  await server.start()
  try {
    chmodSync(socketPath, 0o600)
  } catch (error) {
    await server.stop().catch(() => {})
    throw error
  }
  return server
}

export async function openEmbedded(dataDir: string, log: Logger = createLogger()): Promise<EmbeddedDatabase> {
  ensurePrivateDir(dataDir)
  const release = acquireLockFile(join(dataDir, 'terarchitect.lock'), (pid) =>
    `the data directory ${dataDir} is in use by another Terarchitect app (pid ${pid}); stop it or set TERARCHITECT_DATA_DIR to another directory`)
  // Unix socket paths are limited to ~107 bytes, so the socket lives in the temp dir, not the data dir.
  const socketPath = join(tmpdir(), `terarchitect-${process.pid}-${randomBytes(4).toString('hex')}.sock`)
  let pglite: PGlite | undefined
  let server: PGLiteSocketServer | undefined
  let sql: Sql | undefined
  let stopBackups: (() => Promise<void>) | undefined
  const dumpDataDir = async () => {
    await sql!`checkpoint`
    return pglite!.dumpDataDir('none')
  }
  try {
    pglite = await PGlite.create(join(dataDir, 'pglite'), { extensions: { vector } })
    server = await serveEmbedded(pglite, socketPath, log)
    sql = createSql({ path: socketPath }, 1)
    stopBackups = await serveBackups(dataDir, () => createBackup(dataDir, dumpDataDir))
  } catch (error) {
    await sql?.end({ timeout: 1 }).catch(() => {})
    await server?.stop().catch(() => {})
    await pglite?.close().catch(() => {})
    release()
    throw error
  }
  return {
    sql,
    dumpDataDir,
    async close() {
      await stopBackups!()
      await sql!.end({ timeout: 5 })
      await server!.stop()
      await pglite!.close()
      rmSync(socketPath, { force: true })
      release()
    },
  }
}
