/**
 * Errors of the Kubernetes API client. Every failure is a KubernetesError with a stable `code`, the
 * API server's HTTP `status` (0 when there was no answer) and the `reason` and `message` of the
 * Status object the server answers errors with (`{kind:'Status', status:'Failure', reason, code,
 * message}`). A watch reports an error as an ERROR event carrying such a Status inside its HTTP 200.
 */

export type KubernetesErrorCode =
  /** The server did not answer (DNS, refused, TLS). */
  | 'k8s_unreachable'
  /** 401: the bearer token was refused. */
  | 'k8s_unauthorized'
  /** 403: RBAC does not allow the call. */
  | 'k8s_forbidden'
  /** 404: no such object or namespace. */
  | 'k8s_not_found'
  /** 409: AlreadyExists or Conflict. */
  | 'k8s_conflict'
  /** 410: a watch or list asked for a resourceVersion older than the server keeps. */
  | 'k8s_gone'
  /** 400 or 422: the server refused the object or the parameters. */
  | 'k8s_invalid'
  /** Any other status (mostly 500, 503). */
  | 'k8s_api_error'
  /** The call was aborted by its signal. */
  | 'k8s_aborted'
  /** The connection settings (kubeconfig, service account) could not be read. */
  | 'k8s_config'

export class KubernetesError extends Error {
  readonly code: KubernetesErrorCode
  readonly status: number
  /** The Status object's `reason` (e.g. AlreadyExists, NotFound, Expired), when there was one. */
  readonly reason: string | undefined

  constructor(code: KubernetesErrorCode, status: number, message: string, reason?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'KubernetesError'
    this.code = code
    this.status = status
    this.reason = reason
  }
}

/** A Status object (metav1.Status) as the server sends it for errors. */
export interface StatusObject {
  kind?: 'Status'
  status?: string
  message?: string
  reason?: string
  code?: number
}

const CODES: Record<number, KubernetesErrorCode> = {
  400: 'k8s_invalid', 401: 'k8s_unauthorized', 403: 'k8s_forbidden', 404: 'k8s_not_found', 409: 'k8s_conflict', 410: 'k8s_gone', 422: 'k8s_invalid',
}

/** The error for an HTTP status and the server's Status body (or whatever text it sent). */
export function errorForStatus(status: number, body: string, what: string): KubernetesError {
  let parsed: StatusObject = {}
  try {
    parsed = JSON.parse(body) as StatusObject
  } catch {}
  const message = parsed.message ?? (body.trim().slice(0, 300) || `HTTP ${status}`)
  return new KubernetesError(CODES[status] ?? 'k8s_api_error', status, `${what}: ${message}`, parsed.reason)
}

export function isKubernetesError(error: unknown, code?: KubernetesErrorCode): error is KubernetesError {
  return error instanceof KubernetesError && (code === undefined || error.code === code)
}
