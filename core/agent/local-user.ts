/**
 * The OS user local agents run as (`AGENT_LOCAL_USER` on the coordinator), and the per-job
 * directories that user owns. With it set, the local executor starts the agent with that user's
 * uid and gid, so code the agent runs (the worker CLI, setup and test commands) cannot read the
 * coordinator's `/proc/<pid>/environ` (the kernel refuses another uid), nor the app's data dir, the
 * worker key or the coordinator's state dir (all 0700/0600, owned by the coordinator's user).
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { chmod, lchown, mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { badRequest } from '../errors.ts'

export interface LocalUser {
  name: string
  uid: number
  gid: number
  /** The login shell from the passwd entry (the agent's `SHELL`). */
  shell: string
}

/** A passwd entry's fields, by `getent passwd` (NSS: LDAP and the like included), else /etc/passwd. */
export function lookupUser(name: string): LocalUser | undefined {
  const getent = spawnSync('getent', ['passwd', '--', name], { encoding: 'utf8' })
  let line: string | undefined
  if (!getent.error) line = getent.status === 0 ? getent.stdout.split('\n')[0] : undefined
  else {
    // No getent on this system: the flat file is all there is.
    line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.split(':')[0] === name)
  }
  const fields = line?.split(':')
  if (!fields || fields.length < 7 || fields[0] !== name) return undefined
  return { name, uid: Number(fields[2]), gid: Number(fields[3]), shell: fields[6] || '/bin/sh' }
}

const refuse = (message: string) => badRequest(`invalid configuration: AGENT_LOCAL_USER: ${message}`, [{ path: 'AGENT_LOCAL_USER', message }])

/**
 * Checks `AGENT_LOCAL_USER` at the coordinator's start: the user exists, is neither root nor the
 * coordinator's own user, and the coordinator is root (only root may start a process as another
 * user). Unset: undefined (agents run as the coordinator's user).
 */
export function resolveAgentLocalUser(name: string | undefined, coordinatorUid = process.getuid?.()): LocalUser | undefined {
  if (name === undefined) return undefined
  const user = lookupUser(name)
  if (!user) throw refuse(`no such user ${JSON.stringify(name)} (create it, e.g. useradd --system --create-home ${name})`)
  if (user.uid === 0) throw refuse(`${name} is root: local agents would hold every privilege the separate user is meant to remove`)
  if (user.uid === coordinatorUid) throw refuse(`${name} is the coordinator's own user: agents could read its environment and files`)
  if (coordinatorUid !== 0) throw refuse(`running agents as ${name} needs a coordinator started as root (this one runs as uid ${coordinatorUid})`)
  return user
}

/** The directories of one job run as the agent user; `root` holds them all and is removed after the run. */
export interface AgentJobDirs {
  root: string
  /** The agent's `HOME`. */
  home: string
  /** `AGENT_WORKSPACE`: the agent clones the project here (empty). */
  workspace: string
  /** The agent's `TMPDIR`. */
  tmp: string
}

/**
 * Creates the job's directories under `base` (default the coordinator's temp dir): a root the
 * coordinator keeps (mkdtemp: a fresh name; mode 0711, so the agent user may pass through it but
 * neither list nor rename what is in it) holding `home`, `workspace` and `tmp`, each owned by
 * `user`, mode 0700. Everything is created before anything is handed over, and `lchown` never
 * follows a symlink.
 */
export async function createAgentJobDirs(user: LocalUser, jobId: number, base = tmpdir()): Promise<AgentJobDirs> {
  const root = await mkdtemp(join(base, `terarchitect-agent-job-${jobId}-`))
  const dirs = { root, home: join(root, 'home'), workspace: join(root, 'workspace'), tmp: join(root, 'tmp') }
  try {
    for (const dir of [dirs.home, dirs.workspace, dirs.tmp]) await mkdir(dir, { mode: 0o700 })
    for (const dir of [dirs.home, dirs.workspace, dirs.tmp]) await lchown(dir, user.uid, user.gid)
    await chmod(root, 0o711)
  } catch (error) {
    // Nothing runs as the user yet: nothing can race this removal.
    await rm(root, { recursive: true, force: true })
    throw error
  }
  return dirs
}

/**
 * Removes a job's directories. What is inside `home`, `workspace` and `tmp` is the agent user's and
 * may be rearranged under our feet by a process it left behind (a directory swapped for a symlink
 * mid-walk): a recursive removal by the coordinator (root) could then be steered into any directory
 * of the host. So the user's own trees are removed as that user (it can only ever delete what it
 * could anyway), and the coordinator removes only empty directories (rmdir never follows a link).
 */
export async function removeAgentJobDirs(dirs: AgentJobDirs, user: LocalUser): Promise<void> {
  // As the user: what is inside its three directories (it cannot remove the directories themselves
  // from the coordinator's root); then, as the coordinator, the emptied directories and the root.
  const child = spawn('find', [dirs.home, dirs.workspace, dirs.tmp, '-mindepth', '1', '-delete'], { uid: user.uid, gid: user.gid, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`emptying the job directories as ${user.name} failed (find exited ${code}): ${stderr.trim()}`)
  for (const dir of [dirs.home, dirs.workspace, dirs.tmp, dirs.root]) await rmdir(dir)
}
