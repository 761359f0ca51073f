/**
 * TypeBox validation for request parts. Path params and query strings arrive as strings and are
 * converted to the schema's types first; bodies are checked as sent (no coercion). Every failure is
 * a 400 whose details name the field, e.g. `{path: "/body/title", message: "Expected string"}`.
 */
import type { TSchema, Static } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { badRequest, type ErrorDetail } from '../errors.ts'

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
  if (options.convert) candidate = Value.Convert(schema, Value.Clone(value))
  candidate = Value.Default(schema, candidate)
  if (check.Check(candidate)) return candidate as Static<T>
  const details: ErrorDetail[] = []
  const seen = new Set<string>()
  for (const error of check.Errors(candidate)) {
    const path = `/${where}${error.path}`
    if (seen.has(path)) continue
    seen.add(path)
    details.push({ path, message: error.message })
    if (details.length >= 20) break
  }
  const first = details[0]
  throw badRequest(first ? `invalid ${where}: ${first.path} ${first.message}` : `invalid ${where}`, details)
}
