// The coordinators registry (issue 13): real coordinator processes report in; the app shows each
// as idle, live with its running job, lost when killed without a word, stopped after SIGTERM.
// Reports are keyed by credential: one coordinator token cannot overwrite another's row. Members
// read the list; viewers, people on the report route and anonymous callers are refused.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { WORKER_KEY, enqueue, hostAgentCommand, project, spawnCoordinator, startCoordinatorApp, waitForJob, type CoordinatorProcess, type CoordinatorTestApp } from './coordinator-fixtures.ts'
import { assertError } from './api-helpers.ts'
import { bearer, firstAdmin, userWithRole } from './people-helpers.ts'
import { waitFor } from './helpers.ts'

interface Row { coordinator_id: string; credential_name: string; host: string; executor: string; capacity: number; running_job_ids: number[]; state: string; version: string }

const test = suite<{ app: CoordinatorTestApp; workDir: string; started: CoordinatorProcess[] }>('coordinators registry')
test.before(async (context) => {
  context.app = await startCoordinatorApp()
  // Runs need a forge token in the settings; the fake agent never uses it.
  assert.is((await context.app.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: 'ghp_registry_test_token' } })).status, 200)
  context.workDir = mkdtempSync(join(tmpdir(), 'registry-'))
  context.started = []
})
test.after(async ({ app, workDir, started }) => {
  for (const coordinator of started) await coordinator.stop('SIGKILL')
  await app.closeAll()
  rmSync(workDir, { recursive: true, force: true })
})

function start(context: { app: CoordinatorTestApp; workDir: string; started: CoordinatorProcess[] }, id: string, credential: string) {
  const coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: context.app.apiUrl,
    TERARCHITECT_WORKER_API_KEY: credential,
    COORDINATOR_ID: id,
    COORDINATOR_REPORT_SEC: '1',
    MAX_CONCURRENT_AGENTS: '2',
    // No Docker here: docker-mode jobs run on the host, as the fake agent.
    DOCKER_HOST: `unix://${context.workDir}/no-docker.sock`,
    AGENT_FALLBACK_TO_HOST: 'true',
    AGENT_HOST_COMMAND: hostAgentCommand(context.workDir),
    CLAIM_WAIT_SEC: '2',
  })
  context.started.push(coordinator)
  return coordinator
}

async function rowOf(app: CoordinatorTestApp, id: string, state: string, ms = 20000): Promise<Row> {
  return waitFor(async () => {
    const res = await app.api('GET', '/api/coordinators')
    assert.is(res.status, 200, JSON.stringify(res.body))
    return (res.body as Row[]).find((row) => row.coordinator_id === id && row.state === state)
  }, ms, `coordinator ${id} to be ${state}`)
}

test('a coordinator shows idle, then live with its job, then idle; SIGTERM shows it stopped', async (context) => {
  const { app } = context
  const coordinator = start(context, 'registry-a', WORKER_KEY)
  const idle = await rowOf(app, 'registry-a', 'idle')
  assert.is(idle.host, hostname())
  assert.is(idle.credential_name, 'worker key')
  assert.is(idle.capacity, 2)
  assert.ok(idle.version.length > 0)
  assert.equal(idle.running_job_ids, [])

  const p = await project(app)
  const { jobId } = await enqueue(app, p.id, { lines: 40, interval: 150 })
  const live = await rowOf(app, 'registry-a', 'live')
  assert.equal(live.running_job_ids, [jobId])
  await waitForJob(app, jobId, ['succeeded'], 60000)
  await rowOf(app, 'registry-a', 'idle')

  coordinator.child.kill('SIGTERM')
  assert.is(await coordinator.exited, 0)
  const stopped = await rowOf(app, 'registry-a', 'stopped', 5000)
  assert.equal(stopped.running_job_ids, [])
})

