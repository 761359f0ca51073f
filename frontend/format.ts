/** Small formatting helpers for times, durations and numbers. */

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

export function timeAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—'
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000)
  const abs = Math.abs(seconds)
  if (abs < 45) return 'just now'
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute')
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour')
  if (abs < 86400 * 30) return relative.format(Math.round(seconds / 86400), 'day')
  return new Date(iso).toLocaleDateString()
}

export function duration(from: string | null | undefined, to: string | null | undefined, now = Date.now()): string {
  if (!from) return '—'
  const ms = (to ? new Date(to).getTime() : now) - new Date(from).getTime()
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`
}

export const clock = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })

export const count = (value: number | undefined) => (value ?? 0).toLocaleString()

export function usageText(usage: { input_tokens?: number; output_tokens?: number; cost_usd?: number } | null | undefined): string {
  if (!usage) return ''
  const parts = [`${count(usage.input_tokens)} in`, `${count(usage.output_tokens)} out`]
  if (usage.cost_usd !== undefined) parts.push(`$${usage.cost_usd.toFixed(usage.cost_usd < 1 ? 4 : 2)}`)
  return parts.join(' · ')
}

/** A repository URL shortened for display: `github.com/acme/shop`. */
export function shortRepo(url: string | null): string {
  if (!url) return ''
  return url.replace(/^[a-z+]+:\/\//, '').replace(/^[^@/]+@/, '').replace(/\.git$/, '').replace(/^([^/:]+):(?!\d)/, '$1/')
}

/**
 * How the UI names a ticket: `SHOP-12` (the project's key and the ticket's per-project number).
 * Never `#12`: forges link that to their own issue 12 when it is pasted. The key is the project's,
 * else the ticket's own `project_key`; without one, `Ticket 12` (the global id).
 */
export function ticketLabel(project: { key?: string } | null | undefined, ticket: { id: number; number?: number | null; project_key?: string }): string {
  const key = project?.key ?? ticket.project_key
  return key && ticket.number ? `${key}-${ticket.number}` : `Ticket ${ticket.id}`
}
