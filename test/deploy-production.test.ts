// The production install the runbook offers: the built `dist/` with `package.json` and the lock
// file in a directory of their own, `npm ci --omit=dev` (no dev dependency there), then the app and
// a coordinator from that directory alone. The coordinator authenticates with the generated worker
// key file and shows in the app's coordinators registry with the app's own build id.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, waitFor } from './helpers.ts'
import { freePort } from './postgres.ts'

const dir = mkdtempSync(join(tmpdir(), 'terarchitect-prod-'))
const opt = join(dir, 'opt')
const children: ChildProcess[] = []

function start(file: string, env: Record<string, string>) {
  let output = ''
  const child = spawn(process.execPath, [join(opt, 'dist', file)], {
    cwd: opt, env: { PATH: process.env.PATH!, HOME: dir, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  children.push(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exited, output: () => output }
}

test.after(() => {
  for (const child of children) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

test('npm ci --omit=dev beside the built dist/: the app and a coordinator run from it alone', async () => {
  if (!existsSync(join(ROOT, 'dist/server.js'))) assert.is(spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' }).status, 0)
  for (const path of ['dist', 'package.json', 'package-lock.json']) cpSync(join(ROOT, path), join(opt, path), { recursive: true })
  const install = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: opt, encoding: 'utf8', timeout: 300_000 })
  assert.is(install.status, 0, `npm ci failed:\n${install.stdout}\n${install.stderr}`)
  for (const dev of ['esbuild', 'c8', 'uvu', 'typescript']) assert.not.ok(existsSync(join(opt, 'node_modules', dev)), `${dev} is a dev dependency`)

  const port = await freePort()
  const dataDir = join(dir, 'data')
  const app = start('server.js', { PORT: String(port), TERARCHITECT_DATA_DIR: dataDir })
  const url = `http://127.0.0.1:${port}`
  const health = await waitFor(async () => {
    const res = await fetch(`${url}/api/health`).catch(() => null)
    return res?.status === 200 ? ((await res.json()) as { ok: boolean; build: string }) : null
  }, 60000, `the app's health; output:\n${app.output()}`)
  assert.ok(health.ok)
  const page = await fetch(`${url}/`)
  assert.is(page.status, 200)
  assert.match(await page.text(), '<ta-app')

  const coordinator = start('coordinator.js', {
    TERARCHITECT_API_URL: url,
    TERARCHITECT_WORKER_KEY_FILE: join(dataDir, 'worker.key'),
    COORDINATOR_STATE_DIR: join(dir, 'state'),
    COORDINATOR_ID: 'production-install',
    COORDINATOR_REPORT_SEC: '1',
    DOCKER_HOST: `unix://${dir}/no-docker.sock`,
  })
  // Loopback with no account yet: this machine's caller is the admin (docs/SECURITY.md).
  const row = await waitFor(async () => {
    const res = await fetch(`${url}/api/coordinators`)
    const rows = res.ok ? ((await res.json()) as { coordinator_id: string; state: string; version: string }[]) : []
    return rows.find((entry) => entry.coordinator_id === 'production-install' && entry.state === 'idle')
  }, 60000, `the coordinator in the registry; its output:\n${coordinator.output()}`)
  assert.is(row.version, health.build, 'the coordinator reports the same build (version+commit) as the app')
  assert.match(row.version, /^\d+\.\d+\.\d+\+[0-9a-f]{12}$/)

  coordinator.child.kill('SIGTERM')
  assert.is(await coordinator.exited, 0, coordinator.output())
  app.child.kill('SIGTERM')
  assert.is(await app.exited, 0, app.output())
})

test.run()
