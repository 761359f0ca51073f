/**
 * The git object cache on disk (git-cache.ts): `<dir>/<key>.git`, a bare mirror per repository, and
 * next to it (outside what is mounted into containers) `<key>.json`, its manifest: every file of the
 * mirror with its size, inode and change time as the coordinator left it after its last refresh;
 * and `<key>.used`, when a job last used it (epoch ms): eviction goes least recently used first. A mirror whose files differ from its manifest was changed by someone else (a
 * container that could undo its read-only mount) and is never handed to a job.
 */
import { createHash, randomBytes } from 'node:crypto'
import { lstat, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'

export interface Manifest {
  /** The repository URL the mirror was made for (normalised). */
  repo: string
  /** Relative path → `<size>:<inode>:<change time ns>`. */
  files: Record<string, string>
}

/**
 * The repository URL as the cache keys it: no credentials, query or trailing `/` / `.git`, lower
 * case (forges treat owner and name case-insensitively). Two spellings of one repository share a
 * mirror; every job still proves its own access before it gets it.
 */
export function normaliseRepoUrl(url: string): string {
  let text = url.trim()
  try {
    const parsed = new URL(text)
    parsed.username = ''
    parsed.password = ''
    parsed.search = ''
    parsed.hash = ''
    text = parsed.toString()
  } catch {}
  return text.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/\/+$/, '').toLowerCase()
}

/** The mirror's key: a hash of the normalised URL, so no URL text becomes a path. */
export function mirrorKey(repoUrl: string): string {
  return createHash('sha256').update(normaliseRepoUrl(repoUrl)).digest('hex').slice(0, 32)
}

export const mirrorPath = (dir: string, key: string) => join(dir, `${key}.git`)
const manifestPath = (dir: string, key: string) => join(dir, `${key}.json`)
const usedPath = (dir: string, key: string) => join(dir, `${key}.used`)

/** Records that a job uses the mirror now. */
export const markUsed = (dir: string, key: string) => writeFile(usedPath(dir, key), String(Date.now()))
const usedAt = async (dir: string, key: string) => Number(await readFile(usedPath(dir, key), 'utf8').catch(() => '0')) || 0

/** Every regular file under `root` (relative paths); symlinks count as files so a planted one is seen. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else out.push(relative(root, path))
    }
  }
  await walk(root)
  return out.sort()
}

/**
 * `<size>:<inode>:<change time>`. Any write, truncation, rename over or chmod of a file sets its
 * change time, which no system call sets back (only moving the clock does); so a file touched after
 * the coordinator recorded it differs, without reading the mirror's hundreds of MB on every job.
 */
async function fileStamp(path: string): Promise<string> {
  const info = await lstat(path, { bigint: true })
  return `${info.size}:${info.ino}:${info.ctimeNs}`
}

/** The manifest of the mirror as it is now. */
export async function takeManifest(dir: string, key: string, repo: string): Promise<Manifest> {
  const root = mirrorPath(dir, key)
  const files: Record<string, string> = {}
  for (const file of await listFiles(root)) files[file] = await fileStamp(join(root, file))
  return { repo: normaliseRepoUrl(repo), files }
}

export async function readManifest(dir: string, key: string): Promise<Manifest | null> {
  try {
    return JSON.parse(await readFile(manifestPath(dir, key), 'utf8')) as Manifest
  } catch {
    return null
  }
}

/** Written whole (a temp file of its own, then rename), so a crash or a concurrent write never leaves half a manifest. */
export async function writeManifest(dir: string, key: string, manifest: Manifest): Promise<void> {
  const temp = `${manifestPath(dir, key)}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(temp, JSON.stringify(manifest))
  await rename(temp, manifestPath(dir, key))
}

/**
 * Null when the mirror holds exactly the files of its manifest with their recorded content;
 * otherwise what differs (a file added, removed or changed).
 */
export async function manifestMismatch(dir: string, key: string, manifest: Manifest): Promise<string | null> {
  const root = mirrorPath(dir, key)
  const files = await listFiles(root)
  const recorded = Object.keys(manifest.files)
  const added = files.find((file) => !(file in manifest.files))
  if (added) return `unexpected file ${added}`
  const missing = recorded.find((file) => !files.includes(file))
  if (missing) return `missing file ${missing}`
  for (const file of files) {
    if ((await fileStamp(join(root, file)).catch(() => 'unreadable')) !== manifest.files[file]) return `changed file ${file}`
  }
  return null
}

/** Bytes a manifest records (the mirror's size as the coordinator wrote it). */
export const manifestBytes = (manifest: Manifest) =>
  Object.values(manifest.files).reduce((sum, entry) => sum + Number(entry.split(':')[0]), 0)

/** Removes a mirror and its manifest. */
export async function dropMirror(dir: string, key: string): Promise<void> {
  await rm(manifestPath(dir, key), { force: true })
  await rm(usedPath(dir, key), { force: true })
  await rm(mirrorPath(dir, key), { recursive: true, force: true })
}

/** The mirrors in `dir`: their manifests (null: none, e.g. a crash mid-refresh) and when last used (0: never). */
export async function listMirrors(dir: string): Promise<{ key: string; manifest: Manifest | null; usedAt: number }[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const keys = names.filter((name) => /^[0-9a-f]{32}\.git$/.test(name)).map((name) => name.slice(0, -4))
  return Promise.all(keys.map(async (key) => ({ key, manifest: await readManifest(dir, key), usedAt: await usedAt(dir, key) })))
}
