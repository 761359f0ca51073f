/**
 * Gitea's CI checks of a commit: its commit statuses (`GET /repos/:owner/:repo/commits/:sha/statuses`,
 * every status ever posted, newest first), newest per context. Gitea keeps no log: a failed
 * status's excerpt is its description. Webhook: the `status` event names the commit.
 */
import type { CheckState, CommitCheck, ForgeChecks, WebhookEvent } from '../../../core/forge.ts'
import type { GiteaHttp } from './client.ts'
import { repoPath } from './repo-url.ts'

const SHA = /^[0-9a-f]{40}$/i

/** `warning` is Gitea's "passed with remarks": not a failure to fix. */
const STATES: Record<string, CheckState> = { pending: 'running', success: 'success', error: 'failure', failure: 'failure', warning: 'neutral' }

interface GiteaStatus { id: number; status?: string; state?: string; context?: string; description?: string; target_url?: string }

export function checksApi(http: GiteaHttp): ForgeChecks {
  return {
    async list(repo, sha) {
      if (!SHA.test(sha)) return []
      const statuses = await http.list<GiteaStatus>(`${repoPath(repo)}/commits/${sha}/statuses?sort=newest`, `statuses of ${sha.slice(0, 10)}`, 4)
      const newest = new Map<string, GiteaStatus>()
      for (const status of statuses) {
        const context = String(status.context ?? 'default')
        if ((newest.get(context)?.id ?? -1) < status.id) newest.set(context, status)
      }
      return [...newest.entries()].map(([context, status]): CommitCheck => {
        const state = STATES[String(status.status ?? status.state)] ?? 'neutral'
        const description = typeof status.description === 'string' && status.description ? status.description.slice(0, 500) : null
        return {
          name: context, state, summary: description, excerpt: state === 'failure' ? description : null,
          detailsUrl: typeof status.target_url === 'string' && /^https?:\/\//.test(status.target_url) ? status.target_url : null,
        }
      })
    },
  }
}

/** A `status` delivery as a checks event. */
export function parseStatusEvent(repo: string | null, payload: any): WebhookEvent {
  const sha = payload.sha
  if (!repo || typeof sha !== 'string' || !SHA.test(sha)) return { type: 'ignored', reason: 'a status event without a repository or commit' }
  return { type: 'checks', repo, sha, number: null }
}
