/**
 * `local`: runs the agent as a host process at the project's path (execution mode `local`, and the
 * coordinator's fallback when a container cannot start). The agent gets its own process group, so
 * abort/timeout kill the whole tree (a worker CLI that re-spawns itself, a dev server it started).
 * In local mode the agent works in a worktree of its own of that checkout (core/agent/worktree.ts);
 * once its process group is gone, worktrees whose agent is no longer running are removed.
 *
 * With `user` (the coordinator's AGENT_LOCAL_USER) the agent runs as that OS user instead, in
 * directories of its own (core/agent/local-user.ts), with a minimal environment: PATH, LANG, the
 * user's HOME/USER/LOGNAME/SHELL/TMPDIR and the job's variables, nothing else of the coordinator's.
 */
import { spawn } from 'node:child_process'
import { constants as fsConstants } from 'node:fs'
import { access } from 'node:fs/promises'
import { constants as osConstants, tmpdir } from 'node:os'
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { fileURLToPath } from 'node:url'
import type { Executor, JobSpec, OutputSink, ProbeResult, RunResult } from '../../core/executor.ts'
import { createLogger, type Logger } from '../../core/log.ts'
import { pruneWorktreesOf } from '../../core/agent/worktree.ts'
import { localCheckoutProblem } from '../../core/services/setup-checks/local-checkout.ts'
import { createAgentJobDirs, removeAgentJobDirs, type AgentJobDirs, type LocalUser } from '../../core/agent/local-user.ts'

export const NAME = 'local'

export interface LocalOptions {
  /** Agent command; default `[node, <dist/agent.js>, spec.kind]`. */
  command?: string[] | ((spec: JobSpec) => string[])
  /** Host env keys passed through under the job env. Default PATH, HOME, LANG, TMPDIR, USER, SHELL, TERM. */
  baseEnvKeys?: string[]
  /** Working directory when the spec has no `projectPath` (the docker fallback). Default the OS temp dir. */
  defaultCwd?: string
  /** Milliseconds between SIGTERM and SIGKILL to the process group. Default 2000. */
  killGraceMs?: number
  /** Run agents as this OS user (the coordinator must be root; see resolveAgentLocalUser). Default: the coordinator's user. */
  user?: LocalUser
  log?: Logger
}

/** dist/agent.js next to the bundle when running from dist/, else from the source tree's root. */
export function defaultAgentScript(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  return basename(here) === 'dist' ? join(here, 'agent.js') : resolve(here, '../../dist/agent.js')
}

