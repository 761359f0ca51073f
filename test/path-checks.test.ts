/**
 * The local path checked at save by an online coordinator (core/services/path-checks.ts): a save
 * asks, a real coordinator loop (in-process, with the real local executor) answers on its host with
 * the check a local run starts with, and the project API says pending / ok / the plain reason with
 * the project path as the fix. Real git checkouts: a good one, a missing path, a wrong origin, and
 * another project's path. Without a coordinator online the API says so and the save still succeeds;
 * the worker routes refuse anonymous callers and coordinator tokens of other projects.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestApp, waitFor, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { createWorkerClient } from '../core/coordinator/client.ts'
import { startCoordinator, type RunningCoordinator } from '../core/coordinator/loop.ts'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { createLogger } from '../core/log.ts'
import { local } from '../plugins/executors/local.ts'

const REPO_URL = 'https://git.example/acme/widgets.git'
const scratch = mkdtempSync(join(tmpdir(), 'path-checks-'))
let t: TestApp
let coordinator: RunningCoordinator | undefined

/** A git checkout at `dir` whose origin is `origin`. */
function checkout(dir: string, origin: string): string {
  mkdirSync(dir, { recursive: true })
  for (const args of [['init', '-q'], ['remote', 'add', 'origin', origin]]) {
    const result = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' })
    assert.is(result.status, 0, result.stderr)
  }
  return dir
}

const good = checkout(join(scratch, 'good'), 'git@git.example:acme/widgets')
const wrongOrigin = checkout(join(scratch, 'wrong-origin'), 'https://git.example/acme/other.git')
const missing = join(scratch, 'no-such-dir')

test.before(async () => {
  t = await startTestApp({ kind: 'pglite' })
})

test.after(async () => {
  await coordinator?.stop(0)
  await t?.close()
  rmSync(scratch, { recursive: true, force: true })
})

async function createLocal(name: string, path: string) {
  const res = await t.api('POST', '/api/projects', { name, repo_url: REPO_URL, execution_mode: 'local', project_path: path })
  assert.is(res.status, 201, JSON.stringify(res.body))
  return res.body.id as number
}

const pathCheck = async (id: number) => {
  const res = await t.api('GET', `/api/projects/${id}/path-check`)
  assert.is(res.status, 200, JSON.stringify(res.body))
  return res.body
}

/** The check once a coordinator answered it (or the app decided without one). */
const answered = (id: number) => waitFor(async () => {
  const check = await pathCheck(id)
  return check.status === 'pending' ? null : check
}, 15_000, `the path check of project ${id}`)

function startLoop(): RunningCoordinator {
  const config = resolveCoordinatorConfig({
    TERARCHITECT_API_URL: t.url, TERARCHITECT_WORKER_API_KEY: t.workerKey, COORDINATOR_STATE_DIR: join(scratch, 'state'),
    POLL_INTERVAL_SEC: '0.5', COORDINATOR_REPORT_SEC: '1', SETTINGS_REFRESH_SEC: '60',
  })
  const log = createLogger('error')
  return startCoordinator({
    config, coordinatorId: 'path-checker', log,
    client: createWorkerClient({ apiUrl: t.url, workerKey: t.workerKey, coordinatorId: 'path-checker' }),
    executors: { containers: null, host: local({ log }) },
  })
}

let goodId: number
let otherId: number

test('no coordinator online: the save succeeds, and the check says a coordinator checks before the first run', async () => {
  goodId = await createLocal('good-checkout', good)
  const check = await pathCheck(goodId)
  assert.equal([check.status, check.coordinators_online], ['pending', 0])
  assert.match(check.text, 'No coordinator serving this project is online: the path will be checked by a coordinator before the first run')
  const docker = await t.api('POST', '/api/projects', { name: 'in-docker', repo_url: REPO_URL })
  assert.is((await pathCheck(docker.body.id)).status, 'none')
})

