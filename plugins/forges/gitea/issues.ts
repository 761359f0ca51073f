/**
 * Gitea/Forgejo issues for the intake: an issue (`GET …/issues/:n`, which also answers for pull
 * requests: those are refused as not issues), its label history from the timeline (comments of
 * type `label`: body `1` when the label was added, empty when removed; labels set when the issue is
 * opened are added by the author at the creation time), issues changed since a time
 * (`type=issues&since=…`), a comment, and the `issues` / `issue_label` webhook events.
 * Merging a pull request whose body says `Closes #N` (or fixes/resolves) closes issue N.
 */
import { ForgeError, issuePayloadText as payloadText, type ForgeIssues, type IssueLabelEvent, type PollCursor, type WebhookEvent } from '../../../core/forge.ts'
import { issueFromJson } from '../../../core/forge-http.ts'
import type { GiteaHttp } from './client.ts'
import { isBot } from './comments.ts'
import { repoPath } from './repo-url.ts'

export function issuesApi(http: GiteaHttp): { issues: ForgeIssues } {
  return {
    issues: {
      async get(repo, number) {
        const data = await http.call<any>('GET', `${repoPath(repo)}/issues/${number}`, `issue #${number} of ${repo}`)
        if (data?.pull_request) throw new ForgeError('not_found', 404, `#${number} of ${repo} is a pull request, not an issue`, 404)
        return issueFromJson(data)
      },

      async labelEvents(repo, number) {
        const timeline = await http.list<any>(`${repoPath(repo)}/issues/${number}/timeline`, `timeline of issue #${number} of ${repo}`, 10)
        return timeline
          .filter((item) => item?.type === 'label' && item.label?.name)
          .map((item): IssueLabelEvent => ({
            label: String(item.label.name), action: String(item.body ?? '') === '1' ? 'added' : 'removed',
            actor: typeof item.user?.login === 'string' ? item.user.login : null, actorIsBot: isBot(item.user), at: String(item.created_at ?? ''),
          }))
      },

      async changed(repo, cursor: PollCursor) {
        const since = typeof cursor.since === 'string' ? cursor.since : null
        const query = new URLSearchParams({ type: 'issues', ...(since ? { state: 'all', since } : { state: 'open' }) })
        const found = (await http.list<any>(`${repoPath(repo)}/issues?${query}`, `issues of ${repo}`, 10)).filter((item) => !item?.pull_request).map(issueFromJson)
        const newest = found.reduce((at, issue) => (issue.updatedAt > at ? issue.updatedAt : at), since ?? '')
        return { issues: found, cursor: newest ? { since: newest } : cursor }
      },

      async comment(repo, number, body) {
        const data = await http.call<any>('POST', `${repoPath(repo)}/issues/${number}/comments`, `comment on issue #${number} of ${repo}`, { body })
        return { id: Number(data?.id), url: typeof data?.html_url === 'string' ? data.html_url : null }
      },

      closeKeyword: (number) => `Closes #${number}`,
    },
  }
}

const ACTIONS: Record<string, 'labeled' | 'unlabeled' | 'edited' | 'closed' | 'reopened'> = {
  label_updated: 'labeled', label_cleared: 'unlabeled', edited: 'edited', closed: 'closed', reopened: 'reopened',
}

/** `issues` and `issue_label` deliveries about an issue (not a pull request). */
export function parseIssueEvent(repo: string | null, payload: any): WebhookEvent {
  const number = Number(payload.issue?.number)
  if (!repo || !Number.isSafeInteger(number) || number <= 0 || payload.issue?.pull_request) return { type: 'ignored', reason: 'an issue event without a repository or issue' }
  const action = ACTIONS[String(payload.action)]
  if (!action) return { type: 'ignored', reason: `issue ${String(payload.action)}` }
  const sender = typeof payload.sender?.login === 'string' ? payload.sender.login : null
  return { type: 'issue', repo, number, action, sender, senderIsBot: isBot(payload.sender), ...payloadText(payload) }
}
