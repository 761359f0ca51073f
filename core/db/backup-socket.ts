/**
 * How `node dist/server.js backup` reaches the running app: the app that owns an embedded database
 * answers `POST /backup` on a unix socket in a private temp dir (mode 0700, so only the data dir's
 * owner and root can connect) and writes the socket's path to `<data dir>/backup.socket`. Who can
 * read the data dir can copy it anyway, so file permissions are the access rule; no token, no TCP
 * port. The socket is not in the data dir because unix socket paths are limited to ~107 bytes.
 */
import { createServer, request } from 'node:http'
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../log.ts'

export const BACKUP_SOCKET_FILE = 'backup.socket'

/** Serves backups made by `backup` until the returned stop function is called. */
export async function serveBackups(dataDir: string, backup: () => Promise<Buffer>, log?: Logger): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'terarchitect-backup-'))
  const socketPath = join(dir, 'backup.sock')
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/backup') {
      res.writeHead(404).end()
      return
    }
    backup().then(
      (archive) => res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(archive.length), 'x-data-dir': encodeURIComponent(realpathSync(dataDir)) }).end(archive),
      (error: Error) => {
        log?.error('backup failed', { error })
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`backup failed: ${error.message}`)
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => resolve())
  })
  writeFileSync(join(dataDir, BACKUP_SOCKET_FILE), socketPath + '\n', { mode: 0o600 })
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    rmSync(join(dataDir, BACKUP_SOCKET_FILE), { force: true })
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The running app's backup, or undefined when no app serves this data dir. */
export async function requestBackup(dataDir: string): Promise<Buffer | undefined> {
  let socketPath: string
  try {
    socketPath = readFileSync(join(dataDir, BACKUP_SOCKET_FILE), 'utf8').trim()
  } catch {
    return undefined
  }
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path: '/backup' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        // A pointer copied with the data dir (cp -a while the app ran) leads to the original's app.
        if (res.statusCode === 200 && res.headers['x-data-dir'] !== encodeURIComponent(realpathSync(dataDir))) resolve(undefined)
        else if (res.statusCode === 200) resolve(body)
        else reject(new Error(`the running app answered ${res.statusCode}: ${body.toString('utf8')}`))
      })
    })
    // A socket left by an app that died: nobody answers, the data dir is free.
    req.on('error', (error: NodeJS.ErrnoException) => (['ENOENT', 'ECONNREFUSED'].includes(error.code ?? '') ? resolve(undefined) : reject(error)))
    req.end()
  })
}
