// test-runner: slow
// The systemd path of the runbook: both units in deploy/ pass `systemd-analyze verify` (and a
// broken copy does not, so the check has teeth), and each unit's own [Service] lines — User,
// Group, SupplementaryGroups, EnvironmentFile, Environment, StateDirectory, WorkingDirectory,
// ExecStart, KillSignal, TimeoutStopSec — started the way systemd would start them (no systemd as
// PID 1 here), under the user its header's `useradd` creates: the app answers its health with its
// data dir in the state directory, the coordinator reports in to the app, and both stop cleanly
// on their kill signal within TimeoutStopSec.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, startTestApp, waitFor, type TestApp } from './helpers.ts'
import { freePort } from './postgres.ts'

const UNITS = ['terarchitect-app.service', 'terarchitect-coordinator.service'].map((name) => join(ROOT, 'deploy', name))

/** The [Service] section's lines, a key repeated as often as it appears. */
function serviceLines(text: string): [string, string][] {
  const section = /\[Service\]\n([\s\S]*?)(\n\[|$)/.exec(text)![1]!
  return section.split('\n').filter((line) => /^[A-Za-z]+=/.test(line)).map((line) => {
    const at = line.indexOf('=')
    return [line.slice(0, at), line.slice(at + 1)]
  })
}

function idOf(flag: '-u' | '-g', name: string): number {
  const out = spawnSync('id', [flag, name], { encoding: 'utf8' })
  assert.is(out.status, 0, `id ${flag} ${name}: ${out.stderr}`)
  return Number(out.stdout.trim())
}

const test = suite<{ t: TestApp; root: string }>('systemd unit')
test.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
  context.root = mkdtempSync(join(tmpdir(), 'terarchitect-systemd-'))
  chmodSync(context.root, 0o755)
})
test.after(async ({ t, root }) => {
  await t.close()
  rmSync(root, { recursive: true, force: true })
})

test('systemd-analyze verify accepts both units and refuses a broken copy', ({ root }) => {
  for (const unit of UNITS) {
    const ok = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' })
    assert.is(ok.status, 0, ok.stderr)
    assert.is(ok.stderr.trim(), '', `no warning either: ${unit}`)
    const broken = join(root, unit.split('/').pop()!)
    writeFileSync(broken, readFileSync(unit, 'utf8').replace(/^ExecStart=\/usr\/bin\/node /m, 'ExecStart=node-not-a-path '))
    const bad = spawnSync('systemd-analyze', ['verify', broken], { encoding: 'utf8' })
    assert.is.not(bad.status, 0, `a relative ExecStart is refused: ${unit}`)
  }
})

interface UnitRun {
  dataDir: string
  exited: Promise<number | null>
  output(): string
  /** Sends KillSignal; resolves with the exit code, asserting it came within TimeoutStopSec. */
  stop(): Promise<number | null>
}

/**
 * Starts `unit`'s ExecStart as systemd would: its User/Group (created with the `useradd` line of the
 * unit's header when missing), EnvironmentFile (written here with `env`, 0600) then Environment=,
 * its StateDirectory created owned by User with StateDirectoryMode, WorkingDirectory.
 * Absolute paths move under `root`; the bundles are copied to <root>/opt/dist.
 */
