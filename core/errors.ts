/**
 * One errors module. Every error the app raises on purpose is an AppError with a stable `code` and
 * the HTTP `status` it maps to; the HTTP layer turns it into `{error:{code,message,details}}`.
 * Anything else that reaches the HTTP layer is a bug: logged, answered 500, never leaked.
 */

export interface ErrorDetail {
  /** JSON pointer-ish path of the offending field, e.g. `/body/title` or `/query/after`. */
  path: string
  message: string
}

export class AppError extends Error {
  readonly code: string
  readonly status: number
  readonly details: ErrorDetail[]

  constructor(code: string, status: number, message: string, details: ErrorDetail[] = [], cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'AppError'
    this.code = code
    this.status = status
    this.details = details
  }
}

export const badRequest = (message: string, details: ErrorDetail[] = []) =>
  new AppError('bad_request', 400, message, details)
export const unauthorized = (message = 'missing or invalid credentials') => new AppError('unauthorized', 401, message)
export const forbidden = (message: string, details: ErrorDetail[] = []) => new AppError('forbidden', 403, message, details)
export const tooManyRequests = (message: string) => new AppError('too_many_requests', 429, message)
export const notFound = (what: string) => new AppError('not_found', 404, `${what} not found`)
export const conflict = (message: string, details: ErrorDetail[] = []) => new AppError('conflict', 409, message, details)
export const payloadTooLarge = (limit: number) =>
  new AppError('payload_too_large', 413, `request body is larger than ${limit} bytes`)
export const unprocessable = (message: string, details: ErrorDetail[] = []) =>
  new AppError('unprocessable', 422, message, details)
export const unavailable = (message: string, cause?: unknown) => new AppError('unavailable', 503, message, [], cause)

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError
}
