// The coordinator surviving its own end and its daemon's: graceful SIGTERM (finish within the
// grace period, else hand back), kill -9 mid-job (lease expiry, orphan removal on restart, the job
// completed by the restarted coordinator), and dockerd stopped while idle (a private daemon, so
// the host daemon and other suites are untouched).
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import { ensureDocker } from './docker-fixtures.ts'
import {
  WORKER_KEY, enqueue, ensureFakeAgentImage, eventsOf, hostAgentCommand, outputText, project, spawnCoordinator,
  startCoordinatorApp, waitForJob, type CoordinatorProcess, type CoordinatorTestApp, removeCoordinatorContainers,
} from './coordinator-fixtures.ts'
import { sleep, waitFor } from './helpers.ts'
import { startPrivateDockerd, type PrivateDockerd } from './private-dockerd.ts'
import { assertAppClean } from './secret-scan.ts'

const RUN = randomUUID().slice(0, 8)
const workDir = mkdtempSync(join(tmpdir(), 'terarchitect-coord-recovery-'))
let engine: DockerEngine
let app: CoordinatorTestApp
let image: string
const started: CoordinatorProcess[] = []
const coordinatorIds = new Set<string>()

test.before(async () => {
  engine = await ensureDocker()
  image = await ensureFakeAgentImage(engine)
  app = await startCoordinatorApp()
})

test.after(async () => {
  for (const coordinator of started) await coordinator.stop('SIGKILL')
  await app?.closeAll()
  if (engine) {
    await removeCoordinatorContainers(engine, coordinatorIds)
    engine.close()
  }
  rmSync(workDir, { recursive: true, force: true })
})

function coordinatorFor(projectId: number, env: Record<string, string> = {}, stateDir?: string) {
  const coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: app.apiUrl,
    TERARCHITECT_WORKER_API_KEY: WORKER_KEY,
    PROJECT_ID: String(projectId),
    AGENT_IMAGE: image,
    AGENT_CACHE_VOLUME: '',
    AGENT_HOST_COMMAND: hostAgentCommand(workDir),
    CLAIM_WAIT_SEC: '5',
    HEARTBEAT_MAX_SEC: '0.5',
    DOCKER_CHECK_SEC: '1',
    ...env,
  }, stateDir)
  started.push(coordinator)
  return coordinator
}

// Job ids restart at 1 in every test app: a container is ours by job id AND coordinator id.
const containersOfJob = (jobId: number, coordinatorId: string) =>
  engine.containerList({ all: true, labels: [`terarchitect.job_id=${jobId}`, `terarchitect.coordinator_id=${coordinatorId}`] })
const waitForOutput = (projectId: number, ticketId: number, text: string, ms = 60000) =>
  waitFor(async () => outputText(await eventsOf(app, projectId, ticketId)).includes(text), ms, `"${text}" in the output`)

test('SIGTERM: a job that ends within the grace period is reported; one that does not is stopped and handed back', async () => {
  const p = await project(app)
  const coordinator = coordinatorFor(p.id, { MAX_CONCURRENT_AGENTS: '2', SHUTDOWN_GRACE_SEC: '5' })
  const short = await enqueue(app, p.id, { lines: 10, interval: 250 })
  const long = await enqueue(app, p.id, { lines: 1000, interval: 200 })
  await waitForOutput(p.id, short.ticketId, 'line 2')
  await waitForOutput(p.id, long.ticketId, 'line 2')
  const signalled = Date.now()
  coordinator.child.kill('SIGTERM')
  assert.is(await coordinator.exited, 0)
  const took = Date.now() - signalled
  assert.ok(took < 5000 + 15000, `shutdown took ${took} ms`)
  const coordinatorId = coordinator.logs.find((record) => record.msg === 'coordinator started')!.coordinatorId as string
  coordinatorIds.add(coordinatorId)

  assert.is((await waitForJob(app, short.jobId, ['succeeded', 'failed', 'cancelled'], 5000)).status, 'succeeded')
  const left = await containersOfJob(long.jobId, coordinatorId)
  assert.equal(left.map((container) => container.State), [], `the handed-back job's container is still there:\n${
    coordinator.lines.filter((line) => line.includes(`"jobId":${long.jobId}`)).join('\n')}`)
  const events = await eventsOf(app, p.id, long.ticketId)
  assert.ok(events.some((event) => event.summary.includes('coordinator shutting down')), 'no shutdown note on the ticket')
  const again = await waitForJob(app, long.jobId, ['pending'], 5000)
  assert.is(again.attempt, 1, 'released at once: pending again, same attempt, no lease wait')
  await app.api('POST', `/api/jobs/${long.jobId}/cancel`)
})