function runUnit(unit: string, root: string, fileEnv: Record<string, string>): UnitRun {
  const text = readFileSync(unit, 'utf8')
  const useradd = /^#\s+useradd (.+)$/m.exec(text)![1]!.split(/\s+/)
  const lines = serviceLines(text).map(([key, value]) => [key, value
    .replaceAll('/opt/terarchitect', join(root, 'opt'))
    .replaceAll('/etc/terarchitect', join(root, 'etc'))
    .replaceAll('/var/lib/', join(root, 'var-lib') + '/')] as const)
  const one = (key: string) => lines.find(([name]) => name === key)?.[1]
  const all = (key: string) => lines.filter(([name]) => name === key).map(([, value]) => value)
  const user = one('User')!
  if (spawnSync('id', [user]).status !== 0) {
    const made = spawnSync('useradd', useradd, { encoding: 'utf8' })
    assert.is(made.status, 0, made.stderr)
  }
  assert.is(useradd[useradd.length - 1], user, 'the header creates the unit\'s user')

  mkdirSync(join(root, 'opt', 'dist'), { recursive: true, mode: 0o755 })
  cpSync(join(ROOT, 'dist'), join(root, 'opt', 'dist'), { recursive: true })
  mkdirSync(join(root, 'etc'), { recursive: true, mode: 0o755 })
  mkdirSync(join(root, 'var-lib'), { recursive: true, mode: 0o755 })
  const envFile = one('EnvironmentFile')!
  writeFileSync(envFile, Object.entries(fileEnv).map(([key, value]) => `${key}=${value}\n`).join(''), { mode: 0o600 })

  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', ...fileEnv }
  for (const assignment of all('Environment')) env[assignment.slice(0, assignment.indexOf('='))] = assignment.slice(assignment.indexOf('=') + 1)
  const uid = idOf('-u', user)
  const gid = Number(spawnSync('getent', ['group', one('Group')!], { encoding: 'utf8' }).stdout.split(':')[2])
  assert.ok(Number.isInteger(gid), `group ${one('Group')}`)
  const stateDir = join(root, 'var-lib', one('StateDirectory')!)
  mkdirSync(stateDir, { mode: Number.parseInt(one('StateDirectoryMode')!, 8) })
  chownSync(stateDir, uid, gid)

  const [command, ...args] = one('ExecStart')!.split(' ')
  let output = ''
  const child = spawn(command!, args, { cwd: one('WorkingDirectory')!, env, uid, gid, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    dataDir: stateDir, exited, output: () => output,
    async stop() {
      const killed = Date.now()
      child.kill(one('KillSignal') as NodeJS.Signals)
      let timer: ReturnType<typeof setTimeout> | undefined
      const code = await Promise.race([exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), Number(one('TimeoutStopSec')) * 1000)))])
      // A timer left running would hold the process TimeoutStopSec after the tests end.
      clearTimeout(timer)
      if (code === null) child.kill('SIGKILL')
      assert.ok(Date.now() - killed < Number(one('TimeoutStopSec')) * 1000, 'stopped within TimeoutStopSec')
      return code
    },
  }
}

test('the app unit: its user, its state dir as the data dir, health answers, SIGTERM stops it', async ({ root }) => {
  // The app bundle loads PGlite and postgres.js from node_modules beside dist/ (npm ci --omit=dev in
  // the runbook; the checkout's here).
  mkdirSync(join(root, 'opt'), { recursive: true, mode: 0o755 })
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'opt', 'node_modules'))
  const port = await freePort()
  const app = runUnit(UNITS[0]!, root, { PORT: String(port), LOG_LEVEL: 'warn' })
  try {
    const health = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => null)
      return res?.status === 200 ? ((await res.json()) as { ok: boolean; db: string }) : null
    }, 60000, `the app unit's health; output:\n${app.output()}`)
    assert.is(health.db, 'pglite', 'no DATABASE_URL: the embedded database in the state dir')
    const key = statSync(join(app.dataDir, 'secret.key'))
    assert.is(key.uid, idOf('-u', 'terarchitect-app'), 'the data dir is the unit user\'s')
    assert.is(key.mode & 0o777, 0o600)
    assert.is(await app.stop(), 0, app.output())
  } finally {
    await app.stop().catch(() => {})
  }
})

test('the coordinator unit: the runbook\'s user with the docker group, reports in to the app, stops on KillSignal', async ({ t, root }) => {
  const coordinator = runUnit(UNITS[1]!, root, {
    TERARCHITECT_API_URL: t.url, TERARCHITECT_WORKER_API_KEY: t.workerKey, COORDINATOR_ID: 'systemd-unit',
    COORDINATOR_REPORT_SEC: '1', DOCKER_HOST: `unix://${root}/no-docker.sock`,
  })
  try {
    assert.ok(spawnSync('id', ['-nG', 'terarchitect'], { encoding: 'utf8' }).stdout.split(/\s+/).includes('docker'))
    await waitFor(async () => ((await t.api('GET', '/api/coordinators')).body as { coordinator_id: string; state: string }[])
      .find((entry) => entry.coordinator_id === 'systemd-unit' && entry.state === 'idle'), 60000, `the unit's coordinator in the registry; its output:\n${coordinator.output()}`)
    assert.is(await coordinator.stop(), 0, coordinator.output())
    await waitFor(async () => ((await t.api('GET', '/api/coordinators')).body as { coordinator_id: string; state: string }[])
      .find((entry) => entry.coordinator_id === 'systemd-unit' && entry.state === 'stopped'), 5000, 'stopped in the registry')
  } finally {
    await coordinator.stop().catch(() => {})
  }
})

test.run()
