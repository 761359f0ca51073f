/**
 * Backups of the embedded database with the built app (`dist/server.js`): a backup taken while the
 * app runs and serves, restored into a new data dir, holds every row and the keys (an app started
 * on it signs people in and reads its secrets); restore refuses a non-empty dir; only the data
 * dir's owner reaches the running app's backup socket; a data dir copied while its app runs starts
 * (its copied lock is stale) and does not lead `backup` to the original's app.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { ROOT, clusterUrl, stopOwnCluster, waitFor } from './helpers.ts'
import { createDatabase, freePort } from './postgres.ts'

const SERVER = join(ROOT, 'dist', 'server.js')
const PASSWORD = 'correct horse battery'
const SECRET = 'ghp_backup_test_secret_0123456789'
const root = mkdtempSync(join(tmpdir(), 'terarchitect-backup-test-'))
const baseEnv = { PATH: process.env.PATH!, HOME: process.env.HOME!, LOG_LEVEL: 'warn' }

interface AppProcess {
  child: ChildProcess
  url: string
  output: () => string
  stop(): Promise<number | null>
}

async function startBuiltApp(dataDir: string): Promise<AppProcess> {
  const port = await freePort()
  let output = ''
  const child = spawn(process.execPath, [SERVER], { env: { ...baseEnv, PORT: String(port), TERARCHITECT_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => child.exitCode !== null ? Promise.reject(new Error(output)) : fetch(`${url}/api/health`).then((res) => res.ok, () => false), 60000, 'the app')
  return {
    child, url, output: () => output,
    stop: () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}

/** `node dist/server.js <args>` with the app's environment; its exit code and output. */
function command(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SERVER, ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.once('exit', (code) => resolve({ code, output }))
  })
}

