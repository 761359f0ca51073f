/**
 * A workspace prepared before its job exists: a warm container (core/agent/wait-job.ts) whose
 * coordinator mounted the project's git mirror (core/coordinator/git-cache.ts) clones from it while
 * it waits, files checked out, so the job pays neither the download nor the checkout of the whole
 * repository, only what changed since.
 *
 * - The clone copies the mirror's objects (`--no-hardlinks`; no alternates): once made it needs
 *   nothing of the mirror, which may be refreshed, repacked or evicted meanwhile.
 * - It lives in the container's own writable layer: complete and independent; nothing written to
 *   it reaches the mirror (mounted read-only), another container or another job.
 * - It is only ever handed to a job whose claim passed the cache's access check for that same
 *   mirror (the warm pool's key holds the mounts), and only when the job names that mirror
 *   (AGENT_GIT_MIRROR); otherwise it is wiped and the job clones as it would have.
 * - Adopting it points `origin` at the job's relay URL and fetches with the job's token, pruned,
 *   so its branches are the remote's as after a fresh clone; the checkout then moves only the
 *   files that differ.
 */
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import type { Git } from './git.ts'
import { runProcess } from './process.ts'

export interface PreparedWorkspace {
  /** The mirror it was cloned from (the container's mount point). */
  mirror: string
  dir: string
  seconds: number
}

/** Where a coordinator's git cache mounts the project's mirror (read-only) in an agent container. */
export const MIRROR_PATH = '/git-mirror'

const CLONE_TIMEOUT_MS = 30 * 60 * 1000

/**
 * Clones `mirror` into `dir` (empty or missing) and checks out its default branch (or main, or
 * master, or its first branch). Null, with `dir` emptied, when there is no mirror or the clone
 * fails or is aborted: the job then clones as without it.
 */
export async function prepareFromMirror(mirror: string, dir: string, options: { signal?: AbortSignal; env?: Record<string, string> } = {}): Promise<PreparedWorkspace | null> {
  if (!existsSync(join(mirror, 'objects')) || (existsSync(dir) && readdirSync(dir).length > 0)) return null
  const started = Date.now()
  // The mirror belongs to the coordinator's user, not this one: git reads it only when a global
  // config (never the mirror's own) names it safe. A config of its own, so no user's applies.
  const home = await mkdtemp(join(tmpdir(), 'terarchitect-prepare-'))
  await writeFile(join(home, 'gitconfig'), `[safe]\n\tdirectory = ${mirror}\n`)
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...options.env, HOME: home, GIT_CONFIG_GLOBAL: join(home, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1', LANG: 'C', LC_ALL: 'C' }
  const git = (args: string[], cwd = dir) => runProcess('git', args, { cwd, env, timeoutMs: CLONE_TIMEOUT_MS, ...(options.signal ? { signal: options.signal } : {}) })
  try {
    const cloned = await git(['clone', '--quiet', '--no-tags', '--no-hardlinks', '--no-checkout', '--', mirror, dir], '/')
    if (cloned.code !== 0) throw new Error(cloned.stderr.trim())
    const refs = (await git(['for-each-ref', '--format=%(refname:short)', 'refs/remotes/origin/'])).stdout.split('\n').filter((ref) => ref && ref !== 'origin/HEAD' && ref !== 'origin')
    const head = (await git(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'])).stdout.trim()
    const start = [head, 'origin/main', 'origin/master'].find((ref) => ref && refs.includes(ref)) ?? refs[0]
    if (!start) throw new Error('the mirror has no branch')
    const checkout = await git(['checkout', '--quiet', '--detach', start])
    if (checkout.code !== 0) throw new Error(checkout.stderr.trim())
    // Only the remote's branches (after the job's fetch) and the detached HEAD remain, as in a fresh clone.
    for (const branch of (await git(['for-each-ref', '--format=%(refname)', 'refs/heads/'])).stdout.split('\n').filter(Boolean)) await git(['update-ref', '-d', branch])
    return { mirror, dir: resolve(dir), seconds: (Date.now() - started) / 1000 }
  } catch {
    await emptyDir(dir)
    return null
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}

/**
 * Makes a prepared workspace the job's: `origin` is the job's relay URL, its branches and HEAD
 * are the remote's now (fetched with the job's token, pruned; only objects the mirror lacked
 * come over the network).
 */
export async function adoptPrepared(git: Git, repoUrl: string): Promise<void> {
  await git.run(['config', 'remote.origin.url', repoUrl])
  await git.fetch('origin')
  // A remote without a HEAD leaves origin/HEAD unset: the flow then says so, as after a clone.
  await git.run(['remote', 'set-head', 'origin', '--delete'], { allowFailure: true })
  await git.run(['remote', 'set-head', 'origin', '--auto'], { network: true, allowFailure: true })
}

/** Removes everything in `dir`, keeping `dir` (a container's workspace mount point). */
export async function emptyDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return
  await Promise.all(readdirSync(dir).map((name) => rm(join(dir, name), { recursive: true, force: true })))
}
