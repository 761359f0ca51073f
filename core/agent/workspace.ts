/**
 * Where the agent works: the repository directory and the worker's HOME.
 * - local mode with PROJECT_PATH: a detached worktree of that checkout of its own
 *   (core/agent/worktree.ts); the checkout itself (working tree, index, HEAD, branches, stash) is
 *   never touched. A missing or empty PROJECT_PATH is cloned into first, once.
 * - AGENT_WORKSPACE (the agent image sets /workspace): cloned into, must be empty or missing.
 *   With AGENT_GIT_MIRROR (docker mode, the coordinator's git object cache) the clone copies the
 *   objects that read-only mirror holds and fetches only the rest; refs come from the relay. A
 *   warm container may have cloned the mirror there while it waited (prepared-workspace.ts): the
 *   job then only fetches what changed since and checks out the difference.
 * - otherwise a fresh temp directory, cloned into and removed at the end.
 * Either way the work starts detached at a commit the flow chose, and the result is pushed by
 * refspec with a lease (`pushLeased`), so no branch is ever checked out and a newer attempt's push
 * is never overwritten. The worker's HOME is always a fresh temp directory outside the repository
 * (CLI sessions, config files and caches must never be committed), removed at the end.
 */
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { AgentConfig } from '../agent-config.ts'
import type { Logger } from '../log.ts'
import { agentError } from './errors.ts'
import { fetchInto, lsRemote, pushLeased, type Git } from './git.ts'
import type { Reporter } from './reporter.ts'
import { openWorktree } from './worktree.ts'
import { adoptPrepared, emptyDir, type PreparedWorkspace } from './prepared-workspace.ts'

export interface Workspace {
  dir: string
  home: string
  /** Git in `dir` (the token for network commands, the job's cancel signal). */
  git: Git
  /** The job's own clone (its config is the job's to write), not a worktree of someone's checkout. */
  cloned: boolean
  /**
   * Fetches `branches` and the remote's default branch, as they are on the remote now. `commits`
   * holds each that exists (branch → commit); `head` names the remote's default branch. The first
   * call after a clone answers from the refs the clone just fetched, without asking the remote again.
   */
  fetch(branches: string[]): Promise<{ head: string | undefined; commits: Map<string, string> }>
  /** Puts the work tree at `commit`, detached, with nothing else in it. */
  checkout(commit: string): Promise<void>
  /** Pushes HEAD to `branch` while the remote branch is still at `expected` (null: absent). */
  push(branch: string, expected: string | null): Promise<void>
  close(): Promise<void>
}

export interface WorkspaceOptions {
  config: AgentConfig
  log: Logger
  reporter: Reporter
  repoUrl: string
  /** Git for a directory, carrying the job's token and cancel signal. */
  gitFor(cwd: string): Git
  /** What a warm container prepared in AGENT_WORKSPACE while it waited (prepared-workspace.ts). */
  prepared?: PreparedWorkspace
}

export async function openWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  const { config, log } = options
  const home = await mkdtemp(join(tmpdir(), 'terarchitect-home-'))
  const dropHome = () => rm(home, { recursive: true, force: true }).catch((error) => log.warn('cleanup failed', { path: home, error }))
  try {
    if (config.EXECUTION_MODE === 'local' && config.PROJECT_PATH && !config.AGENT_WORKSPACE) {
      const worktree = await openWorktree({ ...options, source: resolve(config.PROJECT_PATH), home })
      return { ...worktree, home, cloned: false, close: async () => (await worktree.close(), await dropHome()) }
    }
    const temp = config.AGENT_WORKSPACE ? undefined : await mkdtemp(join(tmpdir(), 'terarchitect-ws-'))
    const dir = temp ? join(temp, 'repo') : resolve(config.AGENT_WORKSPACE!)
    const git = options.gitFor(dir)
    const started = Date.now()
    const prepared = options.prepared
    // Only for the mirror it came from: any other job (no cache, another mirror) gets a clone of its own.
    if (prepared && !(prepared.dir === dir && prepared.mirror === config.AGENT_GIT_MIRROR)) await emptyDir(prepared.dir)
    if (prepared && prepared.dir === dir && prepared.mirror === config.AGENT_GIT_MIRROR) {
      await adoptPrepared(git, options.repoUrl)
      options.reporter.step('clone', `fetched ${displayUrl(options.repoUrl)} into the workspace this container cloned from the git cache while it waited (${prepared.seconds.toFixed(1)} s then) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    } else {
      if (existsSync(dir) && readdirSync(dir).length > 0) throw agentError('config', `workspace ${dir} is not empty`)
      await mkdir(dir, { recursive: true })
      await git.clone(options.repoUrl, dir, config.AGENT_GIT_MIRROR)
      const cache = config.AGENT_GIT_MIRROR ? ' (objects from the git cache)' : ''
      options.reporter.step('clone', `cloned ${displayUrl(options.repoUrl)}${cache} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
    let fresh = true
    return {
      dir, home, git, cloned: true,
      async fetch(branches) {
        if (!fresh) return fetchBranches(git, 'origin', branches, 'refs/remotes/origin')
        fresh = false
        return clonedBranches(git, branches)
      },
      checkout: async (commit) => void (await git.run(['checkout', '--quiet', '--detach', commit])),
      push: (branch, expected) => pushLeased(git, 'origin', branch, expected),
      async close() {
        if (temp) await rm(temp, { recursive: true, force: true }).catch((error) => log.warn('cleanup failed', { path: temp, error }))
        await dropHome()
      },
    }
  } catch (error) {
    await dropHome()
    throw error
  }
}

/** `Workspace.fetch` for any repository: one ls-remote, then one fetch of what exists. */
export async function fetchBranches(git: Git, remote: string, branches: string[], namespace: string, opts: { cwd?: string } = {}) {
  const listed = await lsRemote(git, remote, [...new Set(branches)], opts)
  const found = [...listed.commits.keys()]
  await fetchInto(git, remote, found, namespace, opts)
  // What was fetched, not what ls-remote said: a push in between moves the branch, and the lease
  // of the later push must name the commit this work really started from.
  if (found.length) {
    const fetched = (await git.run(['rev-parse', ...found.map((branch) => `${namespace}/${branch}`)], opts)).stdout.trim().split('\n')
    found.forEach((branch, i) => listed.commits.set(branch, fetched[i]!))
  }
  return listed
}

/** What `Workspace.fetch` answers from a fresh clone's own remote-tracking refs (all of the remote's branches and its HEAD). */
async function clonedBranches(git: Git, branches: string[]): Promise<{ head: string | undefined; commits: Map<string, string> }> {
  const head = (await git.run(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], { allowFailure: true })).stdout.trim().replace(/^origin\//, '') || undefined
  const wanted = new Set([...branches, ...(head ? [head] : [])])
  const commits = new Map<string, string>()
  for (const line of (await git.run(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/remotes/origin/'])).stdout.split('\n')) {
    const match = /^([0-9a-f]{40,64}) refs\/remotes\/origin\/(.+)$/.exec(line)
    if (match && wanted.has(match[2]!)) commits.set(match[2]!, match[1]!)
  }
  return { head, commits }
}

/** A URL fit for the log: no user info, whatever it held. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.username = ''
    parsed.password = ''
    return parsed.toString()
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//')
  }
}
