/**
 * The coordinator's state dir (COORDINATOR_STATE_DIR). Holds no secrets:
 * - `coordinator_id`: the id this coordinator claims and labels containers with, kept across
 *   restarts so a restarted coordinator finds (and removes) the containers of its previous life;
 * - `coordinator.lock`: the pid of the coordinator using the dir (two coordinators on one dir would
 *   share an id and remove each other's containers, so the second one refuses to start);
 * - `project_images.json`: `{"<project id>": "<image>"}`, written by the operator, re-read when it
 *   changes, so a project can use its own agent image.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateCoordinatorId } from '../coordinator-config.ts'
import { acquireLockFile } from '../lock-file.ts'
import type { Logger } from '../log.ts'

export const ID_FILE = 'coordinator_id'
export const LOCK_FILE = 'coordinator.lock'
export const PROJECT_IMAGES_FILE = 'project_images.json'

export interface CoordinatorState {
  dir: string
  coordinatorId: string
  /** The image configured for `projectId` in project_images.json, if any. */
  projectImage(projectId: number): string | undefined
  /** Releases the lock (clean exit). */
  release(): void
}

/** Opens (creating) the state dir, takes its lock and settles the coordinator id. Throws when another live coordinator holds it. */
export function openState(dir: string, log: Logger, configuredId?: string): CoordinatorState {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const lockPath = join(dir, LOCK_FILE)
  const release = acquireLockFile(lockPath, (pid) =>
    `another coordinator (pid ${pid}) uses the state dir ${dir}; give each coordinator its own COORDINATOR_STATE_DIR`)

  let coordinatorId = configuredId
  const idPath = join(dir, ID_FILE)
  if (!coordinatorId) {
    coordinatorId = readText(idPath)?.trim() || undefined
    if (!coordinatorId) {
      coordinatorId = generateCoordinatorId()
      writeFileSync(idPath, coordinatorId + '\n', { mode: 0o600 })
    }
  }

  const imagesPath = join(dir, PROJECT_IMAGES_FILE)
  let cache: { mtimeMs: number; images: Map<number, string> } | undefined
  const projectImages = (): Map<number, string> => {
    let mtimeMs: number
    try {
      mtimeMs = statSync(imagesPath).mtimeMs
    } catch {
      cache = undefined
      return new Map()
    }
    if (cache?.mtimeMs === mtimeMs) return cache.images
    const images = new Map<number, string>()
    try {
      const parsed = JSON.parse(readFileSync(imagesPath, 'utf8')) as unknown
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected an object {"<project id>": "<image>"}')
      for (const [key, value] of Object.entries(parsed)) {
        if (!/^\d+$/.test(key) || typeof value !== 'string' || value.trim() === '') {
          log.warn(`${PROJECT_IMAGES_FILE}: ignoring entry ${JSON.stringify(key)} (want "<project id>": "<image>")`)
          continue
        }
        images.set(Number(key), value.trim())
      }
      log.info(`${PROJECT_IMAGES_FILE} loaded`, { projects: images.size })
    } catch (error) {
      log.warn(`${PROJECT_IMAGES_FILE} is unreadable; using AGENT_IMAGE for every project`, { path: imagesPath, error: (error as Error).message })
    }
    cache = { mtimeMs, images }
    return images
  }

  return {
    dir,
    coordinatorId,
    projectImage: (projectId) => projectImages().get(projectId),
    release,
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
