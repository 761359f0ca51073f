/**
 * A temporary PostgreSQL 15 cluster for tests: initdb (as user `postgres` when running as root)
 * into a temp dir, started on a free port with durability off (tests, not data). The test runner
 * starts one and shares it through TEST_PG_URL; a test file run alone starts its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, chownSync, existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'

export interface Cluster {
  url: string
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user. */
function asPostgres(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {}
  return { uid: Number(idOf('-u')), gid: Number(idOf('-g')) }
}

export async function startCluster(): Promise<Cluster> {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`PostgreSQL 15 not found in ${PG_BIN}: run scripts/provision.sh`)
  const dir = mkdtempSync(join(tmpdir(), 'terarchitect-pg-'))
  const user = asPostgres()
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!)
  const init = spawnSync(join(PG_BIN, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], {
    encoding: 'utf8',
    ...user,
  })
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`)
  const port = await freePort()
  const args = [
    '-D', join(dir, 'data'), '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    '-c', 'max_connections=300', '-c', 'shared_buffers=256MB',
  ]
  const child: ChildProcess = spawn(join(PG_BIN, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...user })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  for (let i = 0; ; i++) {
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2 })
    try {
      await sql`select 1`
      await sql.end()
      break
    } catch (error) {
      await sql.end({ timeout: 0 }).catch(() => {})
      if (i > 100 || child.exitCode !== null) throw new Error(`postgres did not start: ${stderr || (error as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return {
    url,
    async stop() {
      child.kill('SIGINT') // fast shutdown: disconnects clients instead of waiting for them
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function idOf(flag: string): string {
  return spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim()
}

/** A fresh, empty database on the cluster; returns its URL. */
export async function createDatabase(clusterUrl: string): Promise<string> {
  const name = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const sql = postgres(clusterUrl, { max: 1, onnotice: () => {} })
  await sql.unsafe(`create database ${name}`)
  await sql.end()
  const url = new URL(clusterUrl)
  url.pathname = `/${name}`
  return url.toString()
}
