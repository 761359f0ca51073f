/**
 * Where the agent works: the repository directory and the worker's HOME.
 * - AGENT_WORKSPACE (the agent image sets /workspace): cloned into, must be empty or missing.
 * - local mode with PROJECT_PATH: an existing checkout is used in place (it must be clean, and its
 *   branch is restored afterwards); an empty or missing directory is cloned into.
 * - otherwise a fresh temp directory, removed at the end.
 * The worker's HOME is always a fresh temp directory outside the repository (CLI sessions, config
 * files and caches must never be committed), removed at the end.
 */
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { AgentConfig } from '../agent-config.ts'
import type { Logger } from '../log.ts'
import { agentError } from './errors.ts'
import type { Git } from './git.ts'
import type { Reporter } from './reporter.ts'

export interface Workspace {
  dir: string
  home: string
  /** The directory held a checkout already (local mode); it is fetched, not cloned. */
  inPlace: boolean
  close(): Promise<void>
}

export async function openWorkspace(config: AgentConfig, log: Logger): Promise<Workspace> {
  const home = await mkdtemp(join(tmpdir(), 'terarchitect-home-'))
  const chosen = config.AGENT_WORKSPACE ?? (config.EXECUTION_MODE === 'local' ? config.PROJECT_PATH : undefined)
  const temp = chosen ? undefined : await mkdtemp(join(tmpdir(), 'terarchitect-ws-'))
  const dir = chosen ? resolve(chosen) : join(temp!, 'repo')
  const inPlace = !!chosen && existsSync(join(dir, '.git'))
  if (chosen && !inPlace && existsSync(dir) && readdirSync(dir).length > 0) {
    await rm(home, { recursive: true, force: true })
    throw agentError('config', `workspace ${dir} is neither empty nor a git checkout`)
  }
  if (chosen && !inPlace) await mkdir(dir, { recursive: true })
  return {
    dir,
    home,
    inPlace,
    async close() {
      for (const path of [home, temp]) {
        if (path) await rm(path, { recursive: true, force: true }).catch((error) => log.warn('cleanup failed', { path, error }))
      }
    },
  }
}

/** Clones into the workspace, or fetches the checkout that is there (refusing local changes). */
export async function checkoutRepo(git: Git, workspace: Workspace, repoUrl: string, reporter: Reporter): Promise<void> {
  if (!workspace.inPlace) {
    const started = Date.now()
    await git.clone(repoUrl, workspace.dir)
    await git.setIdentity()
    reporter.step('clone', `cloned ${displayUrl(repoUrl)} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return
  }
  const dirty = await git.status()
  if (dirty) throw agentError('config', `the checkout at ${workspace.dir} has uncommitted changes; commit or stash them first:\n${dirty.slice(0, 1000)}`)
  const remotes = (await git.run(['remote'])).stdout.split('\n')
  if (!remotes.includes('origin')) await git.run(['remote', 'add', 'origin', repoUrl])
  await git.fetch()
  reporter.step('clone', `using the checkout at ${workspace.dir} (fetched origin)`)
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
