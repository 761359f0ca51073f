/**
 * A coordinator started with GITHUB_TOKEN (the runbook's way) hands it to the app once, before its
 * first claim, and never to an agent: the app uses it for this coordinator's projects when its own
 * settings hold no GITHUB_TOKEN. Retried with backoff while the app is unreachable or failing
 * (≈1, 2, 4 … 30 s); a refusal (4xx) is logged and not retried. Never throws.
 */
import type { Logger } from '../log.ts'
import { backoffMs, sleep } from './backoff.ts'
import { isClientError, type WorkerClient } from './client.ts'

export async function handForgeToken(options: {
  client: WorkerClient
  token: string
  projectIds: number[] | null
  log: Logger
  signal: AbortSignal
}): Promise<void> {
  const { client, token, projectIds, log, signal } = options
  for (let tries = 1; !signal.aborted; tries++) {
    try {
      await client.handForgeToken(token, projectIds)
      log.info('GITHUB_TOKEN handed to the app (agents never receive it)')
      return
    } catch (error) {
      if (isClientError(error) && error.status >= 400 && error.status < 500) {
        log.warn(`the app refused this coordinator's GITHUB_TOKEN: ${(error as Error).message}`)
        return
      }
      const delay = backoffMs(tries)
      log.warn(`handing GITHUB_TOKEN to the app failed; retrying in ${(delay / 1000).toFixed(1)} s`, { error: (error as Error).message })
      await sleep(delay, signal)
    }
  }
}
