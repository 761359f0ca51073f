/**
 * A person's local checkout for the local-mode suites: made dirty the way people's are (an
 * uncommitted edit, a staged one, an untracked file, a stash entry, a branch of their own), and a
 * snapshot of everything of theirs git or the disk holds (working tree content, index, HEAD,
 * every ref, stash, config, worktrees), to compare before and after jobs ran.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { World } from './bench/agent-harness.ts'
import { spawnCoordinator, type CoordinatorProcess } from './coordinator-fixtures.ts'
import { GIT_IDENTITY } from './fixtures/git-http.ts'
import { ROOT } from './helpers.ts'

export const WORKTREES = join('.git', 'terarchitect-worktrees')

export function gitIn(dir: string, ...args: string[]): string {
  const result = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY } })
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`)
  return result.stdout
}

/** Clones `bare` to `dir`, points origin at `remoteUrl` and leaves it as a person mid-work would. */
export function dirtyCheckout(bare: string, dir: string, remoteUrl: string): void {
  const clone = spawnSync('git', ['clone', '-q', bare, dir], { env: { ...process.env, ...GIT_IDENTITY } })
  if (clone.status !== 0) throw new Error(`clone: ${clone.stderr}`)
  gitIn(dir, 'remote', 'set-url', 'origin', remoteUrl)
  gitIn(dir, 'checkout', '-q', '-b', 'my-work')
  writeFileSync(join(dir, 'stashed.txt'), 'put aside\n')
  gitIn(dir, 'stash', 'push', '-q', '--include-untracked', '-m', 'my stash')
  writeFileSync(join(dir, 'README.md'), '# widgets\n\nmy uncommitted edit\n')
  writeFileSync(join(dir, 'staged.txt'), 'staged, not committed\n')
  gitIn(dir, 'add', 'staged.txt')
  writeFileSync(join(dir, 'notes-of-mine.txt'), 'untracked, mine\n')
}

export interface CheckoutSnapshot {
  status: string
  head: string
  symbolicHead: string
  refs: string
  stash: string
  index: string
  files: Record<string, string>
  config: string
  worktrees: string
}

export function snapshot(dir: string): CheckoutSnapshot {
  const files: Record<string, string> = {}
  const walk = (path: string) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry)
      if (full === join(dir, '.git')) continue
      if (statSync(full).isDirectory()) walk(full)
      else files[relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex')
    }
  }
  walk(dir)
  return {
    status: gitIn(dir, 'status', '--porcelain=v1', '--untracked-files=all'),
    head: gitIn(dir, 'rev-parse', 'HEAD'),
    symbolicHead: gitIn(dir, 'symbolic-ref', '-q', 'HEAD'),
    refs: gitIn(dir, 'for-each-ref', '--format=%(refname) %(objectname)'),
    stash: gitIn(dir, 'stash', 'list'),
    index: gitIn(dir, 'ls-files', '--stage'),
    files,
    config: readFileSync(join(dir, '.git', 'config'), 'utf8'),
    worktrees: gitIn(dir, 'worktree', 'list', '--porcelain'),
  }
}

/**
 * A real coordinator process for the world's project that runs the agent from source on the host
 * (local mode), with `cliDir` (the worker CLI) first on PATH; `agents` at once.
 */
export function hostCoordinator(world: World, cliDir: string, agents: number, stateDir?: string): CoordinatorProcess {
  return spawnCoordinator({
    TERARCHITECT_API_URL: world.t.url,
    TERARCHITECT_WORKER_API_KEY: world.secrets.workerApiKey,
    PROJECT_ID: String(world.projectId),
    MAX_CONCURRENT_AGENTS: String(agents),
    AGENT_HOST_COMMAND: JSON.stringify([process.execPath, '--import', pathToFileURL(join(ROOT, 'scripts/ts-register.mjs')).href, join(ROOT, 'agent.ts')]),
    PATH: [cliDir, process.env.PATH].join(':'),
    CLAIM_WAIT_SEC: '5',
    HEARTBEAT_MAX_SEC: '1',
    LOG_LEVEL: 'info',
  }, stateDir)
}

/** A ticket's job events but the raw output, one line each: what to show when a job did not succeed. */
export async function ticketStory(world: World, ticketId: number): Promise<string> {
  const events = (await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticketId}/logs?limit=1000`, undefined, world.people)).body.events
  return events.filter((e: { step: string }) => e.step !== 'agent_output').map((e: { step: string; summary: string }) => `${e.step}: ${e.summary.slice(0, 300)}`).join('\n')
}

/** What is left in the checkout's worktrees directory (none once every job has ended). */
export function leftoverWorktrees(dir: string): string[] {
  try {
    return readdirSync(join(dir, WORKTREES))
  } catch {
    return []
  }
}
