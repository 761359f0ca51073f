/**
 * What a commit's checks come to, from the forge-neutral list alone: still going, never started,
 * all passed, or some failed. `cancelled`, `skipped` and `neutral` are finished and not failures
 * (a person cancelled a run, a path filter skipped it): nothing for an agent to fix.
 */
import type { CommitCheck } from '../../forge.ts'

export type Verdict =
  | { kind: 'pending'; started: boolean; queued: string[] }
  | { kind: 'passed' }
  | { kind: 'failed'; failing: CommitCheck[] }

const FINISHED = new Set(['success', 'failure', 'cancelled', 'skipped', 'neutral'])

export function judge(checks: CommitCheck[]): Verdict {
  const open = checks.filter((check) => !FINISHED.has(check.state))
  if (!checks.length || open.length) {
    return { kind: 'pending', started: open.some((check) => check.state === 'running'), queued: open.filter((c) => c.state === 'queued').map((c) => c.name) }
  }
  const failing = checks.filter((check) => check.state === 'failure')
  return failing.length ? { kind: 'failed', failing } : { kind: 'passed' }
}

/** "lint, test and 2 more" */
export function nameList(names: string[], max = 4): string {
  const shown = names.slice(0, max).join(', ')
  return names.length > max ? `${shown} and ${names.length - max} more` : shown
}
