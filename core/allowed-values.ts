/**
 * What a value outside an enumeration is told: the values allowed. TypeBox reports a failed union
 * as "Expected union value"; for a Literal, or a Union of Literals (nested unions included), this
 * gives `must be one of dind, dood; got "podman"` instead. Used by request validation and by the
 * environment readers, so the API and the start-up errors name the same values.
 */
import { Kind, type TSchema } from '@sinclair/typebox'

/** The literal values `schema` allows, or null when it is not an enumeration of literals. */
export function allowedValues(schema: TSchema | undefined): unknown[] | null {
  if (!schema) return null
  if (schema[Kind] === 'Literal') return [schema.const]
  if (schema[Kind] !== 'Union' || !Array.isArray(schema.anyOf)) return null
  const values: unknown[] = []
  for (const variant of schema.anyOf as TSchema[]) {
    const inner = allowedValues(variant)
    if (!inner) return null
    values.push(...inner)
  }
  return values
}

/** `must be one of a, b; got "x"` when `schema` is an enumeration of literals, else null. */
export function allowedValuesMessage(schema: TSchema | undefined, value: unknown): string | null {
  const values = allowedValues(schema)
  if (!values) return null
  const list = values.map((entry) => String(entry)).join(', ')
  const got = value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value)
  return values.length === 1 ? `must be ${list}; got ${got}` : `must be one of ${list}; got ${got}`
}
