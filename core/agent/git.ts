/**
 * Git for the agent, through the real `git` binary. The agent's remote is the app's git relay
 * (core/services/git-relay.ts), and its only credential is its job token: the app adds the forge
 * token on its side. The job token reaches git only for commands that talk to the remote, and only
 * through a credential helper given on the command line for that one command
 * (`git -c credential.helper=… fetch`), which reads it from an environment variable of that child
 * process and answers only for the relay's origin. So the token is never in a URL, in argv or in
 * `.git/config`, no other host is ever offered it, and the worker CLI (which runs git too) never
 * sees it. `--` precedes every URL and path handed to git, so none is read as an option.
 */
import { redactText } from '../log.ts'
import { agentError } from './errors.ts'
import { runProcess, type RunResult } from './process.ts'

/** The variables the helper reads; set only in the environment of network git commands. */
const TOKEN_VAR = 'TERARCHITECT_GIT_TOKEN'
const ORIGIN_VAR = 'TERARCHITECT_GIT_ORIGIN'
/**
 * Answers git's `get` with the token as password (the relay ignores the user name), and only when
 * the request's `protocol://host` is the relay's. The first, empty `credential.helper=` clears
 * helpers from the user's or system config so no other store sees or saves the token.
 */
const HELPER = `!f() { test "$1" = get || exit 0; p=; h=; while IFS= read -r l; do case "$l" in protocol=*) p=\${l#protocol=};; host=*) h=\${l#host=};; esac; done; ` +
  `test "$p://$h" = "$${ORIGIN_VAR}" || exit 0; echo username=job; echo "password=$${TOKEN_VAR}"; }; f`

const NETWORK_TIMEOUT_MS = 10 * 60 * 1000
const LOCAL_TIMEOUT_MS = 2 * 60 * 1000

