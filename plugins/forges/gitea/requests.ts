/**
 * Pull requests on Gitea/Forgejo: find, open, read, commits, files, merge.
 *
 * Drafts are a title prefix on Gitea (its WORK_IN_PROGRESS_PREFIXES, `WIP:` and `[WIP]` by default);
 * newer versions also answer `draft`, which wins when present.
 */
import type { PullRequest, RequestCommit, RequestFile } from '../../../core/forge.ts'
import { ForgeError } from '../../../core/forge.ts'
import type { GiteaHttp } from './client.ts'
import { repoPath } from './repo-url.ts'

const WIP = /^\s*(WIP:|\[WIP\])/i

interface GiteaBranch { ref?: string; sha?: string; repo_id?: number; repo?: { id?: number; full_name?: string } | null }
export interface GiteaPull {
  number: number; html_url?: string; title?: string; body?: string | null; state?: 'open' | 'closed'
  draft?: boolean; merged?: boolean; mergeable?: boolean; merge_commit_sha?: string | null
  user?: { login?: string } | null; head?: GiteaBranch; base?: GiteaBranch; created_at?: string; updated_at?: string
}

export function toRequest(pull: GiteaPull): PullRequest {
  const title = pull.title ?? ''
  const headRepo = pull.head?.repo_id ?? pull.head?.repo?.id
  const baseRepo = pull.base?.repo_id ?? pull.base?.repo?.id
  return {
    number: pull.number,
    url: pull.html_url ?? '',
    title,
    body: pull.body ?? '',
    state: pull.merged ? 'merged' : pull.state === 'closed' ? 'closed' : 'open',
    draft: typeof pull.draft === 'boolean' ? pull.draft : WIP.test(title),
    author: pull.user?.login ?? null,
    headBranch: pull.head?.ref ?? '',
    headSha: pull.head?.sha ?? '',
    baseBranch: pull.base?.ref ?? '',
    // A deleted fork's pull has no head repository (repo_id 0, repo null).
    sameRepo: !!headRepo && headRepo === baseRepo,
    mergeable: pull.state === 'open' && typeof pull.mergeable === 'boolean' ? pull.mergeable : null,
    createdAt: pull.created_at ?? '',
    updatedAt: pull.updated_at ?? '',
  }
}

const isOpenFrom = (pull: GiteaPull, head: string, base: string) =>
  pull.state === 'open' && !pull.merged && pull.head?.ref === head && pull.base?.ref === base && toRequest(pull).sameRepo

export function requestsApi(http: GiteaHttp) {
  const pullPath = (repo: string, number: number) => `${repoPath(repo)}/pulls/${Math.trunc(number)}`
  const getRequest = async (repo: string, number: number) => toRequest(await http.call<GiteaPull>('GET', pullPath(repo, number), `pull request ${number}`))

  return {
    getRequest,

    async findOpenRequest(repo: string, head: string, base: string): Promise<PullRequest | null> {
      // `pulls/{base}/{head}` (Gitea 1.22+, Forgejo) answers the open pull in one call; a head with
      // slashes goes as one escaped segment, as the API description has it (Gitea unescapes the
      // route's tail). Older versions 404 on the route itself, and newer ones may answer a closed
      // pull: both fall back to listing open pulls.
      const byBaseHead = `${repoPath(repo)}/pulls/${encodeURIComponent(base)}/${encodeURIComponent(head)}`
      try {
        const pull = await http.call<GiteaPull>('GET', byBaseHead, 'pull request by base and head')
        if (pull && isOpenFrom(pull, head, base)) return toRequest(pull)
      } catch (error) {
        if (!(error instanceof ForgeError && error.forgeStatus === 404)) throw error
      }
      const open = await http.list<GiteaPull>(`${repoPath(repo)}/pulls?state=open`, 'open pull requests')
      const found = open.find((pull) => isOpenFrom(pull, head, base))
      return found ? toRequest(found) : null
    },

    async openRequest(repo: string, fields: { title: string; body: string; head: string; base: string; draft: boolean }): Promise<PullRequest> {
      const title = fields.draft && !WIP.test(fields.title) ? `WIP: ${fields.title}` : fields.title
      const pull = await http.call<GiteaPull>('POST', `${repoPath(repo)}/pulls`, 'open pull request', { title, body: fields.body, head: fields.head, base: fields.base })
      return toRequest(pull)
    },

    async requestCommits(repo: string, number: number): Promise<RequestCommit[]> {
      // Without `verification` and `files` Gitea skips signature checks and per-commit diffs.
      const commits = await http.list<any>(`${pullPath(repo, number)}/commits?verification=false&files=false`, `commits of pull request ${number}`, 6)
      return commits.map((c) => ({
        sha: String(c.sha ?? ''),
        message: String(c.commit?.message ?? ''),
        author: c.author?.login ?? c.commit?.author?.name ?? null,
        date: c.commit?.author?.date ?? c.created ?? null,
        url: c.html_url ?? null,
      }))
    },

    async requestFiles(repo: string, number: number): Promise<RequestFile[]> {
      const files = await http.list<any>(`${pullPath(repo, number)}/files`, `files of pull request ${number}`)
      const status = (s: string): RequestFile['status'] => (s === 'added' ? 'added' : s === 'deleted' ? 'removed' : s === 'renamed' ? 'renamed' : 'modified')
      // Gitea's changed-file entries carry no patch.
      return files.map((f) => ({ path: String(f.filename ?? ''), status: status(String(f.status ?? '')), additions: Number(f.additions ?? 0), deletions: Number(f.deletions ?? 0), patch: null }))
    },

    async merge(repo: string, number: number, options: { method: 'merge' | 'squash' | 'rebase'; sha?: string; title?: string; message?: string }): Promise<{ sha: string | null }> {
      // `head_commit_id` makes Gitea refuse (409) when the branch moved since the caller looked.
      const body: Record<string, unknown> = { Do: options.method }
      if (options.sha) body.head_commit_id = options.sha
      if (options.title) body.MergeTitleField = options.title
      if (options.message) body.MergeMessageField = options.message
      await http.call('POST', `${pullPath(repo, number)}/merge`, `merge pull request ${number}`, body)
      // The merge answer has no body: the merge commit is read back from the pull.
      const merged = await http.call<GiteaPull>('GET', pullPath(repo, number), `pull request ${number}`)
      return { sha: merged.merge_commit_sha ?? null }
    },
  }
}
