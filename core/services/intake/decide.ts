/**
 * Who applied an intake label, and whether that may import the issue. The issue's text becomes an
 * agent's prompt run with the project's credentials, so only a label a person with write access
 * applied after the issue was opened counts: not a bot's, not one set when the issue was opened (an
 * issue template's labels, or the opener's own: on GitHub these are `labeled` events by the author at
 * the creation time), not one of unknown origin. The writer check itself is the forge's (`canWrite`).
 */
import type { ForgeIssue, IssueLabelEvent } from '../../forge.ts'

/** Labels set within this long after the issue was opened count as set with it. */
export const AT_CREATION_MS = 10_000

export interface IntakeLabels {
  /** Imports into the Backlog. */
  label: string | null
  /** Imports and moves to In Progress. */
  startLabel: string | null
}

export interface LabelApplication {
  label: string
  start: boolean
  event: IssueLabelEvent | null
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** The intake labels the issue carries now, the start label first, each with the latest event that added it. */
export function applications(issue: ForgeIssue, events: IssueLabelEvent[], labels: IntakeLabels): LabelApplication[] {
  const found: LabelApplication[] = []
  for (const [label, start] of [[labels.startLabel, true], [labels.label, false]] as const) {
    if (!label || !issue.labels.some((name) => same(name, label))) continue
    const added = events.filter((event) => event.action === 'added' && same(event.label, label))
    found.push({ label, start, event: added[added.length - 1] ?? null })
  }
  return found
}

/** Why an application cannot import, before the writer check; null when only that check remains. */
export function refusalOf(issue: ForgeIssue, application: LabelApplication): string | null {
  const event = application.event
  if (!event || !event.actor) return `label "${application.label}": the forge does not say who applied it`
  if (event.actorIsBot) return `label "${application.label}" was applied by the bot ${event.actor}`
  const since = Date.parse(event.at) - Date.parse(issue.createdAt)
  if (Number.isFinite(since) && since <= AT_CREATION_MS) {
    return `label "${application.label}" was set when the issue was opened by ${event.actor} (an issue template's or the opener's own label); a writer must apply it afterwards`
  }
  return null
}
