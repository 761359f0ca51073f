/**
 * The git object cache of a coordinator host (docker mode): a bare mirror per repository under
 * AGENT_GIT_CACHE_DIR (default `<COORDINATOR_STATE_DIR>/git-cache`), refreshed through the app's git
 * relay with the claimed job's own token, mounted read-only into that job's container, where the
 * agent clones with `--reference-if-able <mirror>` (core/agent/git.ts): refs come from the relay, the
 * mirror's objects are borrowed through the clone's `objects/info/alternates` (nothing copied), and
 * only what the mirror lacks is downloaded.
 *
 * Contract of `prepare`:
 * - The job's own token must read the repository through the relay: the job's refresh (`git fetch
 *   --prune`) is that proof, or, for a job that joins another's refresh in flight, its own
 *   `git ls-remote`. A project whose forge token cannot read a repository never gets the mirror
 *   another project filled.
 * - One refresh at a time per mirror; jobs arriving while one runs wait for it instead of fetching
 *   again. The token reaches git only through core/agent/git.ts's credential
 *   helper (an environment variable of that one command, never argv, a URL or the mirror's config).
 * - Before a mirror is refreshed it is checked against its manifest (git-cache-store.ts); one
 *   changed by anyone but the coordinator is deleted and built again.
 * - Every failure (no access, relay down, disk) is logged and answered null: the job clones cold.
 * - The cache is kept under AGENT_GIT_CACHE_MAX_MB: after a refresh the least recently used
 *   mirrors no job is using are removed.
 * - A job's clone needs the mirror's objects for the whole run (alternates), so a mirror never loses
 *   an object while a job holds its lease: it is only fetched into (`gc.auto=0`,
 *   `maintenance.auto=false` in its config and on every command, so git never collects or prunes
 *   it), and it is removed (eviction, a failed refresh, a tampered mirror) or repacked only while no
 *   lease is held. A tampered mirror in use is not handed out; it is rebuilt once its jobs are over.
 * The coordinator holds the state dir's lock, so a lock in this process is the mirror's lock.
 */
import { existsSync } from 'node:fs'
import { ensurePrivateDir } from '../private-dir.ts'
import { join } from 'node:path'
import type { CoordinatorConfig } from '../coordinator-config.ts'
import type { Logger } from '../log.ts'
import { gitRelayUrl } from '../agent/api.ts'
import { createGit } from '../agent/git.ts'
import { MIRROR_PATH } from '../agent/prepared-workspace.ts'
import type { JobSpec } from '../executor.ts'
import type { ClaimedJob } from './client.ts'
import {
  dropMirror, listMirrors, manifestBytes, manifestMismatch, markUsed, mirrorKey, mirrorPath, readManifest, takeManifest, writeManifest,
} from './git-cache-store.ts'

/** Where the mirror is mounted in the agent's container (read-only). */
export const MIRROR_TARGET = MIRROR_PATH

export interface GitCacheJob {
  /** The project's repository URL: the mirror's key. */
  repoUrl: string
  /** The git relay URL of this job (as the coordinator's host reaches the app). */
  relayUrl: string
  /** The job token: the only credential used. */
  token: string
  /** The job's cancel/shutdown signal: stops a refresh in flight. */
  signal?: AbortSignal
}

export interface MirrorLease {
  /** The mirror's directory on the coordinator's host. */
  path: string
  /** Call when the job's run is over (a mirror in use is never evicted). */
  release(): void
}

export interface GitCache {
  readonly dir: string
  /** The mirror for this job, refreshed; null when the job must clone cold (`note` says why). */
  prepare(job: GitCacheJob, note: (text: string) => void): Promise<MirrorLease | null>
}

export interface GitCacheOptions {
  dir: string
  maxBytes: number
  log: Logger
  /**
   * Repack a mirror (`git repack -a -d`, one pack) at a refresh with no lease held once it has more
   * than `packs` packs or `loose` loose objects: small fetches between jobs add both. Default 20 / 5000.
   */
  repackAt?: { packs: number; loose: number }
}

/** Git never collects, prunes or repacks a mirror by itself: a running job may borrow any of its objects. */
const NO_AUTO_GC = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false']

