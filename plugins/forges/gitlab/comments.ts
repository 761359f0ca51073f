/**
 * Comments on a merge request: notes (a `DiffNote` is inline on a line of the diff: the notes API
 * lists them with their `position`, so one stream ordered by `updated_at` carries both kinds) and
 * approvals (`approved_by`, reported as APPROVED reviews with an empty body). System notes ("added
 * 1 commit", "approved this merge request") are GitLab's own records and never comments.
 */
import { ForgeError, type ForgeComment, type PollCursor, type PullRequest } from '../../../core/forge.ts'
import { projectPath, unexpectedAnswer, type GitlabClient } from './client.ts'
import { toPullRequest, type GitlabMergeRequest } from './requests.ts'

export interface GitlabUser { id: number; username: string; bot?: boolean }

export interface GitlabNote {
  id: number
  type: string | null
  body: string
  author: GitlabUser
  system: boolean
  created_at: string
  updated_at: string
  position?: { new_path?: string | null; old_path?: string | null; new_line?: number | null; old_line?: number | null } | null
}

/**
 * GitLab bot users: project and group access tokens act as `project_<id>_bot_<hex>` /
 * `group_<id>_bot_<hex>`, service accounts as `service_account_…`; GitLab's own are `*-bot`.
 */
const BOT_LOGIN = /^(?:(?:project|group)_\d+_bot(?:_[0-9a-f]+)?|service_account_.+|.+-bot|.+\[bot\])$/i
export const isBot = (user: GitlabUser | null | undefined) => Boolean(user && (user.bot || BOT_LOGIN.test(user.username)))

export function noteComment(note: GitlabNote, requestUrl: string): ForgeComment {
  if (!Number.isInteger(note?.id) || typeof note.author?.username !== 'string') throw unexpectedAnswer('a note', 200)
  const inline = note.type === 'DiffNote' && note.position
  return {
    kind: inline ? 'review_comment' : 'issue_comment',
    id: note.id,
    author: note.author.username,
    authorIsBot: isBot(note.author),
    body: note.body ?? '',
    path: inline ? (note.position!.new_path ?? note.position!.old_path ?? null) : null,
    line: inline ? (note.position!.new_line ?? note.position!.old_line ?? null) : null,
    reviewState: null,
    url: requestUrl ? `${requestUrl}#note_${note.id}` : null,
    createdAt: note.created_at,
    updatedAt: note.updated_at,
  }
}

interface Approvals { approved_by?: { user: GitlabUser; approved_at?: string | null }[] }

/** An approval's id is its approver's user id: one approval per person per merge request. */
function approvalComments(approvals: Approvals | null, mr: GitlabMergeRequest): ForgeComment[] {
  return (approvals?.approved_by ?? []).map(({ user, approved_at }) => ({
    kind: 'review', id: user.id, author: user.username, authorIsBot: isBot(user), body: '', path: null, line: null,
    reviewState: 'APPROVED', url: mr.web_url, createdAt: approved_at ?? mr.updated_at, updatedAt: approved_at ?? mr.updated_at,
  }))
}

/**
 * The poll cursor: `since` (the newest note `updated_at` seen) with the ids seen at that instant, so
 * a note is not returned twice when several share a timestamp; the approvers seen; and the request's
 * fingerprint (GitLab touches `updated_at` on every note, so it is no change signal).
 */
interface Cursor { since?: string; seenAtSince?: number[]; approvers?: number[]; request?: string }

const fingerprint = (pr: PullRequest) => JSON.stringify([pr.state, pr.headSha, pr.baseBranch, pr.title, pr.body, pr.draft])
const time = (iso: string) => Date.parse(iso)

export function comments(client: GitlabClient) {
  const mrPath = (repo: string, number: number) => `${projectPath(repo)}/merge_requests/${number}`
  const getMr = (repo: string, number: number) => client.request<GitlabMergeRequest>('GET', mrPath(repo, number), `merge request !${number} of ${repo}`)
  // Asked after the merge request itself was found: a 404 here is an instance without approvals, not a missing request.
  const getApprovals = (repo: string, number: number) => client.request<Approvals>('GET', `${mrPath(repo, number)}/approvals`, `approvals of !${number}`)
    .catch((error) => (error instanceof ForgeError && error.forgeStatus === 404 ? null : Promise.reject(error)))

  return {
    async listComments(repo: string, number: number): Promise<ForgeComment[]> {
      const mr = await getMr(repo, number)
      const notes = await client.list<GitlabNote>(`${mrPath(repo, number)}/notes?sort=asc&order_by=created_at`, `notes of !${number}`)
      const all = [...notes.filter((n) => !n.system).map((n) => noteComment(n, mr.web_url)), ...approvalComments(await getApprovals(repo, number), mr)]
      return all.sort((a, b) => time(a.createdAt) - time(b.createdAt))
    },

    async poll(repo: string, number: number, saved: PollCursor): Promise<{ request: PullRequest | null; comments: ForgeComment[]; cursor: PollCursor }> {
      const cursor = saved as Cursor
      const mr = await getMr(repo, number)
      const pr = toPullRequest(mr)
      const since = cursor.since ? time(cursor.since) : -Infinity
      const seen = new Set(cursor.seenAtSince ?? [])
      // Newest first, read back only as far as the cursor.
      const notes = await client.list<GitlabNote>(`${mrPath(repo, number)}/notes?sort=desc&order_by=updated_at`, `notes of !${number}`, {
        until: (page) => page.some((n) => time(n.updated_at) < since),
      })
      const fresh = notes.filter((n) => time(n.updated_at) > since || (time(n.updated_at) === since && !seen.has(n.id)))
      const newest = notes.reduce((max, n) => Math.max(max, time(n.updated_at)), since)
      const approvers = new Set(cursor.approvers ?? [])
      const approvals = approvalComments(await getApprovals(repo, number), mr)
      const next: Cursor = {
        since: Number.isFinite(newest) ? new Date(newest).toISOString() : undefined,
        seenAtSince: [...new Set(notes.filter((n) => time(n.updated_at) === newest).map((n) => n.id).concat(newest === since ? [...seen] : []))],
        approvers: approvals.map((a) => a.id),
        request: fingerprint(pr),
      }
      return {
        request: cursor.request === next.request ? null : pr,
        comments: [
          ...fresh.filter((n) => !n.system).reverse().map((n) => noteComment(n, mr.web_url)),
          ...approvals.filter((a) => !approvers.has(a.id)),
        ],
        cursor: JSON.parse(JSON.stringify(next)) as PollCursor,
      }
    },

    async comment(repo: string, number: number, body: string): Promise<ForgeComment> {
      const mr = await getMr(repo, number)
      const note = await client.request<GitlabNote>('POST', `${mrPath(repo, number)}/notes`, `comment on !${number}`, { body })
      return noteComment(note, mr.web_url)
    },
  }
}