async function call(app: AppProcess, method: string, path: string, body?: unknown, cookie?: string) {
  const res = await fetch(app.url + path, {
    method,
    headers: { ...(method === 'GET' ? {} : { 'content-type': 'application/json' }), ...(cookie ? { cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null, cookie: res.headers.get('set-cookie')?.split(';')[0] }
}

/** Every row of every table of a stopped app's embedded database, as text, per table. */
async function everyRow(dataDir: string): Promise<Record<string, string[]>> {
  const db = await PGlite.create(join(dataDir, 'pglite'), { extensions: { vector } })
  try {
    const tables = await db.query<{ name: string }>(`select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`)
    const rows: Record<string, string[]> = {}
    for (const { name } of tables.rows) {
      rows[name] = (await db.query<{ row: string }>(`select t::text as row from "${name}" t order by 1`)).rows.map((r) => r.row)
    }
    return rows
  } finally {
    await db.close()
  }
}

test.before(() => {
  if (!existsSync(SERVER)) assert.is(spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' }).status, 0)
})
test.after(() => rmSync(root, { recursive: true, force: true }))
test.after(stopOwnCluster)

test('backup while running, restore into a new dir: every row there, people sign in, secrets readable', async () => {
  const dataDir = join(root, 'data')
  const app = await startBuiltApp(dataDir)
  let running = true
  try {
    // Projects, tickets and a secret setting while nobody has an account (this machine is the admin).
    const project = await call(app, 'POST', '/api/projects', { name: 'shop', repo_url: 'https://git.example/shop.git' })
    assert.is(project.status, 201, JSON.stringify(project.body))
    for (const title of ['Add a health endpoint', 'Fix the cart', 'Write the docs']) {
      assert.is((await call(app, 'POST', `/api/projects/${project.body.id}/tickets`, { title })).status, 201)
    }
    const settings = await call(app, 'PUT', '/api/settings', { values: { GITHUB_TOKEN: SECRET, WORKER_MODEL: 'test-model' } })
    assert.is(settings.status, 200, JSON.stringify(settings.body))
    // People: the first admin, then a member.
    const admin = await call(app, 'POST', '/api/auth/setup', { login: 'root', password: PASSWORD })
    assert.is(admin.status, 201, JSON.stringify(admin.body))
    assert.is((await call(app, 'POST', '/api/users', { login: 'alice', password: PASSWORD, role: 'member' }, admin.cookie)).status, 201)

    // The backup, while the app answers requests.
    const file = join(root, 'backup.tar.gz')
    let probing = true
    const probes: number[] = []
    const prober = (async () => {
      while (probing) probes.push((await fetch(`${app.url}/api/health/live`)).status)
    })()
    const backup = await command(['backup', file], { TERARCHITECT_DATA_DIR: dataDir })
    probing = false
    await prober
    assert.is(backup.code, 0, backup.output)
    assert.match(backup.output, `backup of ${dataDir} written to ${file}`)
    assert.match(backup.output, 'from the running app')
    assert.match(backup.output, 'it holds the database and secret.key and worker.key: store it as carefully as the secret key')
    assert.ok(probes.length > 0 && probes.every((status) => status === 200), `the app kept serving: ${probes.length} answers`)
    assert.is(statSync(file).mode & 0o777, 0o600, 'the backup holds the secret key: private')
    const listing = spawnSync('tar', ['tzf', file], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort()
    assert.equal(listing, ['manifest.json', 'pglite.tar', 'secret.key', 'worker.key'])

    // Only the data dir's owner reaches the running app's backup socket.
    const socketPath = readFileSync(join(dataDir, 'backup.socket'), 'utf8').trim()
    assert.is(statSync(join(socketPath, '..')).mode & 0o777, 0o700)
    const stranger = spawnSync(process.execPath, ['-e', `
      require('node:http').request({ socketPath: ${JSON.stringify(socketPath)}, method: 'POST', path: '/backup' }, (res) => console.log('answered ' + res.statusCode))
        .on('error', (error) => console.log(error.code)).end()`], { encoding: 'utf8', uid: 65534, gid: 65534 })
    assert.is(stranger.stdout.trim(), 'EACCES', stranger.stderr)

    assert.is(await app.stop(), 0)
    running = false
    const original = await everyRow(dataDir)

    const restoredDir = join(root, 'restored')
    const restore = await command(['restore', file, '--data-dir', restoredDir], {})
    assert.is(restore.code, 0, restore.output)
    assert.match(restore.output, `into ${restoredDir}: database and secret.key, worker.key`)
    const again = await command(['restore', file, '--data-dir', restoredDir], {})
    assert.is(again.code, 1)
    assert.match(again.output, `the data directory ${restoredDir} is not empty`)
    for (const key of ['secret.key', 'worker.key']) {
      assert.equal(readFileSync(join(restoredDir, key)), readFileSync(join(dataDir, key)))
      assert.is(statSync(join(restoredDir, key)).mode & 0o777, 0o600)
    }
    const restored = await everyRow(restoredDir)
    assert.ok(original.users.length === 2 && original.tickets.length >= 3 && original.projects.length === 1, 'the data is there to compare')
    assert.equal(restored, original, 'every row of every table')

    const second = await startBuiltApp(restoredDir)
    try {
      const alice = await call(second, 'POST', '/api/auth/login', { login: 'alice', password: PASSWORD })
      assert.is(alice.status, 200, JSON.stringify(alice.body))
      const projects = await call(second, 'GET', '/api/projects', undefined, alice.cookie)
      assert.equal(projects.body.map((p: { name: string }) => p.name), ['shop'])
      const views = await call(second, 'GET', '/api/settings', undefined, alice.cookie)
      const token = views.body.settings.find((s: { key: string }) => s.key === 'GITHUB_TOKEN')
      assert.is(token.status, 'set', 'the restored secret key reads the stored secret')
    } finally {
      await second.stop()
    }
  } finally {
    if (running) await app.stop()
  }
})

test('a backup taken while tickets are being written holds every ticket committed before it, and only committed ones', async () => {
  const dataDir = join(root, 'busy')
  const app = await startBuiltApp(dataDir)
  let running = true
  try {
    const project = await call(app, 'POST', '/api/projects', { name: 'busy', repo_url: 'https://git.example/busy.git' })
    let created = 0
    let writing = true
    const writer = (async () => {
      while (writing) {
        const res = await call(app, 'POST', `/api/projects/${project.body.id}/tickets`, { title: `during-${created}` })
        assert.is(res.status, 201, JSON.stringify(res.body))
        created++
      }
    })()
    await waitFor(async () => created >= 5, 20000, 'tickets being written')
    const before = created
    const file = join(root, 'busy.tar.gz')
    const backup = await command(['backup', file], { TERARCHITECT_DATA_DIR: dataDir })
    const after = created + 1 // one may be in flight when the backup answers
    writing = false
    await writer
    assert.is(backup.code, 0, backup.output)
    assert.is(await app.stop(), 0)
    running = false
    const restoredDir = join(root, 'busy-restored')
    assert.is((await command(['restore', file, '--data-dir', restoredDir], {})).code, 0)
    const original = new Set((await everyRow(dataDir)).tickets)
    const restored = (await everyRow(restoredDir)).tickets
    assert.ok(restored.length >= before && restored.length <= after, `${before} ≤ ${restored.length} ≤ ${after}`)
    assert.ok(created > restored.length, 'tickets were written after the backup')
    assert.ok(restored.every((row) => original.has(row)), 'every restored ticket is one the app committed, unchanged')
  } finally {
    if (running) await app.stop()
  }
})

test('a data dir copied while its app runs: the copy starts (its lock is stale), and backup does not reach the original', async () => {
  const dataDir = join(root, 'live')
  const app = await startBuiltApp(dataDir)
  try {
    await call(app, 'POST', '/api/projects', { name: 'copied', repo_url: 'https://git.example/copied.git' })
    const copy = join(root, 'copy')
    cpSync(dataDir, copy, { recursive: true })
    assert.is(readFileSync(join(copy, 'terarchitect.lock'), 'utf8').split('\n')[0], String(app.child.pid), 'the copy carries the live lock')
    const backup = await command(['backup', join(root, 'copy.tar.gz')], { TERARCHITECT_DATA_DIR: copy })
    assert.is(backup.code, 0, backup.output)
    assert.match(backup.output, 'the app was not running', 'the copied socket pointer leads to another data dir: ignored')
    const onCopy = await startBuiltApp(copy)
    const projects = await call(onCopy, 'GET', '/api/projects')
    assert.equal(projects.body.map((p: { name: string }) => p.name), ['copied'])
    assert.is(await onCopy.stop(), 0)
  } finally {
    await app.stop()
  }
})

test('PostgreSQL: the backup command points to pg_dump; bad usage names the usage', async () => {
  const pg = await command(['backup', join(root, 'pg.tar.gz')], { DATABASE_URL: await createDatabase(await clusterUrl()), TERARCHITECT_DATA_DIR: join(root, 'pg') })
  assert.is(pg.code, 1)
  assert.match(pg.output, 'DATABASE_URL is set: back up PostgreSQL with pg_dump')
  const usage = await command(['restore'], {})
  assert.is(usage.code, 1)
  assert.match(usage.output, 'usage: node dist/server.js backup <file> | restore <file> [--data-dir DIR]')
})

test.run()
