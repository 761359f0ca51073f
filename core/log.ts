/**
 * A tiny leveled logger writing one JSON line per record to stderr. Values registered with
 * `redact` are replaced by `***` in every record, so a secret that slips into a message or a
 * field still never reaches the log.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  child(fields: Record<string, unknown>): Logger
}

const secrets = new Set<string>()

/** Registers a secret value; it is masked in every later log record and `redactText` call. */
export function redact(value: string | undefined | null): void {
  if (value && value.length >= 4) secrets.add(value)
}

/**
 * Credentials the app issues, recognised by shape: job tokens (`tj1.<payload>.<signature>`) and
 * the `tco_`/`twk_`/`tpa_` prefixed 256-bit coordinator tokens, generated worker keys and personal
 * API tokens. Session ids travel only in cookies, never in text. The first-admin setup code is left
 * out on purpose: it is shown to the operator on stdout and in the log at start, no route returns
 * it, and it dies with the first account.
 */
const ISSUED_CREDENTIAL = /tj1\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|(?:tco|twk|tpa)_[A-Za-z0-9_-]{20,}/g

/** Replaces every registered secret and every issued credential in `text` with `***`. */
export function redactText(text: string): string {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***')
  return out.replace(ISSUED_CREDENTIAL, '***')
}

/** `redactText` for nullable stored fields. */
export function redactNullable(text: string | null): string | null {
  return text === null ? null : redactText(text)
}

export function createLogger(
  level: LogLevel = 'info',
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const emit = (at: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (order[at] < order[level]) return
    const record = { time: new Date().toISOString(), level: at, msg: message, ...base, ...fields }
    write(redactText(JSON.stringify(record, errorReplacer)))
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  }
}

function errorReplacer(_key: string, value: unknown) {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack }
  return value
}
