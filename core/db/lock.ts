/**
 * PGlite takes no lock on its data directory, and two processes on one directory corrupt it. The
 * app takes its own: a lock file holding the owner's pid, created exclusively. A lock whose pid is
 * no longer alive is stale and taken over.
 */
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { AppError } from '../errors.ts'

export function acquireDirLock(dir: string): () => void {
  const file = join(dir, 'terarchitect.lock')
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(file, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file)
        } catch {}
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number(readFileSync(file, 'utf8'))
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new AppError('data_dir_locked', 409,
          `the data directory ${dir} is in use by another Terarchitect app (pid ${owner}); stop it or set TERARCHITECT_DATA_DIR to another directory`)
      }
      unlinkSync(file)
    }
  }
  throw new AppError('data_dir_locked', 409, `could not lock the data directory ${dir}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
