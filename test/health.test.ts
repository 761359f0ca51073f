// Health that tells the truth, on a PostgreSQL 15 cluster of this file's own that it stops, freezes
// and starts again: readiness answers 503 naming `database` within its bound while the server is
// stopped or hangs, 200 once it is back; liveness stays 200 throughout; a missing migration is
// named too; every answer carries the build id.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { userInfo } from 'node:os'
import postgres from 'postgres'
import { BUILD } from '../core/version.ts'
import { DB_PROBE_TIMEOUT_MS } from '../core/metrics/db-probe.ts'
import { PG_BIN, createDatabase, startCluster, type Cluster } from './postgres.ts'
import { ROOT, sleep, startTestApp, waitFor, type TestApp } from './helpers.ts'

interface Context {
  cluster: Cluster
  t: TestApp
  dataDir: string
  port: number
}

const test = suite<Context>('health on PostgreSQL')
const METRICS_TOKEN = 'health-suite-metrics-token'

/** Runs a PostgreSQL program as the cluster's owner (startCluster runs it as `postgres` under root). */
function asOwner(program: string, args: string[]) {
  const user = userInfo().uid === 0 ? { uid: Number(idOf('-u')), gid: Number(idOf('-g')) } : {}
  const run = spawnSync(join(PG_BIN, program), args, { encoding: 'utf8', ...user, timeout: 30000 })
  if (run.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${run.stderr}`)
}
const idOf = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim()

/** The server's processes: the postmaster and its children (backends and helpers). */
function serverPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)
  return [postmaster, ...children]
}

async function health(t: TestApp, path = '/api/health') {
  const started = Date.now()
  const res = await t.api('GET', path)
  return { ...res, ms: Date.now() - started }
}

test.before(async (context) => {
  context.cluster = await startCluster()
  const admin = postgres(context.cluster.url, { max: 1, onnotice: () => {} })
  const [row] = await admin`show data_directory`
  await admin.end()
  context.dataDir = row!.data_directory as string
  context.port = Number(new URL(context.cluster.url).port)
  context.t = await startTestApp({ kind: 'postgres', env: { DATABASE_URL: await createDatabase(context.cluster.url), METRICS_TOKEN } })
})

test.after(async ({ t, cluster }) => {
  await t.close()
  await cluster.stop()
})

test('up: 200 with the database checked and the build id', async ({ t }) => {
  const res = await health(t)
  assert.is(res.status, 200, JSON.stringify(res.body))
  assert.is(res.body.ok, true)
  assert.equal(res.body.down, [])
  assert.is(res.body.db, 'postgres')
  assert.is(res.body.checks.database.ok, true)
  assert.is(res.body.checks.migrations.ok, true)
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  assert.is(res.body.version, pkg.version)
  // Run from source the commit is `git rev-parse HEAD` at start (HEAD may have moved since).
  assert.match(res.body.commit, /^[0-9a-f]{12}$/)
  assert.is(spawnSync('git', ['cat-file', '-e', `${res.body.commit}^{commit}`], { cwd: ROOT }).status, 0, 'a commit of this repository')
  assert.is(res.body.build, `${pkg.version}+${res.body.commit}`)
  assert.is(res.body.build, BUILD.id)
  assert.is((await health(t, '/api/health/ready')).status, 200)
  const live = await health(t, '/api/health/live')
  assert.is(live.status, 200)
  assert.is(live.body.build, BUILD.id)
})

test('database stopped: 503 naming it within the bound; liveness still 200; back: 200', async ({ t, dataDir, port }) => {
  asOwner('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w'])
  const down = await health(t)
  assert.is(down.status, 503, JSON.stringify(down.body))
  assert.is(down.body.ok, false)
  assert.equal(down.body.down, ['database'])
  assert.is(down.body.checks.database.ok, false)
  assert.is(down.body.version, BUILD.version)
  assert.ok(down.ms < DB_PROBE_TIMEOUT_MS + 1000, `answered in ${down.ms} ms`)
  assert.not.match(JSON.stringify(down.body), /ECONNREFUSED|127\.0\.0\.1|postgres:\/\//, 'no driver error or address in a public answer')
  assert.is((await health(t, '/api/health/ready')).status, 503)
  assert.is((await health(t, '/api/health/live')).status, 200, 'liveness does not depend on the database')
  assert.ok(t.logs.some((line) => line.includes('database check failed')), 'the outage is logged')
  // Metrics still answer (to METRICS_TOKEN: who is an admin is a database question), saying the database is down.
  const scrape = await t.api('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` })
  assert.is(scrape.status, 200)
  assert.match(scrape.body, /^terarchitect_db_up 0$/m)
  assert.not.match(scrape.body, /terarchitect_queue_jobs/, 'no database figures')

  const socketDir = dirname(dataDir)
  asOwner('pg_ctl', ['start', '-D', dataDir, '-w', '-l', join(socketDir, 'restart.log'),
    '-o', `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`])
  const back = await waitFor(async () => {
    const res = await health(t)
    return res.status === 200 ? res : null
  }, 10000, 'health to answer 200 again')
  assert.is(back.body.ok, true)
  assert.equal(back.body.down, [])
  assert.ok(t.logs.some((line) => line.includes('database reachable again')))
})

test('database hanging (processes frozen): 503 within the bound, then 200 when it thaws', async ({ t, dataDir }) => {
  assert.is((await health(t)).status, 200)
  const pids = serverPids(dataDir)
  for (const pid of pids) process.kill(pid, 'SIGSTOP')
  let hung
  let scrape
  try {
    // Past the app's 1 s cache of "does an account exist": a probe that looked up its (local) caller would hang too.
    await sleep(1100)
    hung = await health(t)
    const started = Date.now()
    scrape = { ...(await t.api('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` })), ms: Date.now() - started }
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT')
  }
  assert.is(hung.status, 503, JSON.stringify(hung.body))
  assert.equal(hung.body.down, ['database'])
  assert.match(hung.body.checks.database.reason, `no answer within ${DB_PROBE_TIMEOUT_MS} ms`)
  assert.ok(hung.ms >= DB_PROBE_TIMEOUT_MS - 50 && hung.ms < DB_PROBE_TIMEOUT_MS + 1000, `answered in ${hung.ms} ms`)
  assert.is(scrape.status, 200)
  assert.match(scrape.body, /^terarchitect_db_up 0$/m)
  assert.ok(scrape.ms < DB_PROBE_TIMEOUT_MS + 1000, `metrics answered in ${scrape.ms} ms`)
  const back = await waitFor(async () => ((await health(t)).status === 200 ? true : null), 10000, 'health to answer 200 after the thaw')
  assert.ok(back)
})

test('a migration this build ships missing from the database: 503 naming migrations', async ({ t }) => {
  const [last] = await t.app.ctx.sql<{ version: string }[]>`select version from schema_migrations order by version desc limit 1`
  await t.app.ctx.sql`delete from schema_migrations where version = ${last!.version}`
  try {
    const res = await health(t)
    assert.is(res.status, 503)
    assert.equal(res.body.down, ['migrations'])
    assert.equal(res.body.checks.migrations.missing, [last!.version])
  } finally {
    await t.app.ctx.sql`insert into schema_migrations (version) values (${last!.version})`
  }
  assert.is((await health(t)).status, 200)
})

test('health is public and never needs a credential', async ({ t }) => {
  const res = await t.api('GET', '/api/health', undefined, { authorization: 'Bearer not-a-credential' })
  assert.is(res.status, 200)
})

test.run()
