/**
 * Errors of the Docker Engine client. Every failure is a DockerError with a stable `code`, the
 * daemon's HTTP `status` when there was an answer, and the daemon's own `message` (its JSON body's
 * `message`, or the `error` line of a build/import stream). `cause` keeps the socket error, if any.
 */

export type DockerErrorCode =
  /** The socket/port did not answer (ENOENT, ECONNREFUSED, …). */
  | 'docker_unreachable'
  /** 404: no such image, container or volume. */
  | 'docker_not_found'
  /** 409: name already in use, container not running, volume in use. */
  | 'docker_conflict'
  /** 400: the daemon rejected the parameters. */
  | 'docker_bad_request'
  /** Any other unexpected status (mostly 500). */
  | 'docker_api_error'
  /** A build or import stream reported an error inside its HTTP 200. */
  | 'docker_stream_error'
  /** The daemon speaks an API older than the one this client pins. */
  | 'docker_api_version'
  /** The call was aborted by its signal. */
  | 'docker_aborted'

export class DockerError extends Error {
  readonly code: DockerErrorCode
  /** The daemon's HTTP status; 0 when there was no HTTP answer. */
  readonly status: number

  constructor(code: DockerErrorCode, status: number, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'DockerError'
    this.code = code
    this.status = status
  }
}

/** Maps an unexpected HTTP status to its error code. */
export function codeForStatus(status: number): DockerErrorCode {
  if (status === 404) return 'docker_not_found'
  if (status === 409) return 'docker_conflict'
  if (status === 400) return 'docker_bad_request'
  return 'docker_api_error'
}

export function isDockerError(error: unknown, code?: DockerErrorCode): error is DockerError {
  return error instanceof DockerError && (code === undefined || error.code === code)
}