export function createGitCache(options: GitCacheOptions): GitCache {
  const { dir, log } = options
  const refreshing = new Map<string, Promise<void>>()
  const inUse = new Map<string, number>()
  const leased = (key: string) => (inUse.get(key) ?? 0) > 0
  const repackAt = options.repackAt ?? { packs: 20, loose: 5000 }
  // HOME in the cache dir and no system config: no user's credential helper or url rewrite applies.
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' }
  const gitFor = (cwd: string, job: GitCacheJob) =>
    createGit({ cwd, env, credential: { token: job.token, url: job.relayUrl }, author: { name: 'cache', email: 'cache@invalid' }, ...(job.signal ? { signal: job.signal } : {}) })

  async function refresh(key: string, job: GitCacheJob): Promise<void> {
    const path = mirrorPath(dir, key)
    let verified = await readManifest(dir, key)
    if (existsSync(path)) {
      const changed = verified ? await manifestMismatch(dir, key, verified) : 'no manifest'
      // Removing it would pull objects from under the running jobs' clones; none gets it meanwhile.
      if (changed && leased(key)) throw new Error(`the mirror differs from what the coordinator wrote (${changed}); it is rebuilt once the jobs using it are over`)
      if (changed) {
        log.warn('git cache: a mirror differs from what the coordinator wrote; rebuilding it', { mirror: key, why: changed })
        await dropMirror(dir, key)
        verified = null
      }
    } else verified = null
    try {
      if (!existsSync(path)) {
        // Private like the state dir it defaults to: a custom directory must not open every cached
        // repository to the host's other users (the daemon, as root, still binds a mirror in).
        ensurePrivateDir(dir)
        // Readable by the container's user (uid 1000) whatever the coordinator's umask; writable by no one else.
        await gitFor(dir, job).run(['init', '--quiet', '--bare', '--shared=0644', '--', path])
        for (const [name, value] of [['gc.auto', '0'], ['maintenance.auto', 'false'], ['gc.pruneExpire', 'never'], ['core.logAllRefUpdates', 'false']]) {
          await gitFor(path, job).run(['config', name, value])
        }
      }
      // Branches only, pruned: a deleted branch's commits stop being advertised (clones ask the
      // relay for refs anyway; the mirror is an object source). Pruning drops refs, never objects.
      await gitFor(path, job).run([...NO_AUTO_GC, 'fetch', '--quiet', '--prune', '--no-tags', '--no-write-fetch-head', '--', job.relayUrl, '+refs/heads/*:refs/heads/*'], { network: true })
      if (!leased(key)) await repackIfDue(path, job)
      await writeManifest(dir, key, await takeManifest(dir, key, job.repoUrl))
    } catch (error) {
      // A mirror is trusted only with a manifest of its current state: a verified one keeps what
      // git left (its fetch is all or nothing for refs), a new one is dropped.
      const drop = () => (leased(key) ? undefined : dropMirror(dir, key))
      if (verified) await writeManifest(dir, key, await takeManifest(dir, key, job.repoUrl)).catch(drop)
      else await drop()
      throw error
    }
  }

  /**
   * One pack again once fetches piled up packs or loose objects. Only with no lease held: `-d`
   * deletes the old packs, and unreachable objects (a force-pushed history) go with them. Runs
   * inside the refresh, so no job is handed the mirror meanwhile.
   */
  async function repackIfDue(path: string, job: GitCacheJob): Promise<void> {
    const counts = Object.fromEntries((await gitFor(path, job).run(['count-objects', '-v'])).stdout.trim().split('\n').map((line) => line.split(': ') as [string, string]))
    if (Number(counts.packs ?? 0) <= repackAt.packs && Number(counts.count ?? 0) <= repackAt.loose) return
    await gitFor(path, job).run([...NO_AUTO_GC, 'repack', '-a', '-d', '-q', '--no-write-bitmap-index'])
  }

  /** Removes least recently used mirrors no job uses until the cache fits its budget. */
  async function evict(keep: string): Promise<void> {
    const mirrors = await listMirrors(dir)
    let total = mirrors.reduce((sum, mirror) => sum + (mirror.manifest ? manifestBytes(mirror.manifest) : 0), 0)
    const candidates = mirrors
      .filter((mirror) => mirror.key !== keep && !leased(mirror.key) && !refreshing.has(mirror.key))
      .sort((a, b) => a.usedAt - b.usedAt)
    for (const mirror of candidates) {
      if (total <= options.maxBytes && mirror.manifest) break
      await dropMirror(dir, mirror.key)
      total -= mirror.manifest ? manifestBytes(mirror.manifest) : 0
      log.info('git cache: mirror evicted', { mirror: mirror.key, cacheMb: Math.round(total / 1048576) })
    }
  }

  return {
    dir,
    async prepare(job, note) {
      const key = mirrorKey(job.repoUrl)
      const started = Date.now()
      const joined = refreshing.get(key)
      try {
        if (joined) {
          // Another job's refresh is running: wait for it, and prove this job's own access meanwhile.
          const [listed] = await Promise.allSettled([gitFor(dir, job).run(['ls-remote', '--heads', '--', job.relayUrl], { network: true, cwd: '/', maxBytes: 64 * 1024 * 1024 }), joined])
          if (listed.status === 'rejected') throw new Error(`this job's token could not list the repository through the relay: ${(listed.reason as Error).message}`)
          await joined
        } else {
          // This job's own fetch through the relay is its access check: it fails unless its token reads the repository.
          const mine = refresh(key, job).finally(() => refreshing.delete(key))
          refreshing.set(key, mine)
          await mine
        }
        inUse.set(key, (inUse.get(key) ?? 0) + 1)
        await markUsed(dir, key).catch((error: unknown) => log.warn('git cache: could not record a mirror\'s use', { error: (error as Error).message }))
        await evict(key).catch((error: unknown) => log.warn('git cache: eviction failed', { error: (error as Error).message }))
      } catch (error) {
        log.warn('git cache: not used; the job clones without it', { mirror: key, error: (error as Error).message })
        note(`git cache: not used (${(error as Error).message}); the agent clones without it`)
        return null
      }
      note(`git cache: mirror ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      let released = false
      return {
        path: mirrorPath(dir, key),
        release() {
          if (released) return
          released = true
          inUse.set(key, (inUse.get(key) ?? 1) - 1)
          void markUsed(dir, key).catch(() => {})
        },
      }
    },
  }
}

/**
 * `spec` for a container with the job's mirror: mounted read-only at MIRROR_TARGET and named in
 * AGENT_GIT_MIRROR. Without a cache, a repository or a ticket, or when `prepare` says no, `spec` as
 * it was. `release` ends the mirror's use (call it when the run is over).
 */
export async function withMirror(cache: GitCache | null | undefined, job: ClaimedJob, apiUrl: string, spec: JobSpec, note: (text: string) => void, signal?: AbortSignal): Promise<{ spec: JobSpec; release(): void }> {
  const none = { spec, release() {} }
  if (!cache || !job.repo_url || job.ticket_id === null) return none
  const relayUrl = gitRelayUrl(apiUrl, job.project_id, job.ticket_id)
  const lease = await cache.prepare({ repoUrl: job.repo_url, relayUrl, token: job.agent_token, ...(signal ? { signal } : {}) }, note)
  if (!lease) return none
  return {
    spec: { ...spec, env: { ...spec.env, AGENT_GIT_MIRROR: MIRROR_TARGET }, readOnlyMounts: [...(spec.readOnlyMounts ?? []), { source: lease.path, target: MIRROR_TARGET }] },
    release: lease.release,
  }
}

/**
 * The cache this coordinator's configuration asks for, or null (AGENT_GIT_CACHE=off). Called only
 * for a daemon on this host: a remote one (tcp:// DOCKER_HOST) cannot bind a directory of it.
 */
export function gitCacheFor(config: CoordinatorConfig, log: Logger): GitCache | null {
  if (config.AGENT_GIT_CACHE === 'off') return null
  const dir = config.AGENT_GIT_CACHE_DIR ?? join(config.COORDINATOR_STATE_DIR, 'git-cache')
  log.info('git cache: on', { dir, maxMb: config.AGENT_GIT_CACHE_MAX_MB })
  return createGitCache({ dir, maxBytes: config.AGENT_GIT_CACHE_MAX_MB * 1024 * 1024, log })
}
