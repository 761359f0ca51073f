/**
 * One-line renderings of normalized worker events for the ticket log, and a bounded copy of an
 * event for storage (a tool call's input can hold a whole file).
 */
import type { WorkerEvent } from '../worker.ts'

const LINE_MAX = 300
const FIELD_MAX = 8000

const oneLine = (text: string, max = LINE_MAX) => {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** The most telling argument of a tool call: a path, a command, a pattern, else compact JSON. */
function toolArgument(input: unknown): string {
  if (input && typeof input === 'object') {
    const record = input as Record<string, unknown>
    for (const key of ['file_path', 'filePath', 'path', 'absolute_path', 'command', 'cmd', 'pattern', 'url', 'query']) {
      const value = record[key]
      if (typeof value === 'string') return value
      if (Array.isArray(value)) return value.join(' ')
    }
  }
  if (input === undefined || input === null) return ''
  return typeof input === 'string' ? input : JSON.stringify(input)
}

export function renderEvent(event: WorkerEvent): string {
  switch (event.kind) {
    case 'message':
      return oneLine(event.text)
    case 'tool_call':
      return oneLine(`${event.name}(${toolArgument(event.input)}) ${event.status}`)
    case 'command':
      return oneLine(`$ ${event.cmd} → ${event.exit ?? 'running'}`)
    case 'file_change':
      return oneLine(`${event.change} ${event.path}`)
    case 'error':
      return oneLine(`error: ${event.message}`)
    case 'usage':
      return `usage: ${event.input_tokens} in / ${event.output_tokens} out${event.cost_usd !== undefined ? ` / $${event.cost_usd.toFixed(4)}` : ''}`
    default:
      return oneLine(JSON.stringify(event))
  }
}

/** A copy of `value` whose strings are cut to FIELD_MAX characters (recursively). */
export function boundEvent<T>(value: T): T {
  if (typeof value === 'string') return (value.length > FIELD_MAX ? `${value.slice(0, FIELD_MAX)}… (${value.length - FIELD_MAX} more)` : value) as T
  if (Array.isArray(value)) return value.slice(0, 200).map(boundEvent) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = boundEvent(item)
    return out as T
  }
  return value
}
