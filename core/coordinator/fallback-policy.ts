/**
 * When a docker-mode job whose container could not start may run on the host instead
 * (AGENT_FALLBACK_TO_HOST): only for failures of the daemon (unreachable, image missing or not
 * pullable, a container that would not start). A configuration error never falls back: a value the
 * daemon refuses (an image reference, volume name, runtime or limit it rejects with 400) would make
 * every job run unconfined on the host, silently. Such a job fails with the reason instead.
 *
 * Executors signal the cause with the error's `code` (plugins/executors/docker/errors.ts); the codes
 * that mean "the daemon refused what it was asked" are listed here, with what to tell the operator.
 */
const CONFIGURATION_CODES: Record<string, string> = {
  docker_bad_request: 'the Docker daemon refused the container\'s parameters',
}

/** The configuration problem `error` reveals, or null when it is a daemon failure the fallback may cover. */
export function configurationProblem(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code in CONFIGURATION_CODES ? CONFIGURATION_CODES[code]! : null
}

/** The error of a job refused for its coordinator's configuration. */
export function configurationRefusal(error: string, problem: string): string {
  return `${error} (${problem}: a configuration error of this coordinator (AGENT_IMAGE, AGENT_CACHE_VOLUME, AGENT_RUNTIME, limits); ` +
    'the job is never run on the host for it: fix the configuration and retry)'
}
