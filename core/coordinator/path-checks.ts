/**
 * Answers the local path checks the app asks at a project's save (core/services/path-checks.ts):
 * every `intervalMs`, the pending requests of the projects this coordinator serves are checked on
 * this host with the check a local run starts with (setup-checks/local-checkout.ts) and answered.
 * The first coordinator to answer wins; with several hosts serving one project, the answer is that
 * host's (a run may still land on another, which checks again before starting).
 * Never throws: a failed poll or answer is logged at debug and tried again on the next tick.
 */
import { hostname } from 'node:os'
import type { Logger } from '../log.ts'
import { localCheckoutProblem } from '../services/setup-checks/local-checkout.ts'
import { sleep } from './backoff.ts'
import { isClientError, type WorkerClient } from './client.ts'

export interface PathCheckOptions {
  client: WorkerClient
  intervalMs: number
  log: Logger
  /** The coordinator's PROJECT_IDS (null: every project its credential serves); sent so the app lists and takes checks of those only. */
  projectIds?: number[] | null
}

/** Starts answering; a client without the calls (an older app's fakes) answers nothing. */
export function startPathChecks(options: PathCheckOptions): { stop(): Promise<void> } {
  const { client, intervalMs, log } = options
  const projectIds = options.projectIds ?? null
  const stopping = new AbortController()
  const host = hostname()
  const answered = new Set<number>()
  const loop = (async () => {
    if (!client.pathChecks || !client.answerPathCheck) return
    while (!stopping.signal.aborted) {
      try {
        for (const check of await client.pathChecks(projectIds)) {
          if (answered.has(check.id) || stopping.signal.aborted) continue
          const found = await localCheckoutProblem(check.project_path, check.repo_url ?? undefined)
          const problem = found?.replace('on this host', `on ${host}`) ?? null
          await client.answerPathCheck(check.id, { host, problem, ...(projectIds ? { project_ids: projectIds } : {}) }).catch((error: unknown) => {
            // 404: a later save replaced the request; 403: not ours. Either way, nothing to retry.
            if (!isClientError(error, 404) && !isClientError(error, 403)) throw error
          })
          if (answered.size >= 1000) answered.clear()
          answered.add(check.id)
          log.info('checked a project path', { projectId: check.project_id, path: check.project_path, ok: problem === null })
        }
      } catch (error) {
        log.debug('path checks failed; retrying next interval', { error: (error as Error).message })
      }
      await sleep(intervalMs, stopping.signal)
    }
  })()
  return {
    async stop() {
      stopping.abort()
      await loop
    },
  }
}
