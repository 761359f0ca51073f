/**
 * GitHub issues for the intake: an issue (`GET …/issues/:n`, which also answers for pull requests:
 * those are refused as not issues), its label history from the issue events (`labeled` /
 * `unlabeled` with their actor; labels set when the issue is opened are `labeled` events by the
 * author at the creation time), issues changed since a time (`GET …/issues?state=all&since=…`,
 * pull requests left out), a comment, and the `issues` webhook event.
 * Merging a pull request whose body says `Closes #N` (or fixes/resolves) closes issue N.
 */
import { ForgeError, issuePayloadText as payloadText, type ForgeIssues, type IssueLabelEvent, type PollCursor, type WebhookEvent } from '../../../core/forge.ts'
import { issueFromJson } from '../../../core/forge-http.ts'
import type { GithubHttp } from './http.ts'

const ISSUE_ACTIONS = new Set(['labeled', 'unlabeled', 'edited', 'closed', 'reopened'])
const isBot = (user: any) => user?.type === 'Bot' || /\[bot\]$/.test(String(user?.login ?? ''))

/** `repoPath` is the client's check of `owner/name`. */
export function issuesApi(http: GithubHttp, repoPath: (repo: string) => string): ForgeIssues {
  return {
    async get(repo, number) {
      const { data } = await http.get<any>(`/repos/${repoPath(repo)}/issues/${number}`, `issue #${number} of ${repo}`)
      if (data?.pull_request) throw new ForgeError('not_found', 404, `#${number} of ${repo} is a pull request, not an issue`, 404)
      return issueFromJson(data)
    },

    async labelEvents(repo, number) {
      const res = await http.list<any>(`/repos/${repoPath(repo)}/issues/${number}/events`, `events of issue #${number} of ${repo}`, { maxPages: 10 })
      return (res.data ?? [])
        .filter((event) => (event?.event === 'labeled' || event?.event === 'unlabeled') && event.label?.name)
        .map((event): IssueLabelEvent => ({
          label: String(event.label.name), action: event.event === 'labeled' ? 'added' : 'removed',
          actor: typeof event.actor?.login === 'string' ? event.actor.login : null, actorIsBot: isBot(event.actor), at: String(event.created_at ?? ''),
        }))
    },

    async changed(repo, cursor: PollCursor) {
      const since = typeof cursor.since === 'string' ? cursor.since : null
      const query = new URLSearchParams(since ? { state: 'all', sort: 'updated', direction: 'asc', since } : { state: 'open', sort: 'updated', direction: 'asc' })
      const res = await http.list<any>(`/repos/${repoPath(repo)}/issues?${query}`, `issues of ${repo}`, { maxPages: 10 })
      const issues = (res.data ?? []).filter((item) => !item?.pull_request).map(issueFromJson)
      const newest = issues.reduce((at, issue) => (issue.updatedAt > at ? issue.updatedAt : at), since ?? '')
      return { issues, cursor: newest ? { since: newest } : cursor }
    },

    async comment(repo, number, body) {
      const { data } = await http.request<any>('POST', `/repos/${repoPath(repo)}/issues/${number}/comments`, `comment on issue #${number} of ${repo}`, { body: { body } })
      return { id: Number(data?.id), url: typeof data?.html_url === 'string' ? data.html_url : null }
    },

    closeKeyword: (number) => `Closes #${number}`,
  }
}

/** The `issues` event (labeled, unlabeled, edited, closed, reopened) of an issue, not a pull request. */
export function parseIssueEvent(repo: string, payload: any): WebhookEvent {
  const number = payload.issue?.number
  if (payload.issue?.pull_request || typeof number !== 'number') return { type: 'ignored', reason: 'issues event about a pull request' }
  if (!ISSUE_ACTIONS.has(payload.action)) return { type: 'ignored', reason: `issues ${String(payload.action)}` }
  const sender = typeof payload.sender?.login === 'string' ? payload.sender.login : null
  return { type: 'issue', repo, number, action: payload.action, sender, senderIsBot: isBot(payload.sender), ...payloadText(payload) }
}
