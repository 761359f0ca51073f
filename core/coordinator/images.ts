/**
 * `project_images.json` in the coordinator's state dir: the image each project's agents run.
 *
 *   {"12": "registry.example/team-a-agent:3",
 *    "15": {"image": "sha256:…", "recorded": true, "tag": "terarchitect-agent-project:p15-…", "from": "terarchitect-agent", "recorded_at": "…"}}
 *
 * A plain string (or an object without `"recorded": true`) is the operator's entry: the coordinator
 * uses it and never changes or removes it. An object with `"recorded": true` is the coordinator's:
 * after a container run that exits 0, the image it ran is recorded by id (kept tagged so
 * `docker image prune` keeps it), so a later change of AGENT_IMAGE does not move a project that
 * works; `reset` (the `reset-image` command) drops the record and the project moves to AGENT_IMAGE.
 *
 * Writes read the file afresh under `project_images.json.lock` (the running coordinator and the
 * reset command both write), keep every other key exactly as it was, and replace the file
 * atomically (temp file + fsync + rename). An unreadable file is never overwritten.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import type { Logger } from '../log.ts'
import { isAppError } from '../errors.ts'
import { acquireLockFile } from '../lock-file.ts'

export const PROJECT_IMAGES_FILE = 'project_images.json'

export interface ProjectImageEntry {
  /** A tag or an image id. */
  image: string
  /** true: written by the coordinator after a successful run; false: the operator's entry. */
  recorded: boolean
  /** The tag that keeps a recorded image from being pruned. */
  tag?: string
}

export interface ImageRecord {
  /** The image id the successful container ran. */
  image: string
  /** The reference it was chosen by (AGENT_IMAGE's value at the time). */
  from: string
  tag?: string
}

export interface ResetResult {
  /** Recorded entries removed: these projects use AGENT_IMAGE from now on. */
  removed: { projectId: number; image: string; tag?: string }[]
  /** Operator entries, kept: the operator edits the file to change them. */
  operator: { projectId: number; image: string }[]
}

export interface ProjectImages {
  readonly path: string
  /** The entry for `projectId`, from the file as it is now (re-read when it changed). */
  get(projectId: number): ProjectImageEntry | undefined
  /**
   * Records the image a successful run used, unless the operator has an entry for the project.
   * Returns what happened; throws only when the file cannot be written.
   */
  record(projectId: number, record: ImageRecord): 'recorded' | 'unchanged' | 'operator' | 'unreadable'
  /** Removes recorded entries of `projectIds` (or all); operator entries are kept and listed. */
  reset(projectIds: number[] | 'all'): ResetResult
}

type Raw = Record<string, unknown>

/** One entry of the file as written, or why it is ignored. */
function parseEntry(value: unknown): ProjectImageEntry | string {
  if (typeof value === 'string') return value.trim() ? { image: value.trim(), recorded: false } : 'empty image'
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { image, recorded, tag } = value as Raw
    if (typeof image === 'string' && image.trim()) {
      return { image: image.trim(), recorded: recorded === true, ...(typeof tag === 'string' && tag ? { tag } : {}) }
    }
  }
  return 'want "<image>" or {"image": "<image>"}'
}

function readRaw(path: string): Raw | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw error
  }
  const parsed = JSON.parse(text) as unknown
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected an object {"<project id>": "<image>"}')
  return parsed as Raw
}

/** Opens `<stateDir>/project_images.json` (the file may be missing: no project has its own image). */
export function openProjectImages(stateDir: string, log?: Logger): ProjectImages {
  const path = join(stateDir, PROJECT_IMAGES_FILE)
  let cache: { key: string; entries: Map<number, ProjectImageEntry> } | undefined

  const entries = (): Map<number, ProjectImageEntry> => {
    let key: string
    try {
      const stat = statSync(path)
      // A rename gives a new inode: two writes within one mtime tick are still told apart.
      key = `${stat.ino}:${stat.mtimeMs}:${stat.size}`
    } catch {
      cache = undefined
      return new Map()
    }
    if (cache?.key === key) return cache.entries
    const map = new Map<number, ProjectImageEntry>()
    try {
      for (const [id, value] of Object.entries(readRaw(path) ?? {})) {
        const entry = parseEntry(value)
        if (!/^\d+$/.test(id) || typeof entry === 'string') {
          log?.warn(`${PROJECT_IMAGES_FILE}: ignoring entry ${JSON.stringify(id)} (${typeof entry === 'string' ? entry : 'the key must be a project id'})`)
          continue
        }
        map.set(Number(id), entry)
      }
      log?.info(`${PROJECT_IMAGES_FILE} loaded`, { projects: map.size, recorded: [...map.values()].filter((entry) => entry.recorded).length })
    } catch (error) {
      log?.warn(`${PROJECT_IMAGES_FILE} is unreadable; using AGENT_IMAGE for every project`, { path, error: (error as Error).message })
    }
    cache = { key, entries: map }
    return map
  }

  /** Runs `change` on the file's current content under the lock; writes when it returns true. */
  const update = (change: (raw: Raw) => boolean): boolean => {
    const release = lockWithRetry(`${path}.lock`)
    try {
      const raw = readRaw(path)
      if (!raw || !change(raw)) return false
      writeAtomically(path, JSON.stringify(raw, null, 2) + '\n')
      return true
    } finally {
      release()
    }
  }

  return {
    path,
    get: (projectId) => entries().get(projectId),
    record(projectId, { image, from, tag }) {
      let outcome: 'recorded' | 'unchanged' | 'operator' | 'unreadable' = 'recorded'
      try {
        update((raw) => {
          const current = raw[String(projectId)] === undefined ? undefined : parseEntry(raw[String(projectId)])
          if (current !== undefined && (typeof current === 'string' || !current.recorded)) outcome = 'operator'
          else if (current?.image === image && current.tag === tag) outcome = 'unchanged'
          if (outcome !== 'recorded') return false
          raw[String(projectId)] = { image, recorded: true, ...(tag ? { tag } : {}), from, recorded_at: new Date().toISOString() }
          return true
        })
      } catch (error) {
        if (error instanceof SyntaxError || /expected an object/.test((error as Error).message)) return 'unreadable'
        throw error
      }
      return outcome
    },
    reset(projectIds) {
      const result: ResetResult = { removed: [], operator: [] }
      update((raw) => {
        for (const [id, value] of Object.entries(raw)) {
          if (!/^\d+$/.test(id) || (projectIds !== 'all' && !projectIds.includes(Number(id)))) continue
          const entry = parseEntry(value)
          if (typeof entry === 'string') continue
          if (!entry.recorded) {
            result.operator.push({ projectId: Number(id), image: entry.image })
            continue
          }
          result.removed.push({ projectId: Number(id), image: entry.image, ...(entry.tag ? { tag: entry.tag } : {}) })
          delete raw[id]
        }
        return result.removed.length > 0
      })
      return result
    },
  }
}

/**
 * The writers' lock, waited for up to 5 s (a writer holds it for one read and one rename); a lock
 * whose holder died is taken over (core/lock-file.ts).
 */
function lockWithRetry(lockPath: string): () => void {
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      return acquireLockFile(lockPath, (pid) => `${basename(lockPath)} is held by pid ${pid}`)
    } catch (error) {
      if (!isAppError(error) || Date.now() > deadline) throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    }
  }
}

function writeAtomically(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fd = openSync(temp, 'wx', 0o644)
    try {
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, path)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}
