/**
 * GitLab issues for the intake: an issue (`GET /projects/:id/issues/:iid`), its label history
 * (`resource_label_events`: `add` / `remove` with the user; labels set when the issue is opened are
 * `add` events by the author at the creation time), issues changed since a time
 * (`updated_after`, oldest first), a note on the issue, and the `Issue Hook` webhook event.
 * GitLab's default closing pattern closes issue N when a merge request whose description says
 * `Closes #N` is merged into the default branch.
 */
import type { ForgeIssue, ForgeIssues, IssueLabelEvent, PollCursor, WebhookEvent } from '../../../core/forge.ts'
import { projectPath, unexpectedAnswer, type GitlabClient } from './client.ts'
import { isBot } from './comments.ts'

export function toIssue(data: any): ForgeIssue {
  if (!Number.isInteger(data?.iid)) throw unexpectedAnswer('an issue', 200)
  return {
    number: data.iid,
    url: typeof data.web_url === 'string' ? data.web_url : null,
    title: String(data.title ?? ''),
    body: String(data.description ?? ''),
    state: data.state === 'closed' ? 'closed' : 'open',
    labels: (Array.isArray(data.labels) ? data.labels : []).map((label: any) => String(typeof label === 'string' ? label : label?.name ?? label?.title ?? '')).filter(Boolean),
    author: typeof data.author?.username === 'string' ? data.author.username : null,
    createdAt: String(data.created_at ?? ''),
    updatedAt: String(data.updated_at ?? ''),
  }
}

export function issues(client: GitlabClient): { issues: ForgeIssues } {
  return {
    issues: {
      async get(repo, number) {
        return toIssue(await client.request<any>('GET', `${projectPath(repo)}/issues/${number}`, `issue #${number} of ${repo}`))
      },

      async labelEvents(repo, number) {
        const events = await client.list<any>(`${projectPath(repo)}/issues/${number}/resource_label_events`, `label events of issue #${number} of ${repo}`, { maxPages: 10 })
        return events
          .filter((event) => (event?.action === 'add' || event?.action === 'remove') && event.label?.name)
          .map((event): IssueLabelEvent => ({
            label: String(event.label.name), action: event.action === 'add' ? 'added' : 'removed',
            actor: typeof event.user?.username === 'string' ? event.user.username : null, actorIsBot: isBot(event.user), at: String(event.created_at ?? ''),
          }))
      },

      async changed(repo, cursor: PollCursor) {
        const since = typeof cursor.since === 'string' ? cursor.since : null
        const query = new URLSearchParams({ order_by: 'updated_at', sort: 'asc', ...(since ? { state: 'all', updated_after: since } : { state: 'opened' }) })
        const found = (await client.list<any>(`${projectPath(repo)}/issues?${query}`, `issues of ${repo}`, { maxPages: 10 })).map(toIssue)
        const newest = found.reduce((at, issue) => (issue.updatedAt > at ? issue.updatedAt : at), since ?? '')
        return { issues: found, cursor: newest ? { since: newest } : cursor }
      },

      async comment(repo, number, body) {
        const note = await client.request<any>('POST', `${projectPath(repo)}/issues/${number}/notes`, `note on issue #${number} of ${repo}`, { body })
        return { id: Number(note.id), url: null }
      },

      closeKeyword: (number) => `Closes #${number}`,
    },
  }
}

const titles = (list: unknown) => new Set((Array.isArray(list) ? list : []).map((label: any) => String(label?.title ?? label?.name ?? '')))

/** `Issue Hook`: close, reopen, and an update that changed the title/description (edited) or added/removed labels. */
export function parseIssueHook(repo: string, payload: any): WebhookEvent {
  const attributes = payload.object_attributes
  if (!Number.isInteger(attributes?.iid)) return { type: 'ignored', reason: 'issue hook without object_attributes.iid' }
  const changes = payload.changes ?? {}
  const text = typeof attributes.title === 'string'
    ? { title: attributes.title, body: typeof attributes.description === 'string' ? attributes.description : '', at: typeof attributes.updated_at === 'string' ? attributes.updated_at : null }
    : null
  const base = {
    type: 'issue' as const, repo, number: attributes.iid as number, sender: typeof payload.user?.username === 'string' ? payload.user.username : null, senderIsBot: isBot(payload.user),
    text, changed: { title: Boolean(changes.title), body: Boolean(changes.description) },
  }
  if (attributes.action === 'close') return { ...base, action: 'closed' }
  if (attributes.action === 'reopen') return { ...base, action: 'reopened' }
  if (attributes.action !== 'update') return { type: 'ignored', reason: `issue ${String(attributes.action)}` }
  if (changes.title || changes.description) return { ...base, action: 'edited' }
  if (changes.labels) {
    const before = titles(changes.labels.previous)
    return { ...base, action: [...titles(changes.labels.current)].some((label) => !before.has(label)) ? 'labeled' : 'unlabeled' }
  }
  return { type: 'ignored', reason: 'issue update that changed neither labels, title nor description' }
}
