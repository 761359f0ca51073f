/**
 * The probe both Docker executors share: is the daemon there, does it speak API ≥ 1.41, is the
 * agent image present? Never throws; each failure is a reason the coordinator can log.
 */
import type { ProbeResult } from '../../../core/executor.ts'
import type { DockerEngine } from './engine.ts'
import { isDockerError } from './errors.ts'

export async function probeDocker(engine: DockerEngine, image: string, timeoutMs = 3000): Promise<ProbeResult> {
  try {
    const version = await engine.checkVersion(AbortSignal.timeout(timeoutMs))
    await engine.imageInspect(image)
    return { ok: true, detail: `docker ${version.Version} (API ${version.ApiVersion}), image ${image}` }
  } catch (error) {
    if (isDockerError(error, 'docker_not_found')) return { ok: false, reason: `image ${image} not found` }
    return { ok: false, reason: (error as Error).message }
  }
}
