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
// template stays root's, readable by all), in an empty HOME and an empty directory, against a
// throwaway endpoint on 127.0.0.1 that answers its first request with a 500; the CLI's process group
// is then killed. No job exists at that point: the prompt is a fixed word, the key a fixed
// placeholder, nothing leaves the machine. Then what belongs to that one run is removed (its session
// files, logs of its process, shell snapshots, locks, the installation id, so every job gets its own;
// that run's thread stays listed in Codex's state databases, a thread titled "prepare" whose rollout
// file is gone, the same in every job's HOME), and the template is checked to hold neither the
// placeholder key nor the endpoint's port, and nothing but files and directories (a link would point
// out of each job's HOME). A CLI that cannot be prepared leaves no template: its jobs start as before.
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PLACEHOLDER_KEY = 'prepare-only-not-a-key'
const TIMEOUT_MS = 60_000

/** Per worker mode: how to start the CLI once, and what of that run is removed afterwards (paths under HOME). */
const CLIS = {
  codex: {
    command: 'codex',
    args: (port) => ['exec', '--json', '--skip-git-repo-check',
      '-c', 'model_provider="prepare"',
      '-c', `model_providers.prepare={name="prepare",base_url="http://127.0.0.1:${port}/v1",env_key="PREPARE_KEY",wire_api="responses"}`,
      '-c', 'analytics.enabled=false', '-c', 'sandbox_mode="danger-full-access"', '-m', 'prepare-model', '-'],
    env: (home) => ({ CODEX_HOME: join(home, '.codex'), PREPARE_KEY: PLACEHOLDER_KEY }),
    setup: (home) => mkdirSync(join(home, '.codex'), { recursive: true }),
    remove: ['.codex/sessions', '.codex/archived_sessions', '.codex/shell_snapshots', '.codex/tmp', '.codex/.tmp', '.codex/log',
      '.codex/thread-writer-locks', '.codex/installation_id', '.codex/config.toml', '.codex/history.jsonl', 'tmp'],
  },
}

async function prepare(mode, spec, out) {
  const home = mkdtempSync(join(tmpdir(), `prepare-${mode}-home-`))
  const cwd = mkdtempSync(join(tmpdir(), `prepare-${mode}-cwd-`))
  let child
  const server = createServer((request, response) => {
    request.resume()
    response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"prepare only"}}')
    if (child?.pid) try { process.kill(-child.pid, 'SIGKILL') } catch { /* gone */ }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  try {
    spec.setup?.(home)
    mkdirSync(join(home, 'tmp'), { recursive: true })
    const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', TMPDIR: join(home, 'tmp'), ...spec.env(home) }
    child = spawn(spec.command, spec.args(port), { cwd, env, detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
    child.stdin.on('error', () => {})
    child.stdin.end('prepare')
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL') } catch { /* gone */ } }, TIMEOUT_MS)
    const started = await new Promise((resolve) => {
      child.once('error', () => resolve(false))
      child.once('exit', () => resolve(true))
    })
    clearTimeout(timer)
    if (!started) throw new Error(`${spec.command} did not start`)
    for (const path of spec.remove) rmSync(join(home, path), { recursive: true, force: true })
    const leaks = scan(home, [PLACEHOLDER_KEY, `127.0.0.1:${port}`])
    if (leaks.length) throw new Error(`the prepared HOME still names this run: ${leaks.join(', ')}`)
    rmSync(out, { recursive: true, force: true })
    cpSync(home, out, { recursive: true })
    chmodSync(out, 0o755) // a copy of the 0700 temp dir
    makeReadable(out)
    console.log(`prepare-worker-homes: ${mode} → ${out}`)
  } finally {
    server.close()
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
