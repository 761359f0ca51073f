/**
 * Orphan cleanup for a restarted coordinator (DESIGN.md §4.3): containers this coordinator labelled
 * for jobs it no longer holds are stopped and removed (force-remove does both at once).
 */
import type { Logger } from '../../../core/log.ts'
import type { DockerEngine } from './engine.ts'
import { isDockerError } from './errors.ts'
import { COORDINATOR_ID_LABEL, JOB_ID_LABEL } from './run-container.ts'

/** Removes this coordinator's job containers whose job id is not in `keep`; returns their ids. */
export async function reconcileContainers(
  engine: DockerEngine,
  coordinatorId: string,
  keep: ReadonlySet<number>,
  log: Logger,
): Promise<string[]> {
  const containers = await engine.containerList({ all: true, labels: [`${COORDINATOR_ID_LABEL}=${coordinatorId}`, JOB_ID_LABEL] })
  const removed: string[] = []
  for (const container of containers) {
    const jobId = Number(container.Labels[JOB_ID_LABEL])
    if (keep.has(jobId)) continue
    try {
      await engine.containerRemove(container.Id, { force: true, volumes: true })
      removed.push(container.Id)
      log.info('removed orphan container', { container: container.Id.slice(0, 12), jobId })
    } catch (error) {
      // Already gone (its own run removed it meanwhile) is what we wanted.
      if (!isDockerError(error, 'docker_not_found')) log.warn('orphan removal failed', { container: container.Id, error })
    }
  }
  return removed
}
