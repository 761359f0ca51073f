// The built app as a real process: embedded database with no setup, PostgreSQL through
// DATABASE_URL, the first-admin setup code on stdout, the data-dir lock refusing a second app, clean
// SIGTERM, and a refused insecure bind.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, clusterUrl, stopOwnCluster, waitFor } from './helpers.ts'
import { createDatabase, freePort } from './postgres.ts'

const SERVER = join(ROOT, 'dist', 'server.js')

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let output = ''
  const child = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function health(port: number) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/health`)
    return res.ok ? ((await res.json()) as { ok: boolean; down: string[]; db: string; version: string; build: string }) : null
  } catch {
    return null
  }
}

test.before(() => {
  if (!existsSync(SERVER)) assert.is(spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' }).status, 0)
})

test('no DATABASE_URL: embedded PGlite with no setup; a second app on the same dir refuses', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'terarchitect-proc-')), 'nested', 'data')
  const port = await freePort()
  const app = startServer({ PORT: String(port), TERARCHITECT_DATA_DIR: dataDir })
  try {
    const answer = await waitFor(() => health(port), 60000, 'health')
    // Ready: nothing down, the embedded database, the build this bundle was made from.
    assert.is(answer.ok, true)
    assert.equal(answer.down, [])
    assert.is(answer.db, 'pglite')
    assert.match(answer.build, /^\d+\.\d+\.\d+\+([0-9a-f]{12}|unknown)$/)
    // No account yet: the first-admin code is printed for whoever sets the app up from elsewhere.
    await waitFor(async () => /First-admin setup code: [0-9a-f]{4}(-[0-9a-f]{4}){3}\n/.test(app.output()), 10000, 'the setup code on stdout')
    assert.is(statSync(join(dataDir, 'secret.key')).mode & 0o777, 0o600)
    const second = startServer({ PORT: String(await freePort()), TERARCHITECT_DATA_DIR: dataDir })
    assert.is(await second.exited, 1)
    assert.match(second.output(), /in use by another Terarchitect app \(pid \d+\)/)
    app.child.kill('SIGTERM')
    assert.is(await app.exited, 0, 'SIGTERM stops it cleanly')
    assert.not.ok(existsSync(join(dataDir, 'terarchitect.lock')), 'lock released')
  } finally {
    app.child.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test('DATABASE_URL set: PostgreSQL', async () => {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'terarchitect-proc-'))
  const app = startServer({ PORT: String(port), TERARCHITECT_DATA_DIR: dataDir, DATABASE_URL: await createDatabase(await clusterUrl()) })
  try {
    const answer = await waitFor(() => health(port), 30000, 'health')
    assert.is(answer.db, 'postgres')
  } finally {
    app.child.kill('SIGTERM')
    await app.exited
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test('a non-loopback bind with no account and no admin token refuses to start, naming it', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'terarchitect-proc-'))
  const app = startServer({ PORT: String(await freePort()), HOST: '0.0.0.0', ALLOWED_HOSTS: 'team-box', TERARCHITECT_DATA_DIR: dataDir })
  assert.is(await app.exited, 1)
  assert.match(app.output(), /TERARCHITECT_ADMIN_TOKEN/)
  rmSync(dataDir, { recursive: true, force: true })
})

test('a bad configuration value is named', async () => {
  const app = startServer({ PORT: 'eighty' })
  assert.is(await app.exited, 1)
  assert.match(app.output(), /PORT/)
})

test.after(stopOwnCluster)
test.run()
