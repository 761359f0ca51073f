// `npm start` (scripts/start.mjs): the built app and a coordinator side by side; the coordinator
// runs and says so when Docker is not available; SIGTERM ends both. With nothing configured the
// app generates the worker key and the coordinator reads it from the data dir: the worker API and
// the agent routes stay closed to anonymous callers (issue 10, acceptance 1).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ROOT, sleep, waitFor } from './helpers.ts'

test('start.mjs runs the app and a coordinator pointed at it; SIGTERM stops both', async () => {
  if (!existsSync(join(ROOT, 'dist/coordinator.js')) || !existsSync(join(ROOT, 'dist/server.js'))) {
    assert.is(spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' }).status, 0, 'build failed')
  }
  const dir = mkdtempSync(join(tmpdir(), 'terarchitect-start-'))
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, HOME: dir, PORT: '0', TERARCHITECT_DATA_DIR: join(dir, 'data'), COORDINATOR_STATE_DIR: join(dir, 'state'),
      DOCKER_HOST: `unix://${dir}/no-docker.sock`, LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  try {
    // Both the Docker report (stderr) and the start line (stdout, piped through start.mjs) arrive, in either order.
    await waitFor(async () => /Docker is unavailable/.test(output) && /claiming from/.test(output), 60000, `the coordinator's Docker report in:\n${output}`)
    const appUrl = /Terarchitect app on (\S+)/.exec(output)?.[1]
    assert.ok(appUrl, output)
    assert.match(output, `Terarchitect coordinator`)
    assert.match(output, `claiming from ${appUrl}`)
    assert.ok((await fetch(`${appUrl}/api/health`)).ok)
    // The coordinator authenticated with the generated key: its first settings read (at start) was not refused.
    await sleep(1500)
    assert.not.match(output, /does not let this coordinator|\b401\b/)
    for (const [method, path] of [['GET', '/api/projects/1/tickets/1/worker-context'], ['POST', '/api/worker/jobs/start'], ['GET', '/api/worker/settings']]) {
      const res = await fetch(`${appUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) })
      assert.is(res.status, 401, `${method} ${path} anonymous`)
    }
    child.kill('SIGTERM')
    assert.is(await exited, 0, output)
    assert.match(output, 'coordinator stopped')
    assert.not.ok(await fetch(`${appUrl}/api/health`).then(() => true, () => false), 'the app still answers')
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
