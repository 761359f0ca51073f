// docker-compose.yml (runbook option A) in the suite: scripts/compose-smoke.sh brings PostgreSQL and
// the app up with docker-compose on free ports, checks the health (on PostgreSQL), the UI, that the
// people API wants a credential and that the app is not root, then takes everything down. The
// script's `[compose-smoke]` lines are the checks asserted here; nothing of the project may remain.
import { spawn, spawnSync } from 'node:child_process'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ensureDocker } from './docker-fixtures.ts'
import { ROOT } from './helpers.ts'
import { freePort } from './postgres.ts'

const PROJECT = `terarchitect-smoke-t${process.pid}`

test('compose-smoke.sh: PostgreSQL + app come up, answer on both ports, want a credential, run unprivileged, and go away', async () => {
  const engine = await ensureDocker()
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status !== 0) {
    assert.is(process.getuid?.(), 0, 'docker-compose is missing: run `sudo bash scripts/provision-docker.sh`')
    assert.is(spawnSync('bash', ['scripts/provision-docker.sh'], { cwd: ROOT, stdio: ['ignore', 2, 2] }).status, 0, 'provision-docker.sh failed')
  }
  const [appPort, uiPort] = [await freePort(), await freePort()]
  const started = Date.now()
  const child = spawn('bash', ['scripts/compose-smoke.sh'], {
    cwd: ROOT, env: { ...process.env, APP_PORT: String(appPort), UI_PORT: String(uiPort), SMOKE_PROJECT: PROJECT }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const timer = setTimeout(() => child.kill('SIGTERM'), 8 * 60 * 1000)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  const seconds = (Date.now() - started) / 1000
  console.log(`compose-smoke: ${seconds.toFixed(0)} s`)
  assert.is(code, 0, output.slice(-4000))
  const checks = output.split('\n').filter((line) => line.startsWith('[compose-smoke] ')).map((line) => line.slice(16))
  assert.ok(checks.includes('docker-compose config'), output)
  assert.ok(checks.some((line) => new RegExp(`^health on :${appPort} after \\d+ s: .*"ok":true.*"db":"postgres"`).test(line)), checks.join('\n'))
  assert.ok(checks.includes(`UI on :${uiPort}: HTTP 200; people API without the admin token: HTTP 401`), checks.join('\n'))
  assert.ok(checks.some((line) => /^app runs as uid [1-9]\d*$/.test(line)), checks.join('\n'))
  assert.is(checks.at(-1), 'ok')

  const left = await engine.containerList({ all: true, labels: [`com.docker.compose.project=${PROJECT}`] })
  assert.equal(left.map((container) => container.Names), [], 'containers of the compose project remain')
  for (const volume of ['postgres-data', 'app-data']) {
    const gone = await engine.volumeInspect(`${PROJECT}_${volume}`).then(() => false, () => true)
    assert.ok(gone, `volume ${PROJECT}_${volume} remains`)
  }
  engine.close()
})

test.run()
