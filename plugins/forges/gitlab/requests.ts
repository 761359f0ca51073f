/**
 * Merge requests: find, open, read, commits, diffs and merge. A request's `number` is the merge
 * request's `iid` (what its URL shows); GitLab allows one open merge request per source branch and
 * answers 409 to a second.
 */
import { ForgeError, type PullRequest, type RequestCommit, type RequestFile, type RequestState } from '../../../core/forge.ts'
import { projectPath, unexpectedAnswer, type GitlabClient } from './client.ts'

export interface GitlabMergeRequest {
  iid: number
  title: string
  description: string | null
  state: 'opened' | 'closed' | 'merged' | 'locked'
  draft?: boolean
  work_in_progress?: boolean
  author: { username: string } | null
  source_branch: string
  target_branch: string
  source_project_id: number
  target_project_id: number
  sha: string | null
  merge_status?: string
  detailed_merge_status?: string
  merge_commit_sha?: string | null
  squash_commit_sha?: string | null
  web_url: string
  created_at: string
  updated_at: string
}

interface GitlabDiff { old_path: string; new_path: string; diff: string; new_file: boolean; renamed_file: boolean; deleted_file: boolean }

/** GitLab marks drafts by a title prefix; the prefix is not part of the title the app set. */
const DRAFT_PREFIX = /^\s*(?:\[draft\]|\(draft\)|draft:|draft\s-\s|draft\s)\s*/i

const STATES: Record<GitlabMergeRequest['state'], RequestState> = { opened: 'open', closed: 'closed', locked: 'closed', merged: 'merged' }

/** `detailed_merge_status` (GitLab 15.6+), else the older `merge_status`; null while GitLab checks. */
function mergeable(mr: GitlabMergeRequest): boolean | null {
  const detailed = mr.detailed_merge_status
  if (detailed && ['checking', 'unchecked', 'preparing', 'approvals_syncing'].includes(detailed)) return null
  if (detailed && ['conflict', 'broken_status', 'need_rebase'].includes(detailed)) return false
  if (detailed === 'mergeable') return true
  if (mr.merge_status === 'can_be_merged') return true
  if (mr.merge_status?.startsWith('cannot_be_merged')) return false
  return null
}

export function toPullRequest(mr: GitlabMergeRequest): PullRequest {
  if (!Number.isInteger(mr?.iid) || typeof mr.title !== 'string' || typeof mr.source_branch !== 'string') throw unexpectedAnswer('a merge request', 200)
  return {
    number: mr.iid,
    url: mr.web_url,
    title: mr.title.replace(DRAFT_PREFIX, ''),
    body: mr.description ?? '',
    state: STATES[mr.state] ?? 'closed',
    draft: Boolean(mr.draft ?? mr.work_in_progress),
    author: mr.author?.username ?? null,
    headBranch: mr.source_branch,
    headSha: mr.sha ?? '',
    baseBranch: mr.target_branch,
    sameRepo: mr.source_project_id === mr.target_project_id,
    mergeable: mergeable(mr),
    createdAt: mr.created_at,
    updatedAt: mr.updated_at,
  }
}

const mrPath = (repo: string, number: number) => `${projectPath(repo)}/merge_requests/${number}`
const query = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

export function requests(client: GitlabClient) {
  return {
    async findOpenRequest(repo: string, head: string, base: string): Promise<PullRequest | null> {
      const found = await client.list<GitlabMergeRequest>(
        `${projectPath(repo)}/merge_requests?${query({ state: 'opened', source_branch: head, target_branch: base })}`, `merge requests of ${repo}`, { maxPages: 1 })
      // Same-project only: a fork's merge request into this project has its own source project.
      const own = found.find((mr) => mr.source_branch === head && mr.target_branch === base && mr.source_project_id === mr.target_project_id)
      return own ? toPullRequest(own) : null
    },

    async openRequest(repo: string, fields: { title: string; body: string; head: string; base: string; draft: boolean }): Promise<PullRequest> {
      const title = fields.draft ? `Draft: ${fields.title}` : fields.title
      const mr = await client.request<GitlabMergeRequest>('POST', `${projectPath(repo)}/merge_requests`, `open a merge request in ${repo}`, {
        source_branch: fields.head, target_branch: fields.base, title, description: fields.body,
      })
      return toPullRequest(mr)
    },

    async getRequest(repo: string, number: number): Promise<PullRequest> {
      return toPullRequest(await client.request<GitlabMergeRequest>('GET', mrPath(repo, number), `merge request !${number} of ${repo}`))
    },

    async requestCommits(repo: string, number: number): Promise<RequestCommit[]> {
      const commits = await client.list<{ id: string; message: string; author_name?: string; authored_date?: string; web_url?: string }>(
        `${mrPath(repo, number)}/commits`, `commits of !${number}`, { maxPages: 5 })
      return commits.map((c) => ({ sha: c.id, message: c.message, author: c.author_name ?? null, date: c.authored_date ?? null, url: c.web_url ?? null }))
    },

    /**
     * `GET …/diffs` (GitLab 15.7+, paginated), else `GET …/changes` (older instances; deprecated
     * since): one entry per file; additions/deletions are counted from its patch.
     */
    async requestFiles(repo: string, number: number): Promise<RequestFile[]> {
      let diffs: GitlabDiff[]
      try {
        diffs = await client.list<GitlabDiff>(`${mrPath(repo, number)}/diffs`, `diffs of !${number}`, { maxPages: 30 })
      } catch (error) {
        if (!(error instanceof ForgeError && error.forgeStatus === 404)) throw error
        // A missing merge request is a 404 here too, and stays one.
        diffs = (await client.request<{ changes?: GitlabDiff[] }>('GET', `${mrPath(repo, number)}/changes`, `changes of !${number}`))?.changes ?? []
      }
      return diffs.map((d) => {
        const lines = (d.diff ?? '').split('\n')
        return {
          path: d.deleted_file ? d.old_path : d.new_path,
          status: d.new_file ? 'added' : d.deleted_file ? 'removed' : d.renamed_file ? 'renamed' : 'modified',
          additions: lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length,
          deletions: lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).length,
          patch: d.diff || null,
        }
      })
    },

    /**
     * `PUT …/merge`. GitLab's merge method (merge commit, semi-linear, fast-forward) is the project's
     * setting: `merge` and `rebase` both accept the request as the project merges; `squash` squashes.
     */
    async merge(repo: string, number: number, options: { method: 'merge' | 'squash' | 'rebase'; sha?: string; title?: string; message?: string }): Promise<{ sha: string | null }> {
      const message = [options.title, options.message].filter(Boolean).join('\n\n')
      const squash = options.method === 'squash'
      const mr = await client.request<GitlabMergeRequest>('PUT', `${mrPath(repo, number)}/merge`, `merge !${number} of ${repo}`, {
        squash,
        ...(options.sha ? { sha: options.sha } : {}),
        ...(message ? { [squash ? 'squash_commit_message' : 'merge_commit_message']: message } : {}),
      })
      return { sha: mr?.merge_commit_sha ?? mr?.squash_commit_sha ?? mr?.sha ?? null }
    },
  }
}
