// MAX_CONCURRENT_AGENTS: with 10 queued jobs a coordinator limited to 3 never runs more than 3
// containers at once, and lowering the app setting takes effect without a restart.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import { ensureDocker } from './docker-fixtures.ts'
import {
  WORKER_KEY, enqueue, ensureFakeAgentImage, hostAgentCommand, jobOf, project, spawnCoordinator, startCoordinatorApp,
  watchContainers, type CoordinatorProcess, type CoordinatorTestApp,
  removeCoordinatorContainers,
} from './coordinator-fixtures.ts'
import { waitFor } from './helpers.ts'
import { assertAppClean } from './secret-scan.ts'

const RUN = randomUUID().slice(0, 8)
const COORDINATOR_ID = `test-concurrency-${RUN}`
const workDir = mkdtempSync(join(tmpdir(), 'terarchitect-coord-concurrency-'))
let engine: DockerEngine
let app: CoordinatorTestApp
let coordinator: CoordinatorProcess

test.before(async () => {
  engine = await ensureDocker()
  app = await startCoordinatorApp()
  coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: app.apiUrl,
    TERARCHITECT_WORKER_API_KEY: WORKER_KEY,
    COORDINATOR_ID,
    AGENT_IMAGE: await ensureFakeAgentImage(engine),
    AGENT_CACHE_VOLUME: '',
    AGENT_HOST_COMMAND: hostAgentCommand(workDir),
    MAX_CONCURRENT_AGENTS: '3',
    SETTINGS_REFRESH_SEC: '0.5',
    CLAIM_WAIT_SEC: '5',
    HEARTBEAT_MAX_SEC: '0.5',
  })
  await coordinator.waitForLog(/^coordinator started$/)
})

test.after(async () => {
  await coordinator?.stop()
  await app?.closeAll()
  if (engine) {
    await removeCoordinatorContainers(engine, [COORDINATOR_ID])
    engine.close()
  }
  rmSync(workDir, { recursive: true, force: true })
})

test('10 queued jobs, limit 3: never more than 3 containers; the app setting lowers it to 1 without a restart', async () => {
  const watch = watchContainers(engine, () => COORDINATOR_ID, 50)
  try {
    const p = await project(app)
    const jobs: { jobId: number; ticketId: number }[] = []
    for (let index = 0; index < 10; index++) jobs.push(await enqueue(app, p.id, { lines: 8, interval: 250 }, `job ${index}`))
    const statuses = async () => Promise.all(jobs.map(async (job) => (await jobOf(app, job.jobId)).status))

    await waitFor(async () => watch.current() === 3, 60000, '3 containers at once')
    // Let the first wave finish and the next start, so the limit is seen holding while jobs turn over.
    await waitFor(async () => (await statuses()).filter((status) => status === 'succeeded').length >= 3, 60000, 'first wave done')
    assert.is(watch.peak(), 3, `peak ${watch.peak()} containers`)

    assert.is((await app.api('PUT', '/api/settings', { values: { MAX_CONCURRENT_AGENTS: 1 } })).status, 200)
    await coordinator.waitForLog(/^max concurrent agents is 1 \(app setting\)$/, 10000)
    // Running jobs are not stopped by a lower limit; once they have drained, at most 1 runs.
    await waitFor(async () => (await statuses()).filter((status) => status === 'running').length <= 1, 30000, 'drained to 1')
    await waitFor(async () => watch.current() <= 1, 30000, 'containers drained to 1')
    watch.reset()
    const before = (await statuses()).filter((status) => status === 'succeeded').length
    await waitFor(async () => (await statuses()).every((status) => status === 'succeeded'), 120000, 'all jobs succeeded')
    assert.ok(before < 10, 'every job ended before the lower limit could be observed')
    assert.is(watch.peak(), 1, `peak ${watch.peak()} containers after the limit went to 1`)
    assert.ok(watch.samples.length > 50, 'too few samples')
  } finally {
    watch.stop()
    await app.api('PUT', '/api/settings', { values: { MAX_CONCURRENT_AGENTS: null } })
  }
})

test('nothing the suite stored holds a secret: every table, the app\'s and the coordinators\' logs', async () => {
  await assertAppClean(app, { 'coordinator log': coordinator.lines })
})

test.run()
