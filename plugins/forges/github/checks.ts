/**
 * GitHub's CI checks of a commit, as one list: check runs (`GET …/commits/:sha/check-runs`, newest
 * run per name: GitHub's default `filter=latest`) and the combined commit status (`GET
 * …/commits/:sha/status`, newest per context). A failed run's output (title, summary, text) is its
 * excerpt; a status has only its description. Webhooks: `check_run`, `check_suite` and `status`
 * deliveries name the commit (and, for check events, the pull requests it heads).
 */
import { EXCERPT_MAX_BYTES, type CheckState, type CommitCheck, type ForgeChecks, type WebhookEvent } from '../../../core/forge.ts'
import type { GithubHttp } from './http.ts'

const SHA = /^[0-9a-f]{40}$/i

/** check run `status` + `conclusion` → state. `timed_out`, `action_required`, `startup_failure` fail; `stale` counts as neutral. */
function runState(run: any): CheckState {
  if (run.status !== 'completed') return run.status === 'in_progress' ? 'running' : 'queued'
  const conclusion = String(run.conclusion ?? '')
  if (conclusion === 'success') return 'success'
  if (conclusion === 'cancelled') return 'cancelled'
  if (conclusion === 'skipped') return 'skipped'
  if (conclusion === 'neutral' || conclusion === 'stale') return 'neutral'
  return 'failure'
}

/** commit status `state` → state: `pending` has no started/queued distinction on GitHub: it counts as running. */
const STATUS_STATES: Record<string, CheckState> = { success: 'success', failure: 'failure', error: 'failure', pending: 'running' }

const text = (value: unknown, max: number) => (typeof value === 'string' && value ? value.slice(0, max) : null)
const url = (value: unknown) => (typeof value === 'string' && /^https?:\/\//.test(value) ? value : null)

function fromRun(run: any): CommitCheck {
  const state = runState(run)
  const output = run.output ?? {}
  const excerpt = state === 'failure' ? [output.title, output.summary, output.text].filter((part) => typeof part === 'string' && part).join('\n\n') : ''
  return {
    name: String(run.name ?? 'check'),
    state,
    summary: text(output.title, 500) ?? (run.conclusion ? String(run.conclusion) : null),
    detailsUrl: url(run.details_url) ?? url(run.html_url),
    excerpt: excerpt ? excerpt.slice(-EXCERPT_MAX_BYTES) : null,
  }
}

function fromStatus(status: any): CommitCheck {
  const state = STATUS_STATES[String(status.state)] ?? 'neutral'
  return { name: String(status.context ?? 'status'), state, summary: text(status.description, 500), detailsUrl: url(status.target_url), excerpt: state === 'failure' ? text(status.description, 500) : null }
}

export function checksApi(http: GithubHttp, repoPath: (repo: string) => string): ForgeChecks {
  return {
    async list(repo, sha) {
      if (!SHA.test(sha)) return []
      const path = `/repos/${repoPath(repo)}/commits/${sha}`
      const [runs, combined] = await Promise.all([
        http.get<any>(`${path}/check-runs?per_page=100`, `check runs of ${sha.slice(0, 10)} on ${repo}`),
        http.get<any>(`${path}/status?per_page=100`, `commit statuses of ${sha.slice(0, 10)} on ${repo}`),
      ])
      const checks = new Map<string, CommitCheck>()
      // Statuses first: a check run of the same name wins (it carries output).
      for (const status of combined.data?.statuses ?? []) if (!checks.has(String(status.context))) checks.set(String(status.context), fromStatus(status))
      for (const run of runs.data?.check_runs ?? []) checks.set(String(run.name), fromRun(run))
      return [...checks.values()]
    },
  }
}

/** `check_run`, `check_suite`, `status` deliveries as a checks event; null for any other event. */
export function parseChecksEvent(event: string, repo: string, payload: any): WebhookEvent | null {
  const subject = event === 'check_run' ? payload.check_run : event === 'check_suite' ? payload.check_suite : event === 'status' ? payload : null
  if (!subject) return null
  const sha = event === 'status' ? subject.sha : subject.head_sha
  if (typeof sha !== 'string' || !SHA.test(sha)) return { type: 'ignored', reason: `${event} without a commit` }
  const pulls = Array.isArray(subject.pull_requests) ? subject.pull_requests : []
  const number = pulls.length === 1 && typeof pulls[0]?.number === 'number' ? pulls[0].number as number : null
  return { type: 'checks', repo, sha, number }
}
