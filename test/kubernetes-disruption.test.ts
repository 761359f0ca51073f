// The kubernetes executor when the agent's Pod loses its place mid-run, against the fake API server
// (test/fixtures/fake-kubernetes.ts, whose header says what it models): an eviction through the
// Eviction API (what a drain does), the kubelet's node-pressure eviction, and a lost node. Each run
// must resolve as lost (so the coordinator queues the job again) naming what happened, keep the
// output followed so far, and leave no Job or Secret behind. No real cluster is involved.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLogger } from '../core/log.ts'
import type { OutputChunk } from '../core/executor.ts'
import { kubernetes } from '../plugins/executors/kubernetes/index.ts'
import { makeSpec, record, SCENARIO_SCRIPT } from './executor-conformance.ts'
import { startFakeCluster } from './fixtures/fake-kubernetes-cluster.ts'

const NAMESPACE = 'agents'
const IMAGE = 'terarchitect-agent-test'
const dir = mkdtempSync(join(tmpdir(), 'kubernetes-disruption-'))
const { fake, kubeconfig, client, evict } = await startFakeCluster(dir, NAMESPACE, IMAGE)
const log = createLogger('debug', { test: 'kubernetes-disruption' }, () => {})
const executor = (command = [process.execPath, '-e', SCENARIO_SCRIPT]) =>
  kubernetes({ kubeconfig, image: IMAGE, coordinatorId: 'disruption-test', log, stopTimeoutSec: 1, command })

const ofJob = (jobId: number) => (object: { metadata: { labels?: Record<string, string> } }) => object.metadata.labels?.['terarchitect.job_id'] === String(jobId)
const left = (resource: 'jobs' | 'pods' | 'secrets', jobId: number) => fake.objects(resource, NAMESPACE).filter(ofJob(jobId)).map((object) => object.metadata.name)
const waitFor = async (what: string, check: () => boolean, ms = 5000) => {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) assert.unreachable(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
/** The name of the one Pod of the job's Job. */
const podOf = (jobId: number) => {
  const pods = left('pods', jobId)
  assert.is(pods.length, 1, `pods of job ${jobId}: ${pods.join(', ')}`)
  return pods[0]!
}

/** Runs the sleeping scenario and calls `disrupt` with the Pod's name once the agent has printed. */
async function disruptedRun(disrupt: (pod: string) => void | Promise<void>, command?: string[]) {
  const spec = makeSpec({ env: { SCENARIO: 'sleep' } })
  let disrupted: Promise<void> | undefined
  const run = await record(executor(command), spec, undefined, (chunk: OutputChunk) => {
    if (disrupted || !chunk.text.includes('sleeping')) return
    disrupted = Promise.resolve(disrupt(podOf(spec.jobId)))
  })
  assert.ok(disrupted, 'the agent never printed "sleeping"')
  await disrupted
  return { ...run, spec }
}

test.after(async () => {
  client.close()
  await fake.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a Pod evicted through the Eviction API (a drain) mid-run: the run is lost, naming the eviction; output kept; no Job or Secret left', async () => {
  const evictions: unknown[] = []
  const run = await disruptedRun(async (pod) => {
    evictions.push(await evict(pod))
  })
  assert.equal(evictions, [{ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }])
  assert.is(run.result.stoppedBy, undefined)
  assert.match(run.result.lost ?? '', /^its pod terarchitect-job-\S+ was evicted through the Eviction API \(a node drain, say\) \(Eviction API: evicting\)$/)
  // The container got SIGTERM (the Pod's grace period, then SIGKILL): 128 + 15.
  assert.is(run.result.exitCode, 143)
  assert.match(run.text('stdout'), 'sleeping')
  assert.match(run.text('system'), `the agent's run was lost: ${run.result.lost}`)
  await waitFor('the Job, its Pod and its Secret to be removed', () => ['jobs', 'pods', 'secrets'].every((resource) => left(resource as 'jobs', run.spec.jobId).length === 0))
  assert.equal(fake.invalid, [])
})

test('the Eviction subresource refuses an Eviction for another Pod (400) and an invalid one (422)', async () => {
  const spec = makeSpec({ env: { SCENARIO: 'sleep' } })
  const controller = new AbortController()
  const refusals: string[] = []
  const run = await record(executor(), spec, controller.signal, (chunk) => {
    if (refusals.length || !chunk.text.includes('sleeping')) return
    const pod = podOf(spec.jobId)
    const path = `/api/v1/namespaces/${NAMESPACE}/pods/${pod}/eviction`
    const attempt = (body: object) => client.request('POST', path, { body }).then(
      () => 'accepted',
      (error: Error & { status?: number }) => `${error.status} ${error.message}`,
    )
    refusals.push('pending')
    void Promise.all([
      attempt({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'another-pod' } }),
      attempt({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod }, deleteOptions: { gracePeriodSeconds: 'soon' } }),
    ]).then((answers) => {
      refusals.splice(0, 1, ...answers)
      controller.abort()
    })
  })
  assert.is(run.result.stoppedBy, 'abort', 'the refused evictions did not end the run')
  assert.is(refusals.length, 2)
  assert.match(refusals[0]!, /^400 .*name in URL does not match name in Eviction object/)
  assert.match(refusals[1]!, /^422 .*gracePeriodSeconds/)
  assert.is(fake.invalid.length, 1)
  fake.invalid.length = 0
})