/** The `local` executor: probe = the command (and, by default, dist/agent.js) exists. */
export function local(options: LocalOptions = {}): Executor {
  const log = options.log ?? createLogger('info', { executor: NAME })
  const baseKeys = options.baseEnvKeys ?? ['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER', 'SHELL', 'TERM']
  const killGraceMs = options.killGraceMs ?? 2000
  const user = options.user
  if (!user && process.getuid?.() === 0) {
    log.warn('local agents run as root: the worker CLI and the project\'s setup and test commands of local-mode jobs (and host fallback runs) can do anything root can, including reading this coordinator\'s environment and the app\'s data; set AGENT_LOCAL_USER to run them as a user of their own (docs/SECURITY.md, "Local mode")')
  }
  const commandFor = (spec: JobSpec): string[] => {
    if (typeof options.command === 'function') return options.command(spec)
    return options.command ?? [process.execPath, defaultAgentScript(), spec.kind]
  }

  async function probe(): Promise<ProbeResult> {
    const command = typeof options.command === 'function' || options.command === undefined
      ? [process.execPath, defaultAgentScript()]
      : options.command
    const executable = await findExecutable(command[0]!)
    if (!executable) return { ok: false, reason: `${command[0]} is not an executable` }
    if (options.command === undefined) {
      const script = command[1]!
      if (!(await access(script, fsConstants.R_OK).then(() => true, () => false))) {
        return { ok: false, reason: `agent bundle ${script} not found (run npm run build)` }
      }
    }
    return { ok: true, detail: executable }
  }

  async function run(spec: JobSpec, output: OutputSink, signal: AbortSignal): Promise<RunResult> {
    if (signal.aborted) return { exitCode: -1, stoppedBy: 'abort' }
    // Local mode: the project's path is checked where it lives, before anything runs there (an
    // agent run as AGENT_LOCAL_USER clones through the app instead of working in the checkout).
    if (!user && spec.executionMode === 'local' && spec.projectPath) {
      const problem = await localCheckoutProblem(spec.projectPath, spec.env.REPO_URL)
      if (problem) throw new Error(problem)
    }
    const [file, ...args] = commandFor(spec)
    const dirs = user ? await createAgentJobDirs(user, spec.jobId) : undefined
    const env = user && dirs ? agentUserEnv(user, dirs, spec.env) : hostEnv(baseKeys, spec.env)
    const child = spawn(file!, args, {
      cwd: dirs?.home ?? spec.projectPath ?? options.defaultCwd ?? tmpdir(),
      env,
      ...(user ? { uid: user.uid, gid: user.gid } : {}), // libuv drops root's supplementary groups too
      detached: true, // own process group: -pid addresses the agent and everything it spawns
      stdio: ['ignore', 'pipe', 'pipe'], // stdin closed: some worker CLIs wait for EOF otherwise
    })
    // A spawn failure (ENOENT, EACCES) means the job could not be started at all: reject.
    await new Promise<void>((resolveSpawn, rejectSpawn) => {
      child.once('spawn', resolveSpawn)
      child.once('error', rejectSpawn)
    }).catch(async (error) => {
      if (dirs) await removeAgentJobDirs(dirs, user!)
      throw error
    })
    const pid = child.pid!
    child.on('error', (error) => log.warn('agent process error', { jobId: spec.jobId, pid, error }))
    log.info('agent process started', { jobId: spec.jobId, pid })

    for (const stream of ['stdout', 'stderr'] as const) {
      const decoder = new StringDecoder('utf8')
      child[stream].on('data', (data: Buffer) => {
        const text = decoder.write(data)
        if (text !== '') output({ stream, text })
      })
      child[stream].on('end', () => {
        const rest = decoder.end()
        if (rest !== '') output({ stream, text: rest })
      })
    }

    let stoppedBy: RunResult['stoppedBy']
    let killTimer: NodeJS.Timeout | undefined
    const killGroup = (signalName: NodeJS.Signals) => {
      try {
        process.kill(-pid, signalName)
      } catch {
        // ESRCH: the group is already gone
      }
    }
    const stop = (reason: 'abort' | 'timeout') => {
      if (stoppedBy) return
      stoppedBy = reason
      log.info('stopping agent process group', { jobId: spec.jobId, pid, reason })
      killGroup('SIGTERM')
      killTimer = setTimeout(() => killGroup('SIGKILL'), killGraceMs)
    }
    const onAbort = () => stop('abort')
    signal.addEventListener('abort', onAbort, { once: true })
    const timeout = spec.timeoutMs > 0 ? setTimeout(() => stop('timeout'), spec.timeoutMs) : undefined

    // 'close' waits for the pipes too, so every byte is delivered before we resolve. A grandchild
    // that keeps the pipes open would hold 'close' back: after 'exit' the group is killed, so
    // leftovers of a finished agent never outlive its job.
    const exitCode = await new Promise<number>((resolveExit) => {
      let code: number | undefined
      child.once('exit', (exit, signalName) => {
        code = exit ?? 128 + (signalName ? osConstants.signals[signalName] : 0)
        killGroup('SIGKILL')
      })
      child.once('close', () => resolveExit(code ?? -1))
    })
    clearTimeout(timeout)
    clearTimeout(killTimer)
    signal.removeEventListener('abort', onAbort)
    log.info('agent process exited', { jobId: spec.jobId, pid, exitCode, stoppedBy })
    if (dirs) {
      await removeAgentJobDirs(dirs, user!).catch((error) => log.warn('could not remove the agent\'s job directory', { jobId: spec.jobId, dir: dirs.root, error }))
      return stoppedBy ? { exitCode, stoppedBy } : { exitCode }
    }
    // An agent killed before it could clean up (SIGKILL after the stop grace) leaves its worktree
    // behind; its process group is gone now, so the stale clean-up takes it (and any older ones).
    if (spec.executionMode === 'local' && spec.projectPath) {
      await pruneWorktreesOf(spec.projectPath, { PATH: env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? tmpdir() }).then(
        (pruned) => pruned.length && log.info('removed stale agent worktrees', { jobId: spec.jobId, pruned }),
        (error) => log.warn('could not prune agent worktrees', { jobId: spec.jobId, error }),
      )
    }
    return stoppedBy ? { exitCode, stoppedBy } : { exitCode }
  }

  return { name: NAME, probe, run }
}

/** The host run's environment: `keys` of the coordinator's, then the job's. */
function hostEnv(keys: string[], jobEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const key of keys) if (process.env[key] !== undefined) env[key] = process.env[key]!
  return Object.assign(env, jobEnv)
}

/**
 * The environment of an agent run as `user`: PATH and LANG of the coordinator's, the user's own
 * identity and directories, and the job's variables (the job token and app URL among them).
 *
 * The agent clones into its own workspace (AGENT_WORKSPACE) through the git relay instead of adding
 * a worktree inside the project's checkout: a worktree lives in the checkout's `.git`, which the
 * agent user must not be able to write (nor, commonly, read: a person's home is 0700), and git
 * refuses a repository another user owns (safe.directory). A clone owned by the agent user needs no
 * access to the checkout at all, so the checkout cannot be written (issue 11's first rule holds by
 * construction), at the cost of fetching the repository through the relay per job, as containers do.
 * PROJECT_PATH is left out so the agent does not take the worktree path.
 */
function agentUserEnv(user: LocalUser, dirs: AgentJobDirs, jobEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin' }
  if (process.env.LANG) env.LANG = process.env.LANG
  Object.assign(env, { HOME: dirs.home, USER: user.name, LOGNAME: user.name, SHELL: user.shell, TMPDIR: dirs.tmp }, jobEnv)
  delete env.PROJECT_PATH
  env.AGENT_WORKSPACE = dirs.workspace
  return env
}

/** An absolute/relative path that is executable, or a bare name found on PATH. */
async function findExecutable(command: string): Promise<string | undefined> {
  const isExecutable = (path: string) => access(path, fsConstants.X_OK).then(() => true, () => false)
  if (isAbsolute(command) || command.includes('/')) return (await isExecutable(command)) ? command : undefined
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(directory, command)
    if (directory && (await isExecutable(candidate))) return candidate
  }
  return undefined
}
