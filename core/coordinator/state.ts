/**
 * The coordinator's state dir (COORDINATOR_STATE_DIR). Holds no secrets:
 * - `coordinator_id`: the id this coordinator claims and labels containers with, kept across
 *   restarts so a restarted coordinator finds (and removes) the containers of its previous life;
 * - `coordinator.lock`: the pid of the coordinator using the dir (two coordinators on one dir would
 *   share an id and remove each other's containers, so the second one refuses to start);
 * - `project_images.json`: each project's image, the operator's entries and the ones the
 *   coordinator records after a successful run (images.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateCoordinatorId } from '../coordinator-config.ts'
import { acquireLockFile } from '../lock-file.ts'
import type { Logger } from '../log.ts'
import { ensurePrivateDir } from '../private-dir.ts'
import { openProjectImages, type ProjectImages } from './images.ts'

export const ID_FILE = 'coordinator_id'
export const LOCK_FILE = 'coordinator.lock'

export interface CoordinatorState {
  dir: string
  coordinatorId: string
  /** project_images.json: each project's own image (images.ts). */
  images: ProjectImages
  /** Releases the lock (clean exit). */
  release(): void
}

/** Opens (creating) the state dir, takes its lock and settles the coordinator id. Throws when another live coordinator holds it. */
export function openState(dir: string, log: Logger, configuredId?: string): CoordinatorState {
  ensurePrivateDir(dir)
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

  return {
    dir,
    coordinatorId,
    images: openProjectImages(dir, log),
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
