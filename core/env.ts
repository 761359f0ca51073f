/**
 * Reads a flat TypeBox object schema from environment variables: each property is one variable,
 * its `default` and `description` are the documentation (rendered in the README's config table).
 * Strings are coerced to the property's type; a bad value is a 400-style AppError naming the variable.
 */
import { type TObject, type Static, Kind } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { badRequest, type ErrorDetail } from './errors.ts'
import { allowedValuesMessage } from './allowed-values.ts'

export function readEnv<T extends TObject>(schema: T, env: Record<string, string | undefined>): Static<T> {
  const raw: Record<string, unknown> = {}
  const details: ErrorDetail[] = []
  for (const [name, property] of Object.entries(schema.properties)) {
    const text = env[name]
    if (text === undefined || text === '') continue
    const kind = property[Kind]
    if (kind === 'Integer' || kind === 'Number') {
      const value = Number(text)
      if (!Number.isFinite(value)) details.push({ path: name, message: `expected a number, got ${JSON.stringify(text)}` })
      raw[name] = value
    } else if (kind === 'Boolean') {
      if (!/^(1|0|true|false|yes|no)$/i.test(text)) details.push({ path: name, message: 'expected true/false/1/0' })
      raw[name] = /^(1|true|yes)$/i.test(text)
    } else {
      raw[name] = text
    }
  }
  const value = Value.Default(schema, raw) as Record<string, unknown>
  for (const error of Value.Errors(schema, value)) {
    details.push({ path: error.path.slice(1), message: allowedValuesMessage(error.schema, error.value) ?? error.message })
  }
  if (details.length) throw configurationError(details)
  return value as Static<T>
}

/** The start-up refusal naming every bad variable: `invalid configuration: NAME: problem; …`. */
export function configurationError(details: ErrorDetail[]) {
  return badRequest(`invalid configuration: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details)
}
