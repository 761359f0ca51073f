/** One line describing a job event, for the board's running cards and compact lists. */
import { usageText } from './format.ts'

export interface EventLike {
  step?: string
  summary?: string
  event?: Record<string, unknown> | null
}

export function eventLine(entry: EventLike): string {
  const event = entry.event as Record<string, any> | null | undefined
  if (entry.summary) return firstLine(entry.summary)
  switch (event?.kind) {
    case 'message':
      return firstLine(String(event.text ?? ''))
    case 'tool_call':
      return `${event.name ?? 'tool'}${event.status && event.status !== 'started' ? ` (${event.status})` : '…'}`
    case 'command':
      return `$ ${firstLine(String(event.cmd ?? ''))}`
    case 'file_change':
      return `${event.change ?? 'changed'} ${event.path ?? ''}`
    case 'error':
      return `Error: ${firstLine(String(event.message ?? ''))}`
    case 'usage':
      return usageText(event)
  }
  return entry.step ?? ''
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? ''
  return line.length > 140 ? `${line.slice(0, 139)}…` : line
}
