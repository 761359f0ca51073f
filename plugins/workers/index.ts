/**
 * The built-in Worker plugins by `WORKER_MODE` name. `workerFor` is what the agent calls; an
 * unknown mode is a typed error (`unknown_worker_mode`), never a silent default.
 */
import { AppError } from '../../core/errors.ts'
import type { Worker } from '../../core/worker.ts'
import { aider, NAME as AIDER } from './aider.ts'
import { claudeCode, NAME as CLAUDE_CODE } from './claude-code.ts'
import { codex, NAME as CODEX } from './codex.ts'
import { gemini, NAME as GEMINI } from './gemini.ts'
import { opencode, NAME as OPENCODE } from './opencode.ts'

export { aider, claudeCode, codex, gemini, opencode }

export interface WorkerForOptions {
  /** The CLI binary, when it is not on PATH under its usual name. */
  command?: string
}

const FACTORIES: Record<string, (options: WorkerForOptions) => Worker> = {
  [OPENCODE]: opencode,
  [CLAUDE_CODE]: claudeCode,
  [CODEX]: codex,
  [GEMINI]: gemini,
  [AIDER]: aider,
}

/** Mode names `workerFor` knows, in the order of the WORKER_MODE choices. */
export const WORKER_NAMES = Object.keys(FACTORIES)

export const unknownWorkerMode = (mode: string) =>
  new AppError('unknown_worker_mode', 422, `unknown WORKER_MODE ${JSON.stringify(mode)}; expected one of ${WORKER_NAMES.join(', ')}`)

/** The plugin for `mode` with its default options (plus the binary path, if given). */
export function workerFor(mode: string, options: WorkerForOptions = {}): Worker {
  const factory = Object.hasOwn(FACTORIES, mode) ? FACTORIES[mode] : undefined
  if (!factory) throw unknownWorkerMode(mode)
  return factory(options)
}