test('kill -9 mid-job: pending again after the lease; the restarted coordinator removes the orphan and completes the job', async () => {
  const p = await project(app)
  const stateDir = mkdtempSync(join(workDir, 'state-'))
  const first = coordinatorFor(p.id, {}, stateDir)
  await first.waitForLog(/^coordinator started$/)
  const coordinatorId = readFileSync(join(stateDir, 'coordinator_id'), 'utf8').trim()
  coordinatorIds.add(coordinatorId)
  const { ticketId, jobId } = await enqueue(app, p.id, { lines: 30, interval: 250 })
  await waitForOutput(p.id, ticketId, 'line 2')
  const [orphan] = await containersOfJob(jobId, coordinatorId)
  assert.ok(orphan, 'no container for the running job')
  assert.is(orphan.Labels['terarchitect.coordinator_id'], coordinatorId)

  first.child.kill('SIGKILL')
  await first.exited
  const pending = await waitForJob(app, jobId, ['pending'], 15000)
  assert.is(pending.attempt, 2)
  assert.ok((await containersOfJob(jobId, coordinatorId)).some((container) => container.Id === orphan.Id), 'the orphan is gone before the restart')

  const second = coordinatorFor(p.id, {}, stateDir)
  const reconciled = await second.waitForLog(/^reconcile: removed/)
  assert.ok((reconciled.removed as string[]).includes(orphan.Id.slice(0, 12)), JSON.stringify(reconciled))
  assert.ok(second.logs.some((record) => record.msg === 'coordinator started' && record.coordinatorId === coordinatorId), 'the restarted coordinator has another id')
  const done = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'], 60000)
  assert.is(done.status, 'succeeded', JSON.stringify(done))
  assert.is(done.attempt, 2)
  assert.is(done.claimed_by, coordinatorId)
  assert.ok((await containersOfJob(jobId, coordinatorId)).every((container) => container.Id !== orphan.Id))
  await second.stop()
})

test('JOB_TIMEOUT_SEC stops the agent and fails the job with the reason', async () => {
  const p = await project(app)
  const coordinator = coordinatorFor(p.id, { JOB_TIMEOUT_SEC: '2' })
  const coordinatorId = (await coordinator.waitForLog(/^coordinator started$/)).coordinatorId as string
  coordinatorIds.add(coordinatorId)
  const { jobId } = await enqueue(app, p.id, { lines: 1000, interval: 200 })
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'], 60000)
  assert.is(job.status, 'failed')
  assert.is(job.error, 'timed out after 2 s (JOB_TIMEOUT_SEC)')
  assert.match(job.output_tail ?? '', 'line 3')
  assert.equal(await containersOfJob(jobId, coordinatorId), [])
  await coordinator.stop()
})

test('dockerd stopped while idle: the coordinator keeps running, says so, and recovers when it is back', async () => {
  let daemon: PrivateDockerd | undefined
  try {
    daemon = await startPrivateDockerd(RUN)
    const privateImage = await ensureFakeAgentImage(daemon.engine)
    const p = await project(app)
    // Without the host fallback, jobs wait while Docker is down instead of running on the host.
    const coordinator = coordinatorFor(p.id, { DOCKER_HOST: daemon.dockerHost, AGENT_IMAGE: privateImage, AGENT_FALLBACK_TO_HOST: 'false', DOCKER_CHECK_SEC: '0.5' })
    await coordinator.waitForLog(/^Docker is available$/)

    await daemon.stop()
    const down = await coordinator.waitForLog(/^Docker is unavailable/, 10000)
    assert.match(down.msg, 'keeps running')
    const { ticketId, jobId } = await enqueue(app, p.id, { lines: 3 })
    await coordinator.waitForLog(/^not claiming while Docker is unavailable/, 10000)
    await sleep(1500)
    assert.is(coordinator.child.exitCode, null, 'the coordinator exited')
    assert.is((await waitForJob(app, jobId, ['pending'], 1000)).status, 'pending')

    await daemon.start()
    await coordinator.waitForLog(/^Docker is available again$/, 15000)
    const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'], 60000)
    assert.is(job.status, 'succeeded', JSON.stringify(job))
    const events = await eventsOf(app, p.id, ticketId)
    assert.ok(events.some((event) => event.step === 'coordinator' && event.summary.includes('container (docker-dind')), 'the job did not run in a container')
    assert.match(outputText(events), 'worker-context ok')
    await coordinator.stop()
    assert.not.ok(coordinator.logs.some((record) => /crashed|unhandled/.test(String(record.msg))), 'a loop crashed')
  } finally {
    await daemon?.destroy()
  }
})

test('nothing the suite stored holds a secret: every table, the app\'s and the coordinators\' logs', async () => {
  await assertAppClean(app, { 'coordinator log': started.flatMap((coordinator) => coordinator.lines) })
})

test.run()
