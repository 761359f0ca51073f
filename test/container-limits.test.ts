/**
 * Container limits as app settings (core/container-limits.ts): the app's settings API and the
 * coordinator's configuration take and refuse the same values with one parser; `GET
 * /api/worker/settings` hands the limits in force to coordinators (their client reads them), with
 * no secret among them. That a running coordinator applies a change to its next container, and that
 * its own variables win, is shown against Docker in test/coordinator.test.ts.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_CONTAINER_LIMITS } from '../core/container-limits.ts'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { createWorkerClient } from '../core/coordinator/client.ts'
import { startTestApp, type TestApp } from './helpers.ts'

const MiB = 1024 ** 2
let t: TestApp

test.before(async () => {
  t = await startTestApp({ kind: 'pglite' })
})
test.after(async () => t?.close())

const coordinatorLimits = (env: Record<string, string>) => resolveCoordinatorConfig({ TERARCHITECT_WORKER_API_KEY: 'k', ...env }).containerLimitOverrides
const readSettings = () => createWorkerClient({ apiUrl: t.url, workerKey: t.workerKey, coordinatorId: 'limits-test' }).readSettings()

test('unset: the defaults (4g, 2 CPUs, 4096 processes) reach coordinators', async () => {
  assert.equal(DEFAULT_CONTAINER_LIMITS, { memoryBytes: 4096 * MiB, cpus: 2, pidsLimit: 4096 })
  assert.equal((await readSettings()).limits, DEFAULT_CONTAINER_LIMITS)
  const raw = await t.api('GET', '/api/worker/settings')
  assert.equal(raw.body.container_limits, { memory_bytes: 4096 * MiB, cpus: 2, pids_limit: 4096 })
})

test('the same values are taken by the settings API and the coordinator, with the same meaning', async () => {
  for (const [key, value, field, number] of [
    ['AGENT_MEMORY', '512m', 'memoryBytes', 512 * MiB], ['AGENT_MEMORY', '0', 'memoryBytes', 0], ['AGENT_MEMORY', '1.5g', 'memoryBytes', 1.5 * 1024 * MiB],
    ['AGENT_MEMORY', '6291456', 'memoryBytes', 6 * MiB], ['AGENT_CPUS', '1.5', 'cpus', 1.5], ['AGENT_CPUS', '0', 'cpus', 0],
    ['AGENT_PIDS_LIMIT', '256', 'pidsLimit', 256], ['AGENT_PIDS_LIMIT', '0', 'pidsLimit', 0],
  ] as const) {
    const set = await t.api('PUT', '/api/settings', { values: { [key]: value } })
    assert.is(set.status, 200, `${key}=${value}: ${JSON.stringify(set.body)}`)
    assert.is((await readSettings()).limits[field], number, `${key}=${value} at the app`)
    assert.is(coordinatorLimits({ [key]: value })[field], number, `${key}=${value} at the coordinator`)
  }
})

test('the same values are refused by both, naming the setting or variable; nothing is stored', async () => {
  await t.api('PUT', '/api/settings', { values: { AGENT_MEMORY: null, AGENT_CPUS: null, AGENT_PIDS_LIMIT: null } })
  for (const [key, value] of [
    ['AGENT_MEMORY', '4096'], ['AGENT_MEMORY', '4 GB'], ['AGENT_MEMORY', '5m'], ['AGENT_MEMORY', '-1g'],
    ['AGENT_CPUS', 'two'], ['AGENT_CPUS', '-1'], ['AGENT_CPUS', '1,5'], ['AGENT_PIDS_LIMIT', '1.5'], ['AGENT_PIDS_LIMIT', '-1'],
  ] as const) {
    const res = await t.api('PUT', '/api/settings', { values: { [key]: value, AGENT_CPUS: key === 'AGENT_CPUS' ? value : '1' } })
    assert.is(res.status, 400, `${key}=${value} accepted by the app`)
    assert.ok(res.body.error.details.some((detail: { path: string }) => detail.path === `/body/values/${key}`), JSON.stringify(res.body))
    assert.throws(() => coordinatorLimits({ [key]: value }), (error: Error) => error.message.includes(`${key}: `), `${key}=${value} accepted by the coordinator`)
  }
  assert.equal((await readSettings()).limits, DEFAULT_CONTAINER_LIMITS, 'all or nothing: no setting was stored')
})

test('a worker credential reads the limits and no secret; an anonymous caller cannot', async () => {
  await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: 'ghp_limits_0123456789abcdef', WORKER_API_KEY: 'sk-limits-0123456789' } })
  const read = await t.api('GET', '/api/worker/settings')
  assert.is(read.status, 200)
  assert.not.match(JSON.stringify(read.body), /ghp_limits|sk-limits/)
  assert.is((await t.api('GET', '/api/worker/settings', undefined, { authorization: '' })).status, 401)
})

test.run()