test('a coordinator killed without a word shows as lost after three missed reports; rows are per credential', async (context) => {
  const { app } = context
  const token = (await app.api('POST', '/api/coordinators/tokens', { name: 'build-box-b' })).body.token as string
  const coordinator = start(context, 'registry-b', token)
  const idle = await rowOf(app, 'registry-b', 'idle')
  assert.is(idle.credential_name, 'build-box-b')

  // The worker key reporting under the same instance id makes its own row: it cannot overwrite B's.
  const report = { coordinator_id: 'registry-b', host: 'elsewhere', version: 'x', executor: 'local', capacity: 9, running_job_ids: [], report_interval_sec: 60, started_at: new Date().toISOString() }
  assert.is((await app.api('POST', '/api/worker/coordinators/report', report)).status, 204)
  const rows = ((await app.api('GET', '/api/coordinators')).body as Row[]).filter((row) => row.coordinator_id === 'registry-b')
  assert.equal(rows.map((row) => `${row.credential_name}:${row.host}`).sort(), ['build-box-b:' + hostname(), 'worker key:elsewhere'].sort())

  const killed = Date.now()
  await coordinator.stop('SIGKILL')
  const lost = await rowOf(app, 'registry-b', 'lost', 20000)
  const took = Date.now() - killed
  // Three 1 s reports plus 5 s of slack: lost after about 8 s, never at once.
  assert.ok(took >= 3000, `lost after ${took} ms`)
  assert.is(lost.credential_name, 'build-box-b')
})

test('who may read and report: members read, viewers do not; the report route takes only machine credentials; bad reports name the field', async ({ app }) => {
  const admin = await firstAdmin(app)
  const member = (await userWithRole(app, admin, 'registry-member', 'member')).headers
  const viewer = (await userWithRole(app, admin, 'registry-viewer', 'viewer')).headers
  assert.is((await app.api('GET', '/api/coordinators', undefined, member)).status, 200)
  assertError(await app.api('GET', '/api/coordinators', undefined, viewer), 403)
  assertError(await app.api('GET', '/api/coordinators', undefined, { authorization: '' }), 401)

  const report = { coordinator_id: 'registry-c', host: 'h', version: 'v', executor: 'local', capacity: 1, running_job_ids: [], report_interval_sec: 5, started_at: new Date().toISOString() }
  assertError(await app.api('POST', '/api/worker/coordinators/report', report, { authorization: '' }), 401)
  const apiToken = (await app.api('POST', '/api/tokens', { name: 'admin-token', role: 'admin' }, admin)).body.token as string
  assert.ok(apiToken, 'an admin API token')
  assertError(await app.api('POST', '/api/worker/coordinators/report', report, bearer(apiToken)), 401)
  assertError(await app.api('POST', '/api/worker/coordinators/report', { ...report, host: undefined }), 400, '/body/host')
  assertError(await app.api('POST', '/api/worker/coordinators/report', { ...report, capacity: -1 }), 400, '/body/capacity')
  assertError(await app.api('POST', '/api/worker/coordinators/report', { ...report, started_at: 'yesterday' }), 400, '/body/started_at')
  assertError(await app.api('POST', '/api/worker/coordinators/report', { ...report, coordinator_id: 'has space' }), 400, '/body/coordinator_id')
  const rows = (await app.api('GET', '/api/coordinators', undefined, member)).body as Row[]
  assert.not.ok(rows.some((row) => row.coordinator_id === 'registry-c'), 'refused reports wrote nothing')
  // Job ids its credential does not hold are not listed as its: the report says what it runs, the app checks.
  assert.is((await app.api('POST', '/api/worker/coordinators/report', { ...report, running_job_ids: [1, 999999] })).status, 204)
  const claimed = ((await app.api('GET', '/api/coordinators', undefined, member)).body as Row[]).find((row) => row.coordinator_id === 'registry-c')!
  assert.equal(claimed.running_job_ids, [])
  // One credential keeps at most 50 rows, however many instance ids it makes up.
  for (let i = 0; i < 55; i++) assert.is((await app.api('POST', '/api/worker/coordinators/report', { ...report, coordinator_id: `flood-${i}` })).status, 204)
  const flood = ((await app.api('GET', '/api/coordinators', undefined, member)).body as Row[]).filter((row) => row.credential_name === 'worker key')
  assert.is(flood.length, 50)
  assert.ok(flood.some((row) => row.coordinator_id === 'flood-54'), 'the newest are kept')
})

test.run()
