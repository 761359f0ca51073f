// A docker-mode job run by the real coordinator loop through the kubernetes executor, against the
// fake API server (test/fixtures/fake-kubernetes.ts) and an embedded app (PGlite): its Pod is
// evicted through the Eviction API mid-run (as a drain does), the coordinator has the job queued
// again, and a second Pod runs attempt 2 to success. No real cluster, no Docker.
// The coordinator is built in-process with the kubernetes container side (as AGENT_DOCKER_MODE=
// kubernetes builds it); that mode's refusal of a loopback TERARCHITECT_API_URL is not met here
// because the fake's Pods are host processes, which do reach the loopback app.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { createWorkerClient } from '../core/coordinator/client.ts'
import { startCoordinator } from '../core/coordinator/loop.ts'
import type { Executor } from '../core/executor.ts'
import { createLogger } from '../core/log.ts'
import { kubernetesContainers } from '../plugins/executors/kubernetes/containers.ts'
import { enqueue, eventsOf, jobOf, outputText, project, startCoordinatorApp, waitForJob, WORKER_KEY } from './coordinator-fixtures.ts'
import { startFakeCluster } from './fixtures/fake-kubernetes-cluster.ts'
import { waitFor } from './helpers.ts'

const NAMESPACE = 'agents'
const IMAGE = 'terarchitect-agent-k8s-test'
// Attempt 1 runs until it is stopped; any later attempt ends at once, successfully.
const AGENT = `
console.log('agent attempt ' + process.env.JOB_ATTEMPT + ' of job ' + process.env.JOB_ID)
if (process.env.JOB_ATTEMPT === '1') setTimeout(() => {}, 120000)
`

test('a Pod evicted mid-run: the coordinator queues the job again as attempt 2, which a second Pod completes; nothing is left in the namespace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubernetes-requeue-'))
  const agent = join(dir, 'agent.js')
  writeFileSync(agent, AGENT)
  const { fake, kubeconfig, client: admin, evict } = await startFakeCluster(dir, NAMESPACE, IMAGE)
  const app = await startCoordinatorApp()
  const coordinatorId = `k8s-requeue-${randomUUID().slice(0, 8)}`
  const log = createLogger('error', {})
  const config = resolveCoordinatorConfig({
    TERARCHITECT_API_URL: app.apiUrl, TERARCHITECT_WORKER_API_KEY: WORKER_KEY, COORDINATOR_STATE_DIR: join(dir, 'state'),
    AGENT_IMAGE: IMAGE, CLAIM_WAIT_SEC: '1', SETTINGS_REFRESH_SEC: '60', AGENT_STOP_TIMEOUT_SEC: '1',
  })
  const host: Executor = { name: 'local', probe: async () => ({ ok: true }), run: async () => { throw new Error('no host runs in this test') } }
  const coordinator = startCoordinator({
    config, coordinatorId, log,
    client: createWorkerClient({ apiUrl: app.apiUrl, coordinatorId, workerKey: WORKER_KEY, timeoutMs: 5000 }),
    executors: { containers: kubernetesContainers({ kubeconfig, image: IMAGE, coordinatorId, log, stopTimeoutSec: 1, command: [process.execPath, agent] }), host },
  })
  try {
    const p = await project(app, { execution_mode: 'docker' })
    const { ticketId, jobId } = await enqueue(app, p.id, {}, 'evicted mid-run')
    const podsOfJob = () => fake.objects('pods', NAMESPACE).filter((pod) => pod.metadata.labels?.['terarchitect.job_id'] === String(jobId))
    // Attempt 1's Pod is running and its agent has printed (its output reached the app).
    const first = await waitFor(async () => {
      const pod = podsOfJob().find((candidate) => candidate.status?.phase === 'Running')
      return pod && outputText(await eventsOf(app, p.id, ticketId)).includes('agent attempt 1') ? pod.metadata.name : undefined
    }, 30000, 'attempt 1 to run and print')
    assert.is((await jobOf(app, jobId)).attempt, 1)
    await evict(first)
    const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'], 60000)
    assert.is(job.status, 'succeeded', JSON.stringify(job))
    assert.is(job.attempt, 2)
    const events = await eventsOf(app, p.id, ticketId)
    const said = events.map((event) => `${event.step}: ${event.summary}\n${event.raw_output ?? ''}`).join('\n')
    assert.match(said, new RegExp(`its pod ${first} was evicted through the Eviction API`), said.slice(-3000))
    assert.match(said, /queued again as attempt 2 of \d+/, said.slice(-3000))
    const output = outputText(events)
    assert.match(output, 'agent attempt 1')
    assert.match(output, 'agent attempt 2')
    // Two Jobs were created (one per attempt), and all of them are gone with their Pods and Secrets.
    const created = fake.received.filter((request) => request.path.endsWith('/jobs') && request.body?.metadata?.labels?.['terarchitect.job_id'] === String(jobId))
    assert.is(created.length, 2)
    await waitFor(async () => (['jobs', 'pods', 'secrets'] as const).every((resource) =>
      !fake.objects(resource, NAMESPACE).some((object) => object.metadata.labels?.['terarchitect.job_id'] === String(jobId))), 10000, 'the namespace to be empty')
    assert.equal(fake.invalid, [])
  } finally {
    await coordinator.stop(2000)
    admin.close()
    await app.closeAll()
    await fake.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
