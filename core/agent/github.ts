/**
 * The slice of the GitHub REST API the agent uses: read a pull request, find or open one, comment.
 * Works against github.com (`https://api.github.com`) and GitHub Enterprise (`https://host/api/v3`)
 * alike: only the base URL differs. Errors carry GitHub's status and message.
 */
import { redactText } from '../log.ts'
import { agentError } from './errors.ts'

export interface RepoRef {
  owner: string
  repo: string
}

/**
 * owner/name from a clone URL: `https://github.com/o/r(.git)`, `https://ghe.host/o/r.git`,
 * `git@github.com:o/r.git`, `ssh://git@host/o/r.git`. The last two path segments are taken, so a
 * server with a path prefix works too.
 */
export function parseRepo(url: string): RepoRef | undefined {
  const scp = /^[^@/\s]+@[^:/\s]+:(.+)$/.exec(url)
  let path: string
  if (scp) path = scp[1]!
  else {
    try {
      path = new URL(url).pathname
    } catch {
      return undefined
    }
  }
  const parts = path.replace(/\.git\/?$/, '').split('/').filter(Boolean)
  if (parts.length < 2) return undefined
  return { owner: decodeURIComponent(parts.at(-2)!), repo: decodeURIComponent(parts.at(-1)!) }
}

export interface PullRequest {
  number: number
  html_url: string
  state: string
  draft?: boolean
  title: string
  body: string | null
  head: { ref: string; sha: string; repo?: { full_name: string } | null }
  base: { ref: string }
}

export interface GithubOptions extends RepoRef {
  apiUrl: string
  token: string
  timeoutMs?: number
}

export type Github = ReturnType<typeof createGithub>

export function createGithub(options: GithubOptions) {
  const repoPath = `/repos/${encodeURIComponent(options.owner)}/${encodeURIComponent(options.repo)}`
  const timeoutMs = options.timeoutMs ?? 30000

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let lastError: unknown
    for (let attempt = 1; attempt <= 3; attempt++) {
      let res: Response
      try {
        res = await fetch(options.apiUrl + repoPath + path, {
          method,
          headers: {
            authorization: `Bearer ${options.token}`,
            accept: 'application/vnd.github+json',
            'x-github-api-version': '2022-11-28',
            'user-agent': 'terarchitect-agent',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (error) {
        lastError = agentError('github', `GitHub ${method} ${path}: ${(error as Error).message}`, error)
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt))
        continue
      }
      const text = await res.text()
      if (res.ok) return (text ? JSON.parse(text) : null) as T
      const error = Object.assign(agentError('github', redactText(`GitHub ${method} ${repoPath}${path}: ${res.status} ${githubMessage(text)}`)), { status: res.status })
      // Secondary rate limits and server errors are worth one more try; the rest are answers.
      if (res.status < 500 && res.status !== 429) throw error
      lastError = error
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt))
    }
    throw lastError
  }

  return {
    repo: `${options.owner}/${options.repo}`,
    getPull: (number: number) => call<PullRequest>('GET', `/pulls/${number}`),

    /** The open PR from `head` into `base`, if any (a continued branch already has one). */
    async findOpenPull(head: string, base: string): Promise<PullRequest | undefined> {
      const query = new URLSearchParams({ state: 'open', head: `${options.owner}:${head}`, base, per_page: '10' })
      const pulls = await call<PullRequest[]>('GET', `/pulls?${query}`)
      return pulls.find((pull) => pull.head.ref === head)
    },

    createPull: (fields: { title: string; head: string; base: string; body: string; draft?: boolean }) =>
      call<PullRequest>('POST', '/pulls', { ...fields, draft: fields.draft ?? false, maintainer_can_modify: true }),

    /** A conversation comment on the PR (issue comments and PR comments share numbers). */
    comment: (number: number, body: string) => call<{ id: number; html_url: string }>('POST', `/issues/${number}/comments`, { body }),
  }
}

function githubMessage(text: string): string {
  try {
    const body = JSON.parse(text)
    const details = Array.isArray(body.errors) ? body.errors.map((e: { message?: string; code?: string }) => e.message ?? e.code).filter(Boolean) : []
    return [body.message, ...details].filter(Boolean).join(': ') || text.slice(0, 200)
  } catch {
    return text.slice(0, 200)
  }
}
