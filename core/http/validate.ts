/**
 * TypeBox validation for request parts. Path params and query strings arrive as strings and are
 * converted to the schema's types first, strictly: only plain decimal text becomes a number (TypeBox's
 * own conversion would read `1.5` as 1, `1e3` as 1 and `0x10` as 16, so `/api/projects/1.5` would
 * open project 1). Bodies are checked as sent (no coercion). Every failure is a 400 whose details
 * name the field, e.g. `{path: "/body/title", message: "Expected string"}`; a value outside an
 * enumeration is told the allowed values (`must be one of low, medium, high; got "urgent"`).
 */
import { Kind, type TSchema, type Static, type TObject } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'
import { badRequest, type ErrorDetail } from '../errors.ts'
import { allowedValuesMessage } from '../allowed-values.ts'

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>()

function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let check = compiled.get(schema)
  if (!check) {
    check = TypeCompiler.Compile(schema)
    compiled.set(schema, check)
  }
  return check as TypeCheck<T>
}

export function validate<T extends TSchema>(
  schema: T,
  value: unknown,
  where: 'params' | 'query' | 'body',
  options: { convert?: boolean } = {},
): Static<T> {
  const check = checker(schema)
  let candidate = value
  if (options.convert) candidate = convertStrings(schema, value)
  candidate = Value.Default(schema, candidate)
  if (check.Check(candidate)) return candidate as Static<T>
  const details: ErrorDetail[] = []
  const seen = new Set<string>()
  for (const error of [...check.Errors(candidate)].flatMap(explain)) {
    const path = `/${where}${error.path}`
    if (seen.has(path)) continue
    seen.add(path)
    details.push({ path, message: allowedValuesMessage(error.schema, error.value) ?? error.message })
    if (details.length >= 20) break
  }
  const first = details[0]
  throw badRequest(first ? `invalid ${where}: ${first.path} ${first.message}` : `invalid ${where}`, details)
}

const INTEGER = /^-?\d{1,20}$/
const NUMBER = /^-?\d{1,20}(\.\d{1,20})?$/

/** Converts the string values of a flat object (params, query) to numbers and booleans where the schema wants them. */
function convertStrings(schema: TSchema, value: unknown): unknown {
  const properties = (schema as TObject).properties
  if (!properties || typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, raw] of Object.entries(value)) {
    const kind = properties[key]?.[Kind]
    if (typeof raw !== 'string') out[key] = raw
    else if (kind === 'Integer') out[key] = INTEGER.test(raw) ? Number(raw) : raw
    else if (kind === 'Number') out[key] = NUMBER.test(raw) ? Number(raw) : raw
    else if (kind === 'Boolean') out[key] = raw === 'true' ? true : raw === 'false' ? false : raw
    else out[key] = raw
  }
  return out
}

/**
 * A union's own error only says "Expected union value" at the union's path. When one variant got
 * further into the value (e.g. the object variant matched and one of its fields is wrong), its
 * errors name the field; the variant reaching deepest wins, then the one with fewer errors.
 */
function explain(error: ValueError): ValueError[] {
  if (error.type !== ValueErrorType.Union || !error.errors?.length) return [error]
  const depth = (errors: ValueError[]) => Math.max(...errors.map((e) => e.path.split('/').length))
  let best: ValueError[] | undefined
  for (const variant of error.errors) {
    const errors = [...variant].flatMap(explain)
    if (!errors.length) continue
    if (!best || depth(errors) > depth(best) || (depth(errors) === depth(best) && errors.length < best.length)) best = errors
  }
  return best && depth(best) > depth([error]) ? best : [error]
}