test('a Pod evicted by its kubelet for node pressure: the run is lost with the kubelet\'s message; no Job, Pod or Secret left', async () => {
  const message = 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 60Mi. '
  const run = await disruptedRun((pod) => fake.evictForNodePressure(NAMESPACE, pod, message))
  assert.match(run.result.lost ?? '', / was evicted \(The node was low on resource: memory\./)
  // A hard threshold: a grace period of 0, so killed by SIGTERM or the SIGKILL right after it.
  assert.ok([137, 143].includes(run.result.exitCode), `exit code ${run.result.exitCode}`)
  assert.match(run.text('stdout'), 'sleeping')
  await waitFor('the Job, its Pod and its Secret to be removed', () => ['jobs', 'pods', 'secrets'].every((resource) => left(resource as 'jobs', run.spec.jobId).length === 0))
})

test('a lost node whose Node object is then deleted: the run is lost naming the taint-based deletion; the log cut is said; nothing left', async () => {
  let node = ''
  const run = await disruptedRun(() => { node = fake.loseNode({ tolerationMs: 200, nodeDeletedAfterMs: 500 }) })
  assert.match(node, /^fake-node-\d+$/)
  assert.match(run.result.lost ?? '', / was deleted for a NoExecute taint of its node \(unreachable or not ready, say\) \(Taint manager: deleting due to NoExecute taint\)$/)
  assert.is(run.result.exitCode, -1, 'no kubelet reported an exit code')
  assert.match(run.text('stdout'), 'sleeping')
  assert.match(run.text('system'), /the pod's log could not be read to its end/)
  await waitFor('the Job, its Pod and its Secret to be removed', () => ['jobs', 'pods', 'secrets'].every((resource) => left(resource as 'jobs', run.spec.jobId).length === 0))
})

test('a lost node whose Pod stays Terminating (no kubelet confirms): the run is lost after the grace period and a margin; the Job and Secret are removed', async () => {
  const run = await disruptedRun(() => { fake.loseNode({ tolerationMs: 100 }) })
  assert.match(run.result.lost ?? '', / was deleted for a NoExecute taint of its node/)
  // stopTimeoutSec 1 + a 10 s margin; a generous ceiling.
  assert.ok(run.ended - run.started < 30_000, `took ${run.ended - run.started} ms`)
  await waitFor('the Job and its Secret to be removed', () => left('jobs', run.spec.jobId).length === 0 && left('secrets', run.spec.jobId).length === 0)
  // As in a cluster, the Pod stays Terminating until its Node object is deleted.
  const pods = fake.objects('pods', NAMESPACE).filter(ofJob(run.spec.jobId))
  assert.is(pods.length, 1)
  assert.ok(pods[0]!.metadata.deletionTimestamp, 'the Pod is Terminating')
})

test('a disrupted Pod whose agent still exits 0 within its grace period is a success, not a lost run', async () => {
  const script = `process.on('SIGTERM', () => { console.log('stopping cleanly'); process.exit(0) }); console.log('sleeping'); setTimeout(() => {}, 60000)`
  const run = await disruptedRun(async (pod) => {
    await evict(pod, { gracePeriodSeconds: 5 })
  }, [process.execPath, '-e', script])
  assert.equal(run.result, { exitCode: 0 })
  assert.match(run.text('stdout'), 'stopping cleanly')
})

test('a Job whose Pod is evicted is Failed, as with backoffLimit 0 a real Job controller has it', async () => {
  // The executor deleted its Jobs; this one is made by hand to look at the Job's status.
  const name = 'evicted-by-hand'
  fake.create('jobs', NAMESPACE, {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name },
    spec: { backoffLimit: 0, template: { metadata: { labels: { by: name } }, spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'agent', image: IMAGE, args: ['sleep', '30'] }] } } },
  })
  await waitFor('the Pod to run', () => fake.objects('pods', NAMESPACE).some((pod) => pod.metadata.labels?.by === name && pod.status?.phase === 'Running'))
  const pod = fake.objects('pods', NAMESPACE).find((candidate) => candidate.metadata.labels?.by === name)!.metadata.name
  await evict(pod)
  await waitFor('the Pod to be gone', () => !fake.objects('pods', NAMESPACE).some((candidate) => candidate.metadata.name === pod))
  const job = fake.objects('jobs', NAMESPACE).find((candidate) => candidate.metadata.name === name)!
  assert.equal(job.status.conditions?.map((condition: { type: string }) => condition.type), ['Failed'])
  assert.equal(fake.invalid, [])
})

test.run()
