/**
 * The CI-fix settings of one project (its own value, then the app's, then the default), read per
 * use so a change applies at the next look without a restart.
 */
import type { AppContext } from '../../context.ts'
import { SETTINGS_BY_KEY } from '../../settings.ts'
import { resolveProjectSettings } from '../project-settings-resolve.ts'

export interface CiFixSettings {
  /** CI-fix jobs per request; 0 = follow and report, never fix. */
  maxRounds: number
  /** How long checks may stay queued (or absent) before they are reported as never started. */
  startTimeoutMs: number
}

const integer = (value: string | undefined, key: string, min: number): number => {
  const parsed = Number(value ?? SETTINGS_BY_KEY.get(key)?.default)
  return Number.isInteger(parsed) && parsed >= min ? parsed : Number(SETTINGS_BY_KEY.get(key)?.default)
}

export async function ciFixSettings(ctx: AppContext, projectId: number): Promise<CiFixSettings> {
  const { values } = await resolveProjectSettings(ctx, projectId)
  return {
    maxRounds: integer(values.CI_FIX_MAX_ROUNDS, 'CI_FIX_MAX_ROUNDS', 0),
    startTimeoutMs: integer(values.CI_FIX_START_TIMEOUT_SEC, 'CI_FIX_START_TIMEOUT_SEC', 1) * 1000,
  }
}
