/**
 * Why an agent run ends other than in success, and the exit code each reason maps to. The flows
 * throw these; `runAgent` posts the message as the job's last event and exits with the code.
 */

export type AgentErrorCode =
  | 'config' // bad or missing configuration (settings, repo URL, worker CLI)
  | 'git' // clone, fetch, commit or push failed
  | 'github' // the REST API refused (PR, comment)
  | 'worker' // the worker's turn failed (exit code, timeout, denied tools, nothing changed)
  | 'director' // the Director endpoint failed or answered nonsense
  | 'nothing_to_push' // the job ends without a change to propose
  | 'budget' // a Director budget ran out
  | 'cancelled' // cancel requested or the process was signalled
  | 'app' // the app refused or could not be reached

/** Exit codes: 130 like a shell's SIGINT for a cancel; the coordinator only needs "0 or not". */
export const EXIT_CODES: Record<AgentErrorCode, number> = {
  config: 2,
  git: 1,
  github: 1,
  worker: 1,
  director: 1,
  nothing_to_push: 1,
  budget: 3,
  cancelled: 130,
  app: 1,
}

export class AgentError extends Error {
  readonly code: AgentErrorCode
  /** The job event step the failure is posted under. */
  readonly step: string

  constructor(code: AgentErrorCode, message: string, options: { step?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AgentError'
    this.code = code
    this.step = options.step ?? (code === 'cancelled' ? 'cancelled' : code === 'budget' ? 'budget' : 'error')
  }

  get exitCode(): number {
    return EXIT_CODES[this.code]
  }
}

export const agentError = (code: AgentErrorCode, message: string, cause?: unknown) => new AgentError(code, message, { cause })
export const cancelled = (why = 'cancel requested') => new AgentError('cancelled', `cancelled: ${why}; nothing was pushed`)

/** Why an AbortSignal fired, as text (`cancel requested`, `stopped by SIGTERM`). */
export function abortReason(signal: AbortSignal): string {
  const reason = signal.reason
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted')
}

export function isAgentError(error: unknown, code?: AgentErrorCode): error is AgentError {
  return error instanceof AgentError && (code === undefined || error.code === code)
}
