/**
 * Orphan cleanup for a restarted coordinator (DESIGN.md §4.3): containers this coordinator labelled
 * for jobs it no longer holds are stopped and removed (force-remove does both at once), and so are
 * its warm containers (warm-container.ts) of any pool but the live one: a previous process's pool,
 * idle or serving a job that process can no longer report, is of no use to anyone.
 */
import type { Logger } from '../../../core/log.ts'
import type { DockerEngine } from './engine.ts'
import { isDockerError } from './errors.ts'
import { COORDINATOR_ID_LABEL, JOB_ID_LABEL } from './run-container.ts'
import { POOL_LABEL } from './warm-container.ts'

/** Removes this coordinator's job containers whose job id is not in `keep`, and warm ones not of `pool`; returns their ids. */
export async function reconcileContainers(
  engine: DockerEngine,
  coordinatorId: string,
  keep: ReadonlySet<number>,
  log: Logger,
  pool?: string,
): Promise<string[]> {
  const mine = `${COORDINATOR_ID_LABEL}=${coordinatorId}`
  const jobs = await engine.containerList({ all: true, labels: [mine, JOB_ID_LABEL] })
  const warm = await engine.containerList({ all: true, labels: [mine, POOL_LABEL] })
  const orphans = [
    ...jobs.filter((container) => !keep.has(Number(container.Labels[JOB_ID_LABEL]))),
    ...warm.filter((container) => pool === undefined || container.Labels[POOL_LABEL] !== pool),
  ]
  const removed: string[] = []
  for (const container of orphans) {
    const what = container.Labels[JOB_ID_LABEL] !== undefined ? { jobId: Number(container.Labels[JOB_ID_LABEL]) } : { pool: container.Labels[POOL_LABEL] }
    try {
      await engine.containerRemove(container.Id, { force: true, volumes: true })
      removed.push(container.Id)
      log.info('removed orphan container', { container: container.Id.slice(0, 12), ...what })
    } catch (error) {
      // Already gone (its own run removed it meanwhile) is what we wanted.
      if (!isDockerError(error, 'docker_not_found')) log.warn('orphan removal failed', { container: container.Id, error })
    }
  }
  return removed
}