/** `protocol://host[:port]` of a URL as git's credential protocol names it (the port as written). */
export function credentialOrigin(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?([^/?#]+)/i.exec(url)
  if (!match) throw agentError('config', 'the git relay URL is not a URL')
  return `${match[1]!.toLowerCase()}://${match[2]!.toLowerCase()}`
}

export interface GitOptions {
  /** The work tree (for every command but clone). */
  cwd: string
  /** Base environment without secrets (AgentConfig.baseEnv). */
  env: Record<string, string>
  /** The job token and the relay URL it is for; offered to no other origin. */
  credential?: { token: string; url: string }
  author: { name: string; email: string }
  signal?: AbortSignal
}

export type Git = ReturnType<typeof createGit>

export function createGit(options: GitOptions) {
  const env = {
    ...options.env,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0', // fail instead of prompting when the helper's answer is refused
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
  }

  const credential = options.credential && { [TOKEN_VAR]: options.credential.token, [ORIGIN_VAR]: credentialOrigin(options.credential.url) }

  async function git(args: string[], opts: { network?: boolean; allowFailure?: boolean; cwd?: string; maxBytes?: number } = {}): Promise<RunResult> {
    const argv = opts.network && credential ? ['-c', 'credential.helper=', '-c', `credential.helper=${HELPER}`, ...args] : args
    const childEnv = opts.network && credential ? { ...env, ...credential } : env
    const result = await runProcess('git', argv, {
      cwd: opts.cwd ?? options.cwd,
      env: childEnv,
      timeoutMs: opts.network ? NETWORK_TIMEOUT_MS : LOCAL_TIMEOUT_MS,
      signal: options.signal,
      maxBytes: opts.maxBytes,
    })
    if (result.code !== 0 && !opts.allowFailure) {
      const why = result.timedOut ? 'timed out' : result.aborted ? 'aborted' : `exit ${result.code}`
      const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ')
      throw agentError('git', redactText(`git ${args[0]} failed (${why}): ${detail}`))
    }
    return result
  }
  const out = async (args: string[], opts: Parameters<typeof git>[1] = {}) => (await git(args, opts)).stdout.trim()
  const ok = async (args: string[]) => (await git(args, { allowFailure: true })).code === 0

  return {
    run: git,

    /**
     * Clones `url` into `dir` (which must not exist or be empty). With `reference` (a local mirror of
     * the repository, the coordinator's git cache) the clone borrows the objects it holds through
     * `objects/info/alternates` and downloads only the rest; refs still come from `url`. Nothing is
     * copied, so the clone needs the mirror for its whole life: the coordinator keeps it mounted
     * for the job's run and never removes or repacks it while a job holds it (git-cache.ts). A
     * reference that is not a repository (a mount that came up empty) is skipped with git's
     * warning and everything is downloaded.
     */
    async clone(url: string, dir: string, reference?: string): Promise<void> {
      const borrow = reference ? ['--reference-if-able', reference] : []
      await git(['clone', '--quiet', '--no-tags', ...borrow, '--', url, dir], { network: true, cwd: '/' })
    },

    async isWorkTree(): Promise<boolean> {
      return (await git(['rev-parse', '--is-inside-work-tree'], { allowFailure: true })).stdout.trim() === 'true'
    },

    /** Uncommitted changes (untracked files included), as `git status --porcelain`; '' when clean. */
    status: () => out(['status', '--porcelain', '--untracked-files=all']),

    async fetch(remote = 'origin'): Promise<void> {
      await git(['fetch', '--quiet', '--prune', '--no-tags', '--', remote, `+refs/heads/*:refs/remotes/origin/*`], { network: true })
    },

    /** Fetches one branch of the remote into refs/remotes/origin/<branch>; false when the remote lacks it. */
    async fetchBranch(branch: string): Promise<boolean> {
      const result = await git(['fetch', '--quiet', '--no-tags', '--', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`], { network: true, allowFailure: true })
      if (result.code === 0) return true
      if (/couldn't find remote ref|not found/i.test(result.stderr)) return false
      throw agentError('git', redactText(`git fetch ${branch} failed: ${result.stderr.trim().split('\n').slice(-2).join(' | ')}`))
    },

    /** The remote's default branch: origin/HEAD after a clone, else asked from the remote. */
    async defaultBranch(): Promise<string> {
      const local = await git(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], { allowFailure: true })
      if (local.code === 0 && local.stdout.trim()) return local.stdout.trim().replace(/^origin\//, '')
      const remote = await out(['ls-remote', '--symref', '--', 'origin', 'HEAD'], { network: true })
      const match = /^ref:\s+refs\/heads\/(\S+)\s+HEAD/m.exec(remote)
      if (!match) throw agentError('git', 'cannot detect the default branch: the remote has no HEAD (set the project default branch)')
      return match[1]!
    },

    hasRemoteBranch: (branch: string) => ok(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`]),

    /** Creates or resets `branch` at `startPoint` and checks it out. */
    async checkout(branch: string, startPoint: string): Promise<void> {
      await git(['checkout', '--quiet', '--no-track', '-B', branch, startPoint])
    },

    currentBranch: () => out(['rev-parse', '--abbrev-ref', 'HEAD']),
    head: () => out(['rev-parse', 'HEAD']),
    revParse: (rev: string) => out(['rev-parse', '--verify', rev]),

    /** Sets the identity in the clone's own config, so commits the worker makes itself work too. */
    async setIdentity(): Promise<void> {
      await git(['config', 'user.name', options.author.name])
      await git(['config', 'user.email', options.author.email])
    },

    /**
     * A fingerprint of the work tree: HEAD, the status and the content of every change. Two equal
     * fingerprints mean the worker changed nothing git can see.
     */
    async fingerprint(): Promise<string> {
      const [head, status, diff] = await Promise.all([
        git(['rev-parse', 'HEAD'], { allowFailure: true }),
        git(['status', '--porcelain', '--untracked-files=all']),
        git(['diff', 'HEAD'], { allowFailure: true, maxBytes: 8 * 1024 * 1024 }),
      ])
      const untracked = status.stdout.split('\n').filter((line) => line.startsWith('??')).map((line) => line.slice(3))
      const hashes = untracked.length ? await out(['hash-object', '--', ...untracked.slice(0, 500)]) : ''
      return [head.stdout.trim(), status.stdout, diff.stdout, hashes].join('\0')
    },

    /** Stages everything (respecting .gitignore) and returns the diff of the result against `base`. */
    async diffAgainst(base: string, maxBytes: number): Promise<{ stat: string; diff: string; truncated: boolean; empty: boolean }> {
      await git(['add', '--all'])
      const stat = await out(['diff', '--cached', '--stat', base])
      const diff = await git(['diff', '--cached', base], { maxBytes })
      return { stat, diff: diff.stdout, truncated: diff.truncated, empty: stat === '' }
    },

    /** Commits everything staged or not; returns the new commit or null when there was nothing. */
    async commitAll(message: string): Promise<string | null> {
      await git(['add', '--all'])
      if (await ok(['diff', '--cached', '--quiet'])) return null
      const identity = ['-c', `user.name=${options.author.name}`, '-c', `user.email=${options.author.email}`]
      await git([...identity, 'commit', '--quiet', '--no-verify', '-m', message])
      return out(['rev-parse', 'HEAD'])
    },

    async commitsAhead(base: string): Promise<number> {
      return Number(await out(['rev-list', '--count', `${base}..HEAD`]))
    },

    changedFiles: async (base: string) => (await out(['diff', '--name-status', base, 'HEAD'])).split('\n').filter(Boolean),

    /** Pushes HEAD to `branch` on origin; a rejection (not a fast-forward, no permission) throws. */
    async push(branch: string): Promise<void> {
      await git(['push', '--quiet', '--porcelain', '--', 'origin', `HEAD:refs/heads/${branch}`], { network: true })
    },
  }
}

/**
 * The commits of `branches` on `remote` (a remote name or URL) and of the branch the remote's HEAD
 * names (`head`), in one `ls-remote` round trip. Branches the remote lacks are absent from `commits`.
 */
export async function lsRemote(git: Git, remote: string, branches: string[], opts: { cwd?: string } = {}): Promise<{ head: string | undefined; commits: Map<string, string> }> {
  const refs = branches.map((branch) => `refs/heads/${branch}`)
  const answer = (await git.run(['ls-remote', '--symref', '--', remote, 'HEAD', ...refs], { network: true, ...opts })).stdout
  const commits = new Map<string, string>()
  const head = /^ref:\s+refs\/heads\/(\S+)\s+HEAD$/m.exec(answer)?.[1]
  const headCommit = /^([0-9a-f]{40,64})\tHEAD$/m.exec(answer)?.[1]
  if (head && headCommit) commits.set(head, headCommit)
  for (const line of answer.split('\n')) {
    const match = /^([0-9a-f]{40,64})\trefs\/heads\/(.+)$/.exec(line)
    if (match && branches.includes(match[2]!)) commits.set(match[2]!, match[1]!)
  }
  return { head, commits }
}

/**
 * Fetches `branches` from `remote` into refs under `namespace` (`<namespace>/<branch>`), without
 * touching FETCH_HEAD or any other ref, so jobs sharing one repository never race for a ref lock
 * and a person's remote-tracking branches stay as they were.
 */
export async function fetchInto(git: Git, remote: string, branches: string[], namespace: string, opts: { cwd?: string } = {}): Promise<void> {
  if (!branches.length) return
  const refspecs = branches.map((branch) => `+refs/heads/${branch}:${namespace}/${branch}`)
  await git.run(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--', remote, ...refspecs], { network: true, ...opts })
}

/**
 * Pushes HEAD to `refs/heads/<branch>` on `remote`, only while the remote branch is still at
 * `expected` (null: only while it does not exist). A newer attempt's push in between makes this
 * one fail with git's "stale info" rejection instead of overwriting it.
 */
export async function pushLeased(git: Git, remote: string, branch: string, expected: string | null): Promise<void> {
  const ref = `refs/heads/${branch}`
  const result = await git.run(['push', '--quiet', '--porcelain', `--force-with-lease=${ref}:${expected ?? ''}`, '--', remote, `HEAD:${ref}`], { network: true, allowFailure: true })
  if (result.code === 0) return
  // --porcelain reports a refused lease on stdout as `!<tab>HEAD:<ref><tab>[rejected] (stale info)`.
  if (/\[rejected\] \(stale info\)/.test(result.stdout)) {
    throw agentError('git', `${branch} moved on the remote since this attempt started from ${expected ? expected.slice(0, 10) : 'nothing'} (a newer attempt pushed): not overwriting it`)
  }
  const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ')
  throw agentError('git', redactText(`git push failed (${result.timedOut ? 'timed out' : result.aborted ? 'aborted' : `exit ${result.code}`}): ${detail}`))
}
