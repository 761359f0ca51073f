/**
 * A pid lock file: created exclusively, holding its owner's pid. Used where two processes on one
 * directory would corrupt it (PGlite's data dir takes no lock of its own; a coordinator's state dir
 * holds its identity). A lock whose owner is not running is stale and taken over.
 *
 * The file holds three lines: the pid, the owner's process start (Linux: boot id
 * and start time from /proc, "-" elsewhere) and the lock's own real path. A lock is stale when its pid
 * is not alive, when that pid now belongs to another process (start differs: pid reused, e.g. after
 * a reboot or on another machine), or when the file is not where it was written (a copy of the
 * directory, e.g. a backup taken while the owner ran). A bare pid (older files) is checked by pid.
 */
import { linkSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { AppError } from './errors.ts'

/**
 * Takes the lock at `file`, or throws AppError `lock_held` with `inUse(pid)` as the message when a
 * running owner holds it. Returns the release function (a no-op once another process owns the file).
 * The content is written to a private file first and linked into place, so the lock never exists
 * empty: a reader that saw an empty file would take a live lock for a stale one.
 */
export function acquireLockFile(file: string, inUse: (pid: number) => string): () => void {
  const mine = `${process.pid}\n${processStart(process.pid) ?? '-'}\n${realPath(file)}\n`
  for (let tries = 0; tries < 3; tries++) {
    const pending = `${file}.${process.pid}.tmp`
    writeFileSync(pending, mine, { mode: 0o600 })
    try {
      linkSync(pending, file)
      return () => {
        try {
          if (readFileSync(file, 'utf8') === mine) unlinkSync(file)
        } catch {}
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    } finally {
      unlinkSync(pending)
    }
    const owner = readText(file)
    const pid = owner === undefined ? 0 : lockOwner(file, owner)
    if (pid) throw new AppError('lock_held', 409, inUse(pid))
    try {
      unlinkSync(file)
    } catch {}
  }
  throw new AppError('lock_held', 409, `could not take the lock ${file}`)
}

/** The pid of the running process that holds the lock with this content, or 0 when it is stale. */
export function lockOwner(file: string, content: string): number {
  const [pidText, start, path] = content.trim().split('\n')
  const pid = Number(pidText)
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !isAlive(pid)) return 0
  if (path !== undefined && path !== realPath(file)) return 0
  if (start !== undefined && start !== '-') {
    const now = processStart(pid)
    if (now !== undefined && now !== start) return 0
  }
  return pid
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

/**
 * `<boot id>:<start time in clock ticks since boot>` of a process on Linux, undefined elsewhere or
 * when it is gone. The start time is field 22 of /proc/<pid>/stat, counted after the command name
 * (which may hold spaces and parentheses, hence the last ")").
 */
export function processStart(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`)
  const boot = readText('/proc/sys/kernel/random/boot_id')
  if (!stat || !boot) return undefined
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return `${boot.trim()}:${fields[19]}`
}

/** The file's path with its directory's symlinks resolved: one directory has one path. */
function realPath(file: string): string {
  return join(realpathSync(dirname(file)), basename(file))
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
