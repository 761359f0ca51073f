#!/usr/bin/env node
// Prepares, once per agent image (Dockerfile.agent), the first-run state a worker CLI otherwise
// creates in every job's fresh HOME before its first LLM request, as a read-only template the agent
// copies into that HOME (core/agent/run-worker.ts, AGENT_WORKER_HOME_TEMPLATES):
//
//   node prepare-worker-homes.mjs <templates dir>        # e.g. /opt/terarchitect/worker-homes
//
// Measured in the image (docs/performance.md): Codex spends ~0.3 s of its start creating and
// migrating its SQLite state files and unpacking its bundled system skills under CODEX_HOME. The
// other CLIs gained nothing measurable from a prepared HOME (their start is their own code), so only
// Codex has a template.
//
// How a template is made: the CLI runs once, as the build's user (root in Dockerfile.agent; the
// template stays root's, readable by all), in an empty HOME and an empty directory, with a command
// that opens its state but no session and sends no request: for Codex, `codex archive` of a session
// that does not exist, which creates and migrates its SQLite files and unpacks its skills, then
// fails finding no such session. So the template holds no thread, no turn, no prompt; the one file
// Codex makes only when a first thread opens (`thread_history_1.sqlite`, a few tens of
// milliseconds) is left to the job. No key, no endpoint, no job exists at that point. Then what
// belongs to that one run is removed (logs of its process, its temporary files, locks, the
// installation id, so every job gets its own), and the template is checked to hold no session's files,
// to name neither that run's HOME, nor its directory (a thread's row records it), nor the session it
// asked for, and to hold nothing but files and directories (a link would point out of each job's HOME). A CLI that cannot be prepared leaves no template: its jobs start as
// before.
import { spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const TIMEOUT_MS = 60_000
/** A session name no empty HOME holds: the command looks it up, finds nothing, and changes nothing. */
const NO_SESSION = 'prepare-only-no-such-session'

/**
 * Per worker mode: how to run the CLI once (`codes`: its exit codes that still mean its state was
 * made), what it must have made and what it must not have (a session's files), what of that run is
 * removed afterwards, all paths under HOME, and what no file of the template may contain.
 */
const CLIS = {
  codex: {
    command: 'codex',
    args: ['archive', NO_SESSION],
    codes: [0, 1], // 1: "No active session found matching …", the expected answer
    env: (home) => ({ CODEX_HOME: join(home, '.codex') }),
    setup: (home) => mkdirSync(join(home, '.codex'), { recursive: true }),
    remove: ['.codex/sessions', '.codex/archived_sessions', '.codex/shell_snapshots', '.codex/tmp', '.codex/.tmp', '.codex/log',
      '.codex/thread-writer-locks', '.codex/installation_id', '.codex/config.toml', '.codex/history.jsonl', 'tmp'],
    made: ['.codex/state_5.sqlite'],
    absent: ['.codex/sessions', '.codex/thread_history_1.sqlite'],
    marks: [NO_SESSION],
  },
}

async function prepare(mode, spec, out) {
  const home = mkdtempSync(join(tmpdir(), `prepare-${mode}-home-`))
  const cwd = mkdtempSync(join(tmpdir(), `prepare-${mode}-cwd-`))
  try {
    spec.setup?.(home)
    mkdirSync(join(home, 'tmp'), { recursive: true })
    const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', TMPDIR: join(home, 'tmp'), ...spec.env(home) }
    const child = spawn(spec.command, spec.args, { cwd, env, detached: true, stdio: 'ignore' })
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL') } catch { /* gone */ } }, TIMEOUT_MS)
    const code = await new Promise((resolve) => {
      child.once('error', () => resolve('not started'))
      child.once('exit', (exit, signal) => resolve(signal ?? exit))
    })
    clearTimeout(timer)
    try { process.kill(-child.pid, 'SIGKILL') } catch { /* the group is gone */ }
    if (!spec.codes.includes(code)) throw new Error(`${spec.command} ${spec.args.join(' ')}: ${typeof code === 'number' ? `exit ${code}` : code}`)
    const missing = spec.made.filter((path) => !existsSync(join(home, path)))
    if (missing.length) throw new Error(`${spec.command} made no first-run state: ${missing.join(', ')} missing`)
    const opened = spec.absent.filter((path) => existsSync(join(home, path)))
    if (opened.length) throw new Error(`the prepared HOME holds a session's state: ${opened.join(', ')}`)
    for (const path of spec.remove) rmSync(join(home, path), { recursive: true, force: true })
    const leaks = scan(home, [home, cwd, ...spec.marks]) // a thread's row would record its cwd
    if (leaks.length) throw new Error(`the prepared HOME still names this run: ${leaks.join(', ')}`)
    rmSync(out, { recursive: true, force: true })
    cpSync(home, out, { recursive: true })
    chmodSync(out, 0o755) // a copy of the 0700 temp dir
    makeReadable(out)
    console.log(`prepare-worker-homes: ${mode} → ${out}`)
  } finally {
    rmSync(home, { recursive: true, force: true })
    rmSync(cwd, { recursive: true, force: true })
  }
}

/**
 * Every file and directory under `dir`, never following a link: a symbolic link (or anything else
 * but a file or a directory) refuses the template, since copied into each job's HOME it would point
 * out of it (into the template, or anywhere), and chmod through it would change what it points to.
 */
function walk(dir) {
  const found = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const stat = lstatSync(path)
    if (stat.isDirectory()) found.push({ path, stat }, ...walk(path))
    else if (stat.isFile()) found.push({ path, stat })
    else throw new Error(`the prepared HOME holds ${path}, neither a file nor a directory`)
  }
  return found
}

/** Files under `dir` whose bytes contain any of `needles`. */
function scan(dir, needles) {
  return walk(dir).filter(({ path, stat }) => stat.isFile() && needles.some((needle) => readFileSync(path).includes(needle))).map(({ path }) => path)
}

/** Everyone may read the template (the agent copies it as its own user); nobody but root writes it. */
function makeReadable(dir) {
  for (const { path, stat } of walk(dir)) chmodSync(path, stat.isDirectory() ? 0o755 : (stat.mode & 0o111 ? 0o755 : 0o644))
}

const target = process.argv[2]
if (!target) {
  console.error('usage: prepare-worker-homes.mjs <templates dir>')
  process.exit(2)
}
mkdirSync(target, { recursive: true })
for (const [mode, spec] of Object.entries(CLIS)) {
  try {
    await prepare(mode, spec, join(target, mode))
  } catch (error) {
    // Not fatal: without a template the CLI creates its state in the job's HOME, as it always did.
    console.error(`prepare-worker-homes: ${mode} not prepared: ${error.message}`)
    if (existsSync(join(target, mode))) rmSync(join(target, mode), { recursive: true, force: true })
  }
}
