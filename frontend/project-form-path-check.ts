/**
 * After a local-mode project is saved, the form waits a few seconds for a coordinator serving the
 * project to check its path where it lives (GET /api/projects/:id/path-check): it asks once a second
 * while a coordinator is online and the check is pending, for at most `waitMs`. Never in the way of
 * the save: a failed read is the same as no answer yet.
 */
import { api } from './api.ts'

export interface PathCheck {
  status: 'none' | 'pending' | 'ok' | 'problem'
  text: string | null
  fix: { kind: 'project'; field: string } | null
  checked_on: string | null
  checked_at: string | null
  coordinators_online: number
}

/** The check's answer, or the pending state when none came in `waitMs`. */
export async function waitForPathCheck(projectId: number, waitMs = 6000): Promise<PathCheck | null> {
  const deadline = Date.now() + waitMs
  let last: PathCheck | null = null
  for (;;) {
    last = await api.get<PathCheck>(`/api/projects/${projectId}/path-check`).catch(() => last)
    if (!last || last.status !== 'pending' || last.coordinators_online === 0 || Date.now() >= deadline) return last
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/** The sentence people read about it after the save. */
export function pathCheckText(check: PathCheck | null): string | null {
  if (!check || check.status === 'none') return null
  if (check.status === 'ok') return `The path was checked on ${check.checked_on}: it is a checkout of the repository.`
  if (check.status === 'problem') return `${check.text}.`
  return check.coordinators_online === 0
    ? `${check.text}.`
    : 'No coordinator answered in time: the path will be checked by a coordinator before the first run.'
}
