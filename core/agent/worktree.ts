/**
 * Local mode: each job works in a detached worktree of its own of the project's checkout, at
 * `<git common dir>/terarchitect-worktrees/<name>` (inside `.git`: outside the person's working
 * tree, invisible to `git status`, and gone with the checkout). The person's working tree, index,
 * HEAD, branches, remote-tracking branches, config and stash are never written: fetches go from the
 * project's repo URL into refs of the job's own (`refs/terarchitect/<name>/<branch>`, no
 * FETCH_HEAD), pushes go by refspec, and nothing is ever checked out in the checkout itself.
 *
 * The worktree is added locked, the lock's reason naming the host and the agent's pid. At every job
 * start the worktrees of earlier jobs whose agent is gone (a crash, kill -9) are removed with their
 * refs, and `git worktree prune` drops what git still remembers of deleted ones.
 *
 * Not used when the agent runs as a user of its own (AGENT_LOCAL_USER): it then clones into its
 * own workspace instead, as the checkout's `.git` is not its to write (plugins/executors/local.ts).
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import type { AgentConfig } from '../agent-config.ts'
import { isAppError } from '../errors.ts'
import { acquireLockFile, isAlive } from '../lock-file.ts'
import type { Logger } from '../log.ts'
import { agentError } from './errors.ts'
import { createGit, pushLeased, type Git } from './git.ts'
import type { Reporter } from './reporter.ts'
import { displayUrl, fetchBranches, type Workspace } from './workspace.ts'

export const WORKTREES_DIR = 'terarchitect-worktrees'
const REF_ROOT = 'refs/terarchitect'
/** `terarchitect job 12 attempt 2 pid 4242 on host-a`: who holds a worktree, for the stale check. */
const LOCK_REASON = /^terarchitect job \S+ attempt \S+ pid (\d+) on (\S+)$/
/** A directory in the worktrees dir that git does not know is left alone this long (an add in flight). */
const YOUNG_MS = 60_000
/** How long a job waits for another's worktree add/remove on the same checkout. */
const LOCK_WAIT_MS = 120_000

export interface WorktreeOptions {
  config: AgentConfig
  log: Logger
  reporter: Reporter
  repoUrl: string
  source: string
  home: string
  gitFor(cwd: string): Git
}

export async function openWorktree(options: WorktreeOptions): Promise<Omit<Workspace, 'home' | 'cloned'>> {
  const { config, log, reporter, repoUrl } = options
  // Local commands on the checkout run without the cancel signal: clean-up must survive a cancel.
  const admin = createGit({ cwd: options.source, env: config.baseEnv, author: { name: config.GIT_AUTHOR_NAME, email: config.GIT_AUTHOR_EMAIL } })
  if (!(await admin.isWorkTree().catch(() => false))) await cloneInto(options)
  const root = await worktreesRoot(admin, options.source)
  const name = config.JOB_ID ? `job-${config.JOB_ID}-${config.JOB_ATTEMPT ?? 1}` : `run-${process.pid}-${Date.now().toString(36)}`
  const dir = join(root, name)
  const namespace = `${REF_ROOT}/${name}`

  const reason = `terarchitect job ${config.JOB_ID ?? '-'} attempt ${config.JOB_ATTEMPT ?? 1} pid ${process.pid} on ${hostname()}`
  const pruned = await withWorktreeLock(root, async () => {
    const stale = await pruneStaleWorktrees(admin, root)
    await mkdir(root, { recursive: true })
    // Added before anything is fetched, so the lock (the liveness marker) exists as long as the refs.
    // --no-checkout: the files come with `checkout`, at the commit the flow chooses.
    await admin.run(['worktree', 'add', '--quiet', '--no-checkout', '--detach', '--lock', '--reason', reason, '--', dir, 'HEAD']).catch((error: Error) => {
      throw agentError('git', `cannot add a worktree of ${options.source} (the checkout needs at least one commit): ${error.message}`, error)
    })
    return stale
  })
  if (pruned.length) reporter.step('workspace', `removed ${pruned.length} worktrees left by earlier jobs that are no longer running: ${pruned.join(', ')}`)
  const git = options.gitFor(dir)
  reporter.step('clone', `working in the worktree ${dir} of the checkout at ${options.source} (the checkout itself is not touched; fetching ${displayUrl(repoUrl)})`)

  let closed = false
  return {
    dir, git,
    fetch: (branches) => fetchBranches(git, repoUrl, branches, namespace),
    // The worktree was added without a checkout: reset fills the index and the files at `commit`.
    checkout: async (commit) => void (await git.run(['reset', '--quiet', '--hard', commit])),
    push: (branch, expected) => pushLeased(git, repoUrl, branch, expected),
    async close() {
      if (closed) return
      closed = true
      await withWorktreeLock(root, () => removeWorktree(admin, dir, name))
        .catch((error) => log.warn('worktree clean-up failed; the next job on this checkout prunes it', { dir, error }))
    },
  }
}

