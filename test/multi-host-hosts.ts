/**
 * The programs test/multi-host.test.ts runs on its hosts (test/multi-host-net.ts): PostgreSQL, the
 * built app (`dist/server.js`), the built coordinator (`dist/coordinator.js`, local executor), the
 * forge process (test/multi-host-forge.ts), the stand-in worker CLI the agents drive, and the list
 * of live agents (from /proc, with the host each runs on). Every
 * process started here is listed in `processes`, so the suite's clean-up can kill them all.
 * Secrets go to children in their environment, never in argv.
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import postgres from 'postgres'
import { ROOT, sleep } from './helpers.ts'
import { PG_BIN } from './postgres.ts'
import { SUBNET, hostOf, spawnIn, type Host } from './multi-host-net.ts'

export interface HostProcess {
  name: string
  child: ChildProcess
  lines: string[]
  exited: Promise<number | null>
  waitForLine(pattern: RegExp, ms?: number): Promise<string>
}

export const processes: HostProcess[] = []

/** Runs `command` in `host`'s namespace, keeping its output lines. */
export function startOn(host: Host, name: string, command: string[], env: Record<string, string>, user?: { uid: number; gid: number }): HostProcess {
  const child = spawnIn(host, command, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'], user })
  const lines: string[] = []
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = ''
    stream.on('data', (data: Buffer) => {
      rest += data.toString()
      const parts = rest.split('\n')
      rest = parts.pop()!
      lines.push(...parts)
      if (process.env.MULTI_HOST_VERBOSE) for (const line of parts) process.stderr.write(`  [${name}] ${line}\n`)
    })
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const started: HostProcess = {
    name, child, lines, exited,
    async waitForLine(pattern, ms = 60_000) {
      const deadline = Date.now() + ms
      for (;;) {
        const hit = lines.find((line) => pattern.test(line))
        if (hit) return hit
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          throw new Error(`${name} never printed ${pattern} (${child.exitCode ?? child.signalCode ?? 'running'}); last lines:\n${lines.slice(-20).join('\n')}`)
        }
        await sleep(50)
      }
    },
  }
  processes.push(started)
  return started
}

/** SIGKILLs every process started here that still runs, and waits for them. */
export async function killAll(): Promise<void> {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  await Promise.all(processes.map((p) => p.exited))
}

const baseEnv = (home: string) => ({ PATH: process.env.PATH!, HOME: home, LANG: 'C.UTF-8' })

/** PostgreSQL 15 on `host` (its loopback and its address), trusting the test's subnet, in a temp dir of its own (`dir`, the caller removes it). */
export async function startPostgres(host: Host): Promise<{ url: string; localUrl: string; dir: string }> {
  const user = { uid: Number(idOf('-u')), gid: Number(idOf('-g')) }
  const dir = mkdtempSync(join(tmpdir(), 'multi-host-pg-'))
  chownSync(dir, user.uid, user.gid)
  const data = join(dir, 'data')
  const init = spawnSync(join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], { encoding: 'utf8', ...user })
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`)
  appendFileSync(join(data, 'pg_hba.conf'), `host all all ${SUBNET}.0/24 trust\n`)
  const pg = startOn(host, 'postgres', [join(PG_BIN, 'postgres'), '-D', data, '-p', '5432', '-k', dir,
    '-c', `listen_addresses=127.0.0.1,${host.address}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    '-c', 'max_connections=200'], baseEnv(dir), user)
  const url = `postgres://postgres@${host.address}:5432/postgres`
  for (let i = 0; ; i++) {
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2 })
    try {
      await sql`select 1`
      await sql.end()
      return { url, localUrl: 'postgres://postgres@127.0.0.1:5432/postgres', dir }
    } catch (error) {
      await sql.end({ timeout: 0 }).catch(() => {})
      if (i > 100 || pg.child.exitCode !== null) throw new Error(`postgres did not start: ${(error as Error).message}\n${pg.lines.join('\n')}`)
      await sleep(100)
    }
  }
}

function idOf(flag: string): string {
  return spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim()
}

export interface Forge {
  llm: string
  github: string
  git: string
  /** Where the bare repositories are on disk. */
  root: string
  repos: Record<string, string>
  control: string
  process: HostProcess
}