test('the worker routes: anonymous callers are refused; a coordinator token sees and answers only its projects', async () => {
  otherId = await createLocal('other-checkout', wrongOrigin)
  assertError(await t.api('GET', '/api/worker/path-checks', undefined, { authorization: '' }), 401)
  assertError(await t.api('POST', '/api/worker/path-checks/1', { coordinator_id: 'x', host: 'h', problem: null }, { authorization: '' }), 401)
  const token = await t.api('POST', '/api/coordinators/tokens', { name: 'only-good', project_ids: [goodId] })
  assert.is(token.status, 201, JSON.stringify(token.body))
  const scoped = { authorization: `Bearer ${token.body.token}` }
  const listed = await t.api('GET', '/api/worker/path-checks', undefined, scoped)
  assert.is(listed.status, 200, JSON.stringify(listed.body))
  assert.equal(listed.body.checks.map((check: { project_id: number }) => check.project_id), [goodId])
  const all = (await t.api('GET', '/api/worker/path-checks')).body.checks as { id: number; project_id: number }[]
  const others = all.find((check) => check.project_id === otherId)!
  assertError(await t.api('POST', `/api/worker/path-checks/${others.id}`, { coordinator_id: 'x', host: 'h', problem: null }, scoped), 403)
  assert.is((await pathCheck(otherId)).status, 'pending', 'the refused answer was not recorded')
  assertError(await t.api('POST', '/api/worker/path-checks/2147483646', { coordinator_id: 'x', host: 'h', problem: null }), 404)
  // A coordinator whose PROJECT_IDS leave a project out neither lists nor answers its check, whatever its credential serves.
  const served = await t.api('GET', `/api/worker/path-checks?project_ids=${goodId}`)
  assert.equal(served.body.checks.map((check: { project_id: number }) => check.project_id), [goodId])
  assertError(await t.api('POST', `/api/worker/path-checks/${others.id}`, { coordinator_id: 'x', host: 'h', problem: null, project_ids: [goodId] }), 403, '/body/project_ids')
  assert.is((await pathCheck(otherId)).status, 'pending', 'the refused answer was not recorded')
  assertError(await t.api('GET', '/api/worker/path-checks?project_ids=1;2'), 400, '/query/project_ids')
})

test('an online coordinator answers within seconds: a good checkout is ok, a wrong origin is named, on its host', async () => {
  coordinator = startLoop()
  const ok = await answered(goodId)
  assert.equal([ok.status, ok.text, ok.fix, ok.checked_on], ['ok', null, null, hostname()])
  assert.is(ok.coordinators_online, 1)
  const wrong = await answered(otherId)
  assert.is(wrong.status, 'problem')
  assert.match(wrong.text, `The checkout at ${wrongOrigin} has origin https://git.example/acme/other.git, not the project's repository`)
  assert.equal(wrong.fix, { kind: 'project', field: 'project_path' })
})

test('a save of the path asks again: a missing path is named with the fix; saving other fields keeps the answer', async () => {
  const res = await t.api('PATCH', `/api/projects/${otherId}`, { project_path: missing })
  assert.is(res.status, 200, JSON.stringify(res.body))
  const check = await answered(otherId)
  assert.is(check.status, 'problem')
  assert.is(check.text, `The project path ${missing} does not exist on ${hostname()}`)
  assert.equal(check.fix, { kind: 'project', field: 'project_path' })
  const checkedAt = check.checked_at
  assert.is((await t.api('PATCH', `/api/projects/${otherId}`, { description: 'still missing' })).status, 200)
  assert.is((await pathCheck(otherId)).checked_at, checkedAt)
  // A fixed origin is ok once checked again.
  assert.is((await t.api('PATCH', `/api/projects/${otherId}`, { project_path: wrongOrigin, repo_url: 'https://git.example/acme/other' })).status, 200)
  assert.is((await answered(otherId)).status, 'ok')
})

test('another project\'s path: a problem naming that project, whatever the coordinator found', async () => {
  const twin = await createLocal('twin-checkout', good)
  const check = await answered(twin)
  assert.is(check.status, 'problem')
  assert.is(check.text, `good-checkout already uses the path ${good}: give each project its own checkout`)
  assert.equal(check.fix, { kind: 'project', field: 'project_path' })
  assert.is((await pathCheck(goodId)).status, 'problem', 'the first project is told too')
})

test.run()
