/**
 * The local-mode path check, run where the path lives (the coordinator's host) before every local
 * run (plugins/executors/local.ts): the path exists, is a git checkout (or an empty directory the
 * agent clones into), and its `origin` is the project's repository. Node built-ins only: the
 * coordinator imports it.
 */
import { execFile } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'

/** `host/owner/name` of a repository URL (https, ssh or `git@host:owner/name`), lower-cased, `.git` dropped. */
export function repositoryIdentity(url: string): string | null {
  const scp = /^[\w.-]+@([\w.-]+):(.+)$/.exec(url)
  let host: string
  let path: string
  if (scp) {
    host = scp[1]!
    path = scp[2]!
  } else {
    try {
      const parsed = new URL(url)
      host = parsed.hostname
      path = parsed.pathname
    } catch {
      return null
    }
  }
  const parts = path.replace(/\/+$/, '').replace(/\.git$/i, '').split('/').filter(Boolean)
  return parts.length >= 2 ? `${host}/${parts.join('/')}`.toLowerCase() : null
}

const git = (dir: string, args: string[]) => new Promise<string | null>((resolve) => {
  execFile('git', ['-c', 'safe.directory=*', '-C', dir, ...args], { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', GIT_TERMINAL_PROMPT: '0' } },
    (error, stdout) => resolve(error ? null : stdout.trim()))
})

/**
 * Why the agent cannot work at `path` for `repoUrl`, in words, or null when it can. An empty or
 * missing `repoUrl` skips the origin comparison.
 */
export async function localCheckoutProblem(path: string, repoUrl: string | undefined): Promise<string | null> {
  const info = await stat(path).catch(() => null)
  if (!info) return `the project path ${path} does not exist on this host`
  if (!info.isDirectory()) return `the project path ${path} is not a directory`
  if ((await readdir(path)).length === 0) return null
  const top = await git(path, ['rev-parse', '--show-toplevel'])
  if (top === null) return `the project path ${path} is not a git checkout (and not empty, so the agent cannot clone into it)`
  if (!repoUrl) return null
  const origin = await git(path, ['remote', 'get-url', 'origin'])
  if (origin === null) return `the checkout at ${path} has no origin remote: set it to the project's repository URL`
  const expected = repositoryIdentity(repoUrl)
  if (expected && repositoryIdentity(origin) !== expected) {
    return `the checkout at ${path} has origin ${redactUserInfo(origin)}, not the project's repository ${redactUserInfo(repoUrl)}`
  }
  return null
}

/** A remote URL without credentials (an origin may carry a token in its user info). */
function redactUserInfo(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//')
}