/** The forge process (test/multi-host-forge.ts) on `host`. */
export async function startForge(host: Host, token: string, llmDelayMs: number, home: string): Promise<Forge> {
  const forge = startOn(host, 'forge', [process.execPath, '--import', pathToFileURL(join(ROOT, 'scripts/ts-register.mjs')).href, join(ROOT, 'test/multi-host-forge.ts')],
    { ...baseEnv(home), MH_FORGE_ADDRESS: host.address, MH_FORGE_TOKEN: token, MH_LLM_DELAY_MS: String(llmDelayMs) })
  const line = await forge.waitForLine(/^\{"llm"/)
  return { ...JSON.parse(line), process: forge }
}

/** The built app on `host`:`port`. */
export async function startApp(host: Host, name: string, port: number, env: Record<string, string>): Promise<{ url: string; process: HostProcess }> {
  const dataDir = mkdtempSync(join(tmpdir(), `multi-host-${name}-`))
  const app = startOn(host, name, [process.execPath, join(ROOT, 'dist/server.js')],
    { ...baseEnv(dataDir), HOST: host.address, PORT: String(port), TERARCHITECT_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env })
  const url = `http://${host.address}:${port}`
  for (let i = 0; ; i++) {
    const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) }).catch(() => null)
    if (res?.status === 200) return { url, process: app }
    if (i > 300 || app.child.exitCode !== null) throw new Error(`${name} did not start:\n${app.lines.slice(-20).join('\n')}`)
    await sleep(100)
  }
}

/** The built coordinator on `host` (local executor: its agents run in `host`'s namespace too), as `id`. */
export function startCoordinator(host: Host, id: string, env: Record<string, string>): HostProcess {
  const stateDir = mkdtempSync(join(tmpdir(), `multi-host-${id}-`))
  return startOn(host, id, [process.execPath, join(ROOT, 'dist/coordinator.js')], {
    ...baseEnv(stateDir), COORDINATOR_ID: id, COORDINATOR_STATE_DIR: stateDir, LOG_LEVEL: 'info', ...env,
  })
}

/**
 * The worker CLI the agents drive: an `aider` stand-in (Aider is Python, not installed here) that
 * asks the model through the app's LLM relay what to write (`--openai-api-base`, the job's relay
 * key in OPENAI_API_KEY), writes it, and prints what Aider prints for an applied edit.
 */
export function writeWorkerStandIn(dir: string): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'aider')
  writeFileSync(path, `#!${process.execPath}
const { readFileSync, writeFileSync } = require('node:fs')
const args = process.argv.slice(2)
if (args[0] === '--version') { console.log('aider 0.86.1 (stand-in)'); process.exit(0) }
const opt = (name) => args[args.indexOf(name) + 1]
;(async () => {
  const res = await fetch(opt('--openai-api-base').replace(/\\/$/, '') + '/chat/completions', {
    method: 'POST',
    headers: { authorization: 'Bearer ' + process.env.OPENAI_API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ model: opt('--model').replace(/^openai\\//, ''), messages: [{ role: 'user', content: readFileSync(opt('--message-file'), 'utf8') }] }),
  })
  if (!res.ok) { console.log('litellm.APIError: HTTP ' + res.status); process.exit(1) }
  const [file, ...content] = (await res.json()).choices[0].message.content.split('\\n')
  writeFileSync(file, content.join('\\n') + '\\n')
  console.log(file + '\\n<<<<<<< SEARCH\\n=======\\n' + content.join('\\n') + '\\n>>>>>>> REPLACE\\nApplied edit to ' + file)
  console.log('Tokens: 1.2k sent, 54 received. Cost: $0.01 message, $0.01 session.')
})().catch((error) => { console.log('litellm.APIConnectionError: ' + error.message); process.exit(1) })
`)
  chmodSync(path, 0o755)
  return dir
}

export interface Agent { pid: number; ppid: number; ticketId: number; jobId: number; attempt: number; host: string }

/** Live agents talking to one of `apiUrls` (argv names dist/agent.js; from /proc), with the host (of `hosts`) each runs on. */
export function agentsOf(apiUrls: string[], hosts: Host[]): Agent[] {
  const found: Agent[] = []
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').some((arg) => arg.endsWith('/dist/agent.js'))) continue
      const stat = /^\d+ \(.*\) (\S) (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))
      if (!stat || stat[1] === 'Z') continue
      const env = new Map(readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
      if (!apiUrls.includes(env.get('TERARCHITECT_API_URL') ?? '')) continue
      found.push({ pid: Number(entry), ppid: Number(stat[2]), ticketId: Number(env.get('TICKET_ID')), jobId: Number(env.get('JOB_ID')), attempt: Number(env.get('JOB_ATTEMPT')), host: hostOf(Number(entry), hosts)?.name ?? '?' })
    } catch {
      // gone meanwhile
    }
  }
  // Between fork and exec an agent's child shows the agent's argv and environment: the same agent.
  const pids = new Set(found.map((agent) => agent.pid))
  return found.filter((agent) => !pids.has(agent.ppid))
}
