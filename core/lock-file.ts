/**
 * A pid lock file: created exclusively, holding its owner's pid. Used where two processes on one
 * directory would corrupt it (PGlite's data dir takes no lock of its own; a coordinator's state dir
 * holds its identity). A lock whose pid is no longer alive is stale and taken over.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { AppError } from './errors.ts'

/**
 * Takes the lock at `file`, or throws AppError `lock_held` with `inUse(pid)` as the message when a
 * live process holds it. Returns the release function (a no-op once another process owns the file).
 * The pid is written to a private file first and linked into place, so the lock never exists
 * empty: a reader that saw an empty file would take a live lock for a stale one.
 */
export function acquireLockFile(file: string, inUse: (pid: number) => string): () => void {
  for (let tries = 0; tries < 3; tries++) {
    const pending = `${file}.${process.pid}.tmp`
    writeFileSync(pending, String(process.pid), { mode: 0o600 })
    try {
      linkSync(pending, file)
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file)
        } catch {}
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    } finally {
      unlinkSync(pending)
    }
    const owner = Number(readText(file)?.trim())
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new AppError('lock_held', 409, inUse(owner))
    }
    try {
      unlinkSync(file)
    } catch {}
  }
  throw new AppError('lock_held', 409, `could not take the lock ${file}`)
}

/** True while a process with this pid runs (EPERM: it runs, as another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
