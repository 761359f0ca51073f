/** The GitHub client of one connection: requests, comments, polling, the writer check and merge. */
import { ForgeError, type ForgeClient, type ForgeComment } from '../../../core/forge.ts'
import type { GithubHttp } from './http.ts'
import { poll, STREAMS } from './poll.ts'
import { fromIssueComment, toCommit, toFile, toPullRequest } from './shapes.ts'
import { issuesApi } from './issues.ts'
import { checksApi } from './checks.ts'

/** GitHub permissions that may push, and so may ask an agent to push. */
const WRITE_PERMISSIONS = new Set(['admin', 'maintain', 'write'])
const SEGMENT = /^(?!\.\.?$)[A-Za-z0-9_.-]+$/
const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/
const GITHUB_SCOPES = /^[a-z:_, ]{0,200}$/

/** `owner/name` checked before it becomes part of an API path. */
function repoPath(repo: string): string {
  const parts = repo.split('/')
  if (parts.length !== 2 || !parts.every((part) => SEGMENT.test(part))) {
    throw new ForgeError('bad_repository', 400, `not a GitHub repository path (owner/name): ${JSON.stringify(repo.slice(0, 100))}`, null)
  }
  return repo
}

const isNotFound = (error: unknown) => error instanceof ForgeError && error.forgeStatus === 404

export function githubClient(http: GithubHttp): ForgeClient {
  return {
    /**
     * Only a login (and scopes) shaped like GitHub's is returned: an API URL pointed at another
     * service must not get its answer read back through the settings Test.
     */
    async whoami() {
      const { data, headers } = await http.get<{ login?: string }>('/user', 'the token\'s user')
      const login = String(data?.login ?? '')
      if (!GITHUB_LOGIN.test(login)) throw new ForgeError('forge_unexpected_answer', 502, 'the API URL does not answer like the GitHub API (/user)', 200)
      const scopes = headers.get('x-oauth-scopes')
      return { login, scopes: scopes !== null && GITHUB_SCOPES.test(scopes) ? scopes.trim() : null }
    },

    async repository(repo) {
      try {
        const { data } = await http.get<any>(`/repos/${repoPath(repo)}`, `repository ${repo}`)
        return { defaultBranch: String(data?.default_branch ?? 'main'), canPush: data?.permissions?.push === true, private: !!data?.private }
      } catch (error) {
        if (isNotFound(error)) return null
        throw error
      }
    },

    async findOpenRequest(repo, head, base) {
      const owner = repoPath(repo).split('/')[0]!
      const query = new URLSearchParams({ state: 'open', head: `${owner}:${head}`, base })
      const open = await http.list<any>(`/repos/${repo}/pulls?${query}`, `open pull requests of ${head}`, { maxPages: 1 })
      const found = (open.data ?? []).find((pull) => pull.head?.ref === head && pull.base?.ref === base)
      return found ? toPullRequest(repo, found) : null
    },

    async openRequest(repo, fields) {
      const { data } = await http.request<any>('POST', `/repos/${repoPath(repo)}/pulls`, `open the pull request of ${fields.head}`, {
        body: { title: fields.title, head: fields.head, base: fields.base, body: fields.body, draft: fields.draft, maintainer_can_modify: true },
      })
      return toPullRequest(repo, data)
    },

    async getRequest(repo, number) {
      const { data } = await http.get<any>(`/repos/${repoPath(repo)}/pulls/${number}`, `pull request #${number} of ${repo}`)
      return toPullRequest(repo, data)
    },

    async requestCommits(repo, number) {
      const res = await http.list<any>(`/repos/${repoPath(repo)}/pulls/${number}/commits`, `commits of #${number} of ${repo}`, { maxPages: 3 })
      return (res.data ?? []).map(toCommit)
    },

    async requestFiles(repo, number) {
      const res = await http.list<any>(`/repos/${repoPath(repo)}/pulls/${number}/files`, `files of #${number} of ${repo}`, { maxPages: 30 })
      return (res.data ?? []).map(toFile)
    },

    async listComments(repo, number) {
      const lists = await Promise.all(STREAMS.map(async (stream) =>
        ((await http.list<unknown>(stream.path(repoPath(repo), number), `${stream.key.replace('_', ' ')} of #${number} on ${repo}`)).data ?? []).map(stream.normalize)))
      return lists.flat().sort((a: ForgeComment, b: ForgeComment) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id)
    },

    poll: (repo, number, cursor) => poll(http, repoPath(repo), number, cursor),

    async comment(repo, number, body) {
      const { data } = await http.request<any>('POST', `/repos/${repoPath(repo)}/issues/${number}/comments`, `comment on #${number} of ${repo}`, { body: { body } })
      return fromIssueComment(data)
    },

    /** `GET …/collaborators/:login/permission`; a 404 (not a collaborator) is "no". */
    async canWrite(repo, login) {
      try {
        const { data } = await http.get<{ permission?: string }>(`/repos/${repoPath(repo)}/collaborators/${encodeURIComponent(login)}/permission`, `permission of ${login} on ${repo}`)
        return WRITE_PERMISSIONS.has(String(data?.permission ?? 'none'))
      } catch (error) {
        if (isNotFound(error)) return false
        throw error
      }
    },

    async merge(repo, number, options) {
      const body: Record<string, string> = { merge_method: options.method }
      if (options.title) body.commit_title = options.title
      if (options.message) body.commit_message = options.message
      if (options.sha) body.sha = options.sha
      const { data } = await http.request<{ sha?: string }>('PUT', `/repos/${repoPath(repo)}/pulls/${number}/merge`, `merge of #${number} of ${repo}`, { body })
      return { sha: data?.sha ?? null }
    },

    issues: issuesApi(http, repoPath),
    checks: checksApi(http, repoPath),
  }
}