/** Removes a worktree of ours, its lock, its directory and its refs. */
async function removeWorktree(admin: Git, dir: string, name: string): Promise<void> {
  await admin.run(['worktree', 'unlock', '--', dir], { allowFailure: true })
  await admin.run(['worktree', 'remove', '--force', '--force', '--', dir], { allowFailure: true })
  await rm(dir, { recursive: true, force: true })
  const refs = (await admin.run(['for-each-ref', '--format=%(refname)', `${REF_ROOT}/${name}/`])).stdout.split('\n').filter(Boolean)
  for (const ref of refs) await admin.run(['update-ref', '-d', ref], { allowFailure: true })
}

/**
 * Removes the worktrees (and refs) of jobs whose agent is gone: locked by us on this host with a
 * pid that no longer runs, or not known to git at all. Worktrees of live agents, of other hosts
 * sharing the checkout and of anything else are left alone. Returns the names removed.
 */
export async function pruneStaleWorktrees(admin: Git, root: string): Promise<string[]> {
  const listing = (await admin.run(['worktree', 'list', '--porcelain'])).stdout
  const live = new Set<string>()
  const stale: string[] = []
  for (const block of listing.split('\n\n')) {
    const path = /^worktree (.+)$/m.exec(block)?.[1]
    if (!path || dirname(path) !== root) continue
    const reason = /^locked (.*)$/m.exec(block)?.[1]?.trim() ?? ''
    const owner = LOCK_REASON.exec(reason)
    if (owner && (owner[2] !== hostname() || isAlive(Number(owner[1])))) live.add(basename(path))
    else stale.push(basename(path))
  }
  if (existsSync(root)) {
    for (const entry of readdirSync(root)) {
      if (live.has(entry) || stale.includes(entry)) continue
      const age = Date.now() - statSync(join(root, entry)).mtimeMs
      if (age > YOUNG_MS) stale.push(entry)
      else live.add(entry)
    }
  }
  for (const name of stale) await removeWorktree(admin, join(root, name), name)
  await admin.run(['worktree', 'prune'], { allowFailure: true })
  // Refs of jobs with no worktree left (the worktree went, the refs stayed).
  const refs = (await admin.run(['for-each-ref', '--format=%(refname)', `${REF_ROOT}/`])).stdout.split('\n').filter(Boolean)
  for (const ref of refs) {
    const owner = ref.slice(REF_ROOT.length + 1).split('/')[0]!
    if (!live.has(owner)) await admin.run(['update-ref', '-d', ref], { allowFailure: true })
  }
  return stale
}

/**
 * The stale clean-up for a checkout, for callers outside a job (the local executor, once its agent's
 * process group is gone). Does nothing when `source` is not a git checkout.
 */
export async function pruneWorktreesOf(source: string, env: Record<string, string>): Promise<string[]> {
  const admin = createGit({ cwd: source, env, author: { name: 'Terarchitect', email: 'terarchitect@users.noreply.github.com' } })
  if (!existsSync(source) || !(await admin.isWorkTree().catch(() => false))) return []
  const root = await worktreesRoot(admin, source)
  return withWorktreeLock(root, () => pruneStaleWorktrees(admin, root))
}

/**
 * Runs `fn` holding `<root>.lock`: git's worktree commands are not safe against each other (an
 * add reads every other worktree's admin files, which a concurrent add is still writing: "failed
 * to read .git/worktrees/…/commondir"), so jobs of one checkout take turns for add and remove.
 * A lock whose holder died is taken over.
 */
async function withWorktreeLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS
  let release: (() => void) | undefined
  while (!release) {
    try {
      release = acquireLockFile(`${root}.lock`, (pid) => `held by ${pid}`)
    } catch (error) {
      if (!isAppError(error) || Date.now() > deadline) throw agentError('git', `the worktree lock ${root}.lock stayed taken: ${(error as Error).message}`, error)
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200))
    }
  }
  try {
    return await fn()
  } finally {
    release()
  }
}

/** `<git common dir>/terarchitect-worktrees`: the same for the checkout and any worktree of it. */
async function worktreesRoot(admin: Git, source: string): Promise<string> {
  return join(resolve(source, (await admin.run(['rev-parse', '--git-common-dir'])).stdout.trim()), WORKTREES_DIR)
}


/**
 * PROJECT_PATH is missing or empty: clone it there once, as the checkout later jobs work from.
 * Cloned beside it and renamed into place, so two first jobs racing end with one clone.
 */
async function cloneInto(options: WorktreeOptions): Promise<void> {
  const { source } = options
  if (existsSync(source) && readdirSync(source).length > 0) {
    throw agentError('config', `PROJECT_PATH ${source} is neither a git checkout nor empty`)
  }
  const temp = `${source}.terarchitect-clone-${process.pid}`
  await mkdir(dirname(source), { recursive: true })
  try {
    await options.gitFor(dirname(source)).clone(options.repoUrl, temp)
    // rename() replaces an empty directory but not a full one: a racer that got there first wins.
    await rename(temp, source).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(join(source, '.git'))) throw error
    })
    options.reporter.step('clone', `cloned ${displayUrl(options.repoUrl)} into ${source}, the project's checkout`)
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
}
