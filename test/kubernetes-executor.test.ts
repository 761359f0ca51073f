// The kubernetes executor against a fake API server (test/fixtures/fake-kubernetes.ts): the shared
// conformance suite, then what only Kubernetes does: the environment in a Secret owned by the Job
// and never in the Pod spec, the Secret removed with the Job, cancel deleting the Job, orphans
// found by label, a watch resumed after 410 Gone, in-cluster and kubeconfig settings, and every
// object sent valid against the published schemas. No real cluster is involved.
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { createLogger } from '../core/log.ts'
import { createKubernetesClient } from '../plugins/executors/kubernetes/client.ts'
import { resolveConnection } from '../plugins/executors/kubernetes/connection.ts'
import { parseYamlSubset } from '../plugins/executors/kubernetes/yaml.ts'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role'
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import { kubernetesContainers } from '../plugins/executors/kubernetes/containers.ts'
import type { Pod } from '../plugins/executors/kubernetes/types.ts'
import { watchPods } from '../plugins/executors/kubernetes/watch.ts'
import { podLost } from '../plugins/executors/kubernetes/run-job.ts'
import { kubernetes, type KubernetesOptions } from '../plugins/executors/kubernetes/index.ts'
import { executorConformance, makeSpec, record, SCENARIO_SCRIPT } from './executor-conformance.ts'
import { startFakeKubernetes, type FakeKubernetes } from './fixtures/fake-kubernetes.ts'

const NAMESPACE = 'agents'
const IMAGE = 'terarchitect-agent-test'
const COORDINATOR = `test-coordinator-${randomUUID().slice(0, 8)}`
const ENTRYPOINT = resolve('scripts/agent-entrypoint.sh')
const dir = mkdtempSync(join(tmpdir(), 'kubernetes-executor-'))

const fake: FakeKubernetes = await startFakeKubernetes({
  namespaces: [NAMESPACE],
  // The image's entrypoint is the agent image's own: it exports the mounted environment files.
  images: {
    [IMAGE]: { entrypoint: ['sh', ENTRYPOINT], cmd: ['ticket'] },
    'too-big': { unschedulable: '0/1 nodes are available: 1 Insufficient cpu.' },
  },
})
const kubeconfig = join(dir, 'kubeconfig')
writeFileSync(kubeconfig, `# written by the test, as kubectl config view --raw writes one
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from(fake.ca).toString('base64')}
    server: ${fake.url}
  name: fake
contexts:
- context:
    cluster: fake
    namespace: ${NAMESPACE}
    user: "coordinator"
  name: fake-context
- context:
    cluster: other
  name: unused
current-context: 'fake-context'
preferences: {}
users:
- name: coordinator
  user:
    token: ${fake.token}   # a service account token
`)
const logLines: string[] = []
const log = createLogger('debug', { test: 'kubernetes' }, (line) => logLines.push(line))
const options = (extra: Partial<KubernetesOptions> = {}): KubernetesOptions => ({
  kubeconfig, image: IMAGE, coordinatorId: COORDINATOR, log, stopTimeoutSec: 1, ...extra,
})
const scenario = (env: Record<string, string>, extra = {}) => makeSpec({ env, ...extra })
const waitFor = async (what: string, check: () => boolean, ms = 3000) => {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) assert.unreachable(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
const ofJob = (jobId: number) => (object: { metadata: { labels?: Record<string, string> } }) => object.metadata.labels?.['terarchitect.job_id'] === String(jobId)
const leftovers = (jobId: number) => (['jobs', 'pods', 'secrets'] as const).flatMap((resource) => fake.objects(resource, NAMESPACE).filter(ofJob(jobId)).map((object) => `${resource}/${object.metadata.name}`))

executorConformance({
  name: 'kubernetes (fake API server)',
  node: process.execPath,
  mergedStreams: 'the Kubernetes pod log API serves stdout and stderr as one stream',
  create: (command, conformanceLog) => kubernetes({ ...options(), command, log: conformanceLog }),
}).run()

test.after(async () => {
  await fake.close()
  rmSync(dir, { recursive: true, force: true })
})

test('the environment is in a Secret owned by the Job, never in the Job or Pod spec; all of it is removed after the run', async () => {
  const executor = kubernetes(options({ command: [process.execPath, '-e', SCENARIO_SCRIPT] }))
  const secret = `sekrit-${randomBytes(12).toString('hex')}`
  const spec = scenario({ SCENARIO: 'sleep', SECRET_TOKEN: secret })
  const controller = new AbortController()
  let seen: { jobs: string; pods: string; secrets: { metadata: { ownerReferences?: { kind: string; uid: string }[] }; data: Record<string, string> }[]; jobUid: string } | undefined
  const run = await record(executor, spec, controller.signal, (chunk) => {
    if (!chunk.text.includes('sleeping') || seen) return
    const jobs = fake.objects('jobs', NAMESPACE).filter(ofJob(spec.jobId))
    seen = {
      jobs: JSON.stringify(jobs), pods: JSON.stringify(fake.objects('pods', NAMESPACE).filter(ofJob(spec.jobId))),
      secrets: fake.objects('secrets', NAMESPACE).filter(ofJob(spec.jobId)) as never, jobUid: jobs[0]?.metadata.uid,
    }
    controller.abort()
  })
  assert.ok(seen, 'the job never printed "sleeping"')
  assert.is(run.result.stoppedBy, 'abort')
  const encoded = Buffer.from(secret).toString('base64')
  for (const [what, text] of [['job', seen.jobs], ['pod', seen.pods]] as const) {
    assert.ok(text.length > 100, `${what} spec was not read back`)
    assert.not.ok(text.includes(secret) || text.includes(encoded), `secret in the ${what}`)
  }
  assert.match(seen.pods, /"secretName":"terarchitect-job-/)
  assert.is(seen.secrets.length, 1)
  assert.is(seen.secrets[0]!.data.SECRET_TOKEN, encoded, 'the Secret holds the value (so the check above could fail)')
  assert.equal(seen.secrets[0]!.metadata.ownerReferences?.map((owner) => [owner.kind, owner.uid]), [['Job', seen.jobUid]])
  // Nothing else the executor sent carries it either, except the Secret itself.
  const sent = fake.received.filter((request) => !request.path.endsWith('/secrets')).map((request) => JSON.stringify(request.body))
  assert.not.ok(sent.some((body) => body.includes(secret) || body.includes(encoded)), 'secret in a request other than the Secret')
  assert.not.ok(logLines.some((line) => line.includes(secret)), 'secret in the log')
  await waitFor('the Job, its Pod and Secret to be removed', () => leftovers(spec.jobId).length === 0)
})

test('a coordinator id that is no label value (a colon, an @) is labelled by its hash, and reconcile finds its Jobs by it', async () => {
  const id = `host:1234@${randomBytes(2).toString('hex')}`
  const executor = kubernetes(options({ coordinatorId: id, command: [process.execPath, '-e', SCENARIO_SCRIPT] }))
  const controller = new AbortController()
  const spec = scenario({ SCENARIO: 'sleep' })
  let removed: string[] = []
  const run = await record(executor, spec, controller.signal, (chunk) => {
    if (!chunk.text.includes('sleeping')) return
    // The coordinator restarted and no longer holds the job: its Job is an orphan now.
    void executor.reconcile!(id, new Set()).then((names) => { removed = names })
  })
  // Ended by the deletion (the container got SIGTERM), not by a stop of the run's own.
  assert.equal(run.result, { exitCode: 143 })
  assert.equal(removed.length, 1)
  assert.match(removed[0]!, `terarchitect-job-${spec.jobId}-`)
  const job = fake.received.find((request) => request.body?.metadata?.labels?.['terarchitect.job_id'] === String(spec.jobId))!.body
  assert.match(job.metadata.labels['terarchitect.coordinator_id'], /^h-[0-9a-f]{40}$/)
  assert.is(job.metadata.annotations['terarchitect.coordinator'], id)
})

test('a finished run deletes its Job; the garbage collector removes the Pod and the Secret', async () => {
  const executor = kubernetes(options({ command: [process.execPath, '-e', SCENARIO_SCRIPT] }))
  const spec = scenario({ SCENARIO: 'exit', EXIT_CODE: '0' })
  const run = await record(executor, spec)
  assert.equal(run.result, { exitCode: 0 })
  await waitFor('the Job, its Pod and Secret to be removed', () => leftovers(spec.jobId).length === 0)
  const deletes = fake.received.filter((request) => request.body?.kind === 'DeleteOptions')
  assert.ok(deletes.every((request) => ['Background', 'Foreground'].includes(request.body.propagationPolicy)), 'a Job deleted without a propagationPolicy orphans its Pod')
})

test('the Job asks for one Pod, no retries, the job\'s limits and capped requests, and no service account token', async () => {
  const executor = kubernetes(options({ command: ['true'], cpuRequest: '2', memoryRequest: '512Mi' }))
  const spec = scenario({}, { limits: { memoryBytes: 1024 ** 3, cpus: 1.5, pidsLimit: 100 } })
  assert.equal((await record(executor, spec)).result, { exitCode: 0 })
  const job = fake.received.find((request) => request.path.endsWith('/jobs') && request.body.metadata?.labels?.['terarchitect.job_id'] === String(spec.jobId))!.body
  assert.is(job.spec.backoffLimit, 0)
  assert.is(job.spec.template.spec.restartPolicy, 'Never')
  assert.is(job.spec.template.spec.automountServiceAccountToken, false)
  assert.equal(job.spec.template.spec.containers[0].resources, {
    requests: { cpu: '1500m', memory: '512Mi' }, limits: { cpu: '1500m', memory: String(1024 ** 3) },
  })
  assert.is(job.metadata.labels['terarchitect.coordinator_id'], COORDINATOR)
})

test('timeout deletes the Job and says so', async () => {
  const executor = kubernetes(options({ command: [process.execPath, '-e', SCENARIO_SCRIPT] }))
  const spec = scenario({ SCENARIO: 'sleep' }, { timeoutMs: 1000 })
  const run = await record(executor, spec)
  assert.is(run.result.stoppedBy, 'timeout')
  assert.is.not(run.result.exitCode, 0)
  await waitFor('the Job to be gone', () => leftovers(spec.jobId).length === 0)
  assert.ok(fake.received.some((request) => request.body?.propagationPolicy === 'Foreground'), 'the stop deleted the Job in the foreground')
})

test('a Pod failed as Evicted or NodeLost, or marked a DisruptionTarget, is a lost run (queued again), named with the message; other failures are not', () => {
  const pod = (status: NonNullable<Pod['status']>): Pod => ({ metadata: { name: 'terarchitect-job-7-abc', uid: 'u', resourceVersion: '1' }, status })
  assert.is(podLost(pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })), 'its pod terarchitect-job-7-abc was evicted (The node was low on resource: memory.)')
  assert.is(podLost(pod({ phase: 'Failed', reason: 'NodeLost' })), 'its pod terarchitect-job-7-abc lost its node')
  assert.is(podLost(pod({ phase: 'Failed', reason: 'Error' })), undefined)
  assert.is(podLost(pod({ phase: 'Running', reason: 'Evicted' })), undefined)
  assert.is(podLost(pod({ phase: 'Failed' })), undefined)
  // Kubernetes 1.26+: the DisruptionTarget condition says why the Pod is being ended, in any phase (the run decides when it has ended).
  const disrupted = (reason: string) => pod({ phase: 'Running', conditions: [{ type: 'DisruptionTarget', status: 'True', reason, message: 'Eviction API: evicting' }] })
  assert.is(podLost(disrupted('EvictionByEvictionAPI')), 'its pod terarchitect-job-7-abc was evicted through the Eviction API (a node drain, say) (Eviction API: evicting)')
  assert.is(podLost(disrupted('SomethingNew')), 'its pod terarchitect-job-7-abc was disrupted (SomethingNew) (Eviction API: evicting)')
  assert.is(podLost(pod({ phase: 'Running', conditions: [{ type: 'DisruptionTarget', status: 'False' }] })), undefined)
})

test('a watch that expires (410 Gone) is listed again and the run still sees its Pod end', async () => {
  const executor = kubernetes(options({ command: [process.execPath, '-e', SCENARIO_SCRIPT] }))
  let dropped = false
  const before = logLines.length
  const run = await record(executor, scenario({ SCENARIO: 'stream' }), undefined, (chunk) => {
    if (dropped || !chunk.text.includes('first')) return
    dropped = true
    fake.compact()
    fake.dropWatches()
  })
  assert.ok(dropped)
  assert.equal(run.result, { exitCode: 0 })
  assert.match(run.text('stdout'), /first\s+last/)
  assert.ok(logLines.slice(before).some((line) => line.includes('pod watch expired (410)')), 'the watch never got the 410')
})

test('a Pod deleted while the watch was down (and expired) is reported DELETED by the relist', async () => {
  const client = createKubernetesClient(resolveConnection({ kubeconfig }))
  const name = `watched-${randomBytes(3).toString('hex')}`
  fake.create('jobs', NAMESPACE, {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name },
    spec: { backoffLimit: 0, template: { metadata: { labels: { watched: name } }, spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'agent', image: IMAGE, args: ['sleep', '30'] }] } } },
  })
  const events: string[] = []
  const stop = new AbortController()
  const watching = watchPods(client, { namespace: NAMESPACE, labelSelector: `watched=${name}`, signal: stop.signal, log, onPod: (type, pod: Pod) => events.push(`${type} ${pod.status?.phase}`) })
  await waitFor('the Pod to run', () => events.includes('MODIFIED Running'))
  fake.compact()
  fake.dropWatches(1500)
  await client.request('DELETE', `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${name}`, { body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' } })
  await waitFor('the Pod to be gone', () => !fake.objects('pods', NAMESPACE).some((pod) => pod.metadata.labels?.watched === name))
  await waitFor('the DELETED report', () => events.some((event) => event.startsWith('DELETED')), 5000)
  stop.abort()
  await watching
  client.close()
})

test('reconcile removes this coordinator\'s Jobs (and their Secrets) for jobs it no longer holds, found by label', async () => {
  const executor = kubernetes(options())
  const job = (jobId: number, coordinator: string) => fake.create('jobs', NAMESPACE, {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name: `leftover-${jobId}`, labels: { 'terarchitect.job_id': String(jobId), 'terarchitect.coordinator_id': coordinator } },
    spec: { suspend: true, backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'agent', image: IMAGE }] } } },
  })
  const orphan = job(9001, COORDINATOR)
  job(9002, COORDINATOR)
  job(9003, 'another-coordinator')
  fake.create('secrets', NAMESPACE, {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'leftover-9001', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'leftover-9001', uid: orphan.metadata.uid }] }, data: {},
  })
  const removed = await executor.reconcile!(COORDINATOR, new Set([9002]))
  assert.equal(removed, ['leftover-9001'])
  await waitFor('the orphan\'s Secret to be collected', () => !fake.objects('secrets', NAMESPACE).some((secret) => secret.metadata.name === 'leftover-9001'))
  assert.equal(fake.objects('jobs', NAMESPACE).map((object) => object.metadata.name).filter((name) => name.startsWith('leftover-')).sort(), ['leftover-9002', 'leftover-9003'])
})

/** The run rejects (the job could not be started) with `message`, and leaves nothing behind. */
async function expectStartFailure(extra: Partial<KubernetesOptions>, message: string) {
  const spec = scenario({})
  await kubernetes(options(extra)).run(spec, () => {}, new AbortController().signal).then(
    () => assert.unreachable('run resolved'),
    (error: Error) => assert.match(error.message, message),
  )
  await waitFor('the Job to be gone', () => leftovers(spec.jobId).length === 0)
}

test('a Pod whose image cannot be pulled fails the start and leaves nothing behind', async () => {
  await expectStartFailure({ image: 'no-such-image' }, 'ErrImagePull')
})

test('a Pod that is not scheduled within the start timeout fails the start with the scheduler\'s message', async () => {
  await expectStartFailure({ image: 'too-big', startTimeoutSec: 0.5 }, 'not started within 1 s: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.')
})

test('the agent entrypoint exports each file of AGENT_ENV_DIR exactly (newlines, spaces, =) and skips names that are no variable', async () => {
  const envDir = join(dir, 'env')
  await import('node:fs/promises').then((fs) => fs.mkdir(envDir))
  const values = { MULTI: 'line one\nline two\n\n', SPACED: ' a = b ', EMPTY: '' }
  for (const [key, value] of Object.entries(values)) writeFileSync(join(envDir, key), value)
  writeFileSync(join(envDir, 'not-a-name'), 'x')
  const { execFileSync } = await import('node:child_process')
  const printed = execFileSync('sh', [ENTRYPOINT, process.execPath, '-e', 'console.log(JSON.stringify(process.env))'], {
    env: { PATH: process.env.PATH, AGENT_DIND: 'off', AGENT_ENV_DIR: envDir }, encoding: 'utf8',
  })
  const env = JSON.parse(printed) as Record<string, string>
  assert.equal({ MULTI: env.MULTI, SPACED: env.SPACED, EMPTY: env.EMPTY }, values)
  assert.not.ok('not-a-name' in env)
  assert.not.ok('AGENT_ENV_DIR' in env, 'the directory is not passed on')
})

test('in-cluster settings: service account token, CA and namespace files, KUBERNETES_SERVICE_HOST/PORT', async () => {
  const account = join(dir, 'serviceaccount')
  rmSync(account, { recursive: true, force: true })
  await import('node:fs/promises').then((fs) => fs.mkdir(account))
  writeFileSync(join(account, 'token'), fake.token + '\n')
  writeFileSync(join(account, 'ca.crt'), fake.ca)
  writeFileSync(join(account, 'namespace'), NAMESPACE)
  const url = new URL(fake.url)
  const connection = resolveConnection({ serviceHost: url.hostname, servicePort: url.port, serviceAccountDir: account })
  assert.equal({ server: connection.server, namespace: connection.namespace, source: connection.source }, { server: fake.url, namespace: NAMESPACE, source: 'in-cluster service account' })
  assert.not.ok('token' in connection && connection.token, 'the token is read from its file, not kept')
  const executor = kubernetes({ client: createKubernetesClient(connection), image: IMAGE, log })
  const probe = await executor.probe()
  assert.ok(probe.ok, probe.ok ? '' : probe.reason)
  await executor.close?.()
  assert.throws(() => resolveConnection({ serviceAccountDir: account }), /KUBERNETES_SERVICE_HOST is unset/)
})

test('kubeconfig settings: YAML and JSON files, the current or a named context; what is refused', async () => {
  const yaml = resolveConnection({ kubeconfig })
  assert.equal({ server: yaml.server, namespace: yaml.namespace, token: yaml.token, ca: yaml.ca }, { server: fake.url, namespace: NAMESPACE, token: fake.token, ca: fake.ca })
  assert.is(resolveConnection({ kubeconfig, namespace: 'elsewhere' }).namespace, 'elsewhere')
  const json = join(dir, 'kubeconfig.json')
  writeFileSync(json, JSON.stringify({
    clusters: [{ name: 'c', cluster: { server: fake.url, 'certificate-authority-data': Buffer.from(fake.ca).toString('base64') } }],
    users: [{ name: 'u', user: { token: fake.token } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
  }))
  const fromJson = resolveConnection({ kubeconfig: json, context: 'x' })
  assert.is(fromJson.namespace, 'default')
  assert.throws(() => resolveConnection({ kubeconfig: json }), /no current-context/)
  assert.throws(() => resolveConnection({ kubeconfig, context: 'unused' }), /no cluster named "other"/)
  const exec = join(dir, 'kubeconfig-exec')
  writeFileSync(exec, JSON.stringify({ 'current-context': 'x', clusters: [{ name: 'c', cluster: { server: fake.url } }], users: [{ name: 'u', user: { exec: { command: 'aws' } } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }] }))
  assert.throws(() => resolveConnection({ kubeconfig: exec }), /exec and auth-provider credentials are not supported/)
  const probe = await kubernetes(options()).probe()
  assert.ok(probe.ok && probe.detail?.includes(`namespace ${NAMESPACE}`), JSON.stringify(probe))
})

test('probe says why when the token is refused or the namespace does not exist', async () => {
  const wrongToken = join(dir, 'kubeconfig-wrong')
  writeFileSync(wrongToken, JSON.stringify({ 'current-context': 'x', clusters: [{ name: 'c', cluster: { server: fake.url, 'certificate-authority-data': Buffer.from(fake.ca).toString('base64') } }], users: [{ name: 'u', user: { token: 'wrong' } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }] }))
  const refused = await kubernetes(options({ kubeconfig: wrongToken })).probe()
  assert.ok(!refused.ok && /Unauthorized/.test(refused.reason), JSON.stringify(refused))
  const missing = await kubernetes(options({ namespace: 'no-such-namespace' })).probe()
  assert.ok(!missing.ok && /namespaces "no-such-namespace" not found/.test(missing.reason), JSON.stringify(missing))
  const nowhere = await kubernetes({ log }).probe()
  assert.ok(!nowhere.ok && /KUBERNETES_SERVICE_HOST is unset/.test(nowhere.reason), JSON.stringify(nowhere))
})

test('coordinator: AGENT_DOCKER_MODE=kubernetes and its settings; the container side pings, caches per image and reconciles', async () => {
  const config = resolveCoordinatorConfig({
    TERARCHITECT_WORKER_API_KEY: 'k', AGENT_DOCKER_MODE: 'kubernetes', KUBERNETES_KUBECONFIG: kubeconfig, KUBERNETES_MEMORY_REQUEST: '256Mi',
    TERARCHITECT_API_URL: 'http://terarchitect.terarchitect.svc:5010',
  })
  assert.equal([config.AGENT_DOCKER_MODE, config.KUBERNETES_CPU_REQUEST, config.KUBERNETES_MEMORY_REQUEST, config.KUBERNETES_START_TIMEOUT_SEC], ['kubernetes', '500m', '256Mi', 600])
  // The default API URL is loopback, which pods cannot reach.
  assert.throws(() => resolveCoordinatorConfig({ TERARCHITECT_WORKER_API_KEY: 'k', AGENT_DOCKER_MODE: 'kubernetes' }), (error: Error) => /TERARCHITECT_API_URL.*not loopback/.test(error.message))
  for (const [name, value] of [['KUBERNETES_NAMESPACE', 'Not_A_Namespace'], ['KUBERNETES_CPU_REQUEST', 'lots'], ['KUBERNETES_MEMORY_REQUEST', '1 GB']]) {
    assert.throws(() => resolveCoordinatorConfig({ TERARCHITECT_WORKER_API_KEY: 'k', [name]: value }), (error: Error & { details?: { path: string }[] }) =>
      JSON.stringify(error.details ?? error.message).includes(name))
  }
  const containers = kubernetesContainers({ kubeconfig: config.KUBERNETES_KUBECONFIG, image: IMAGE, coordinatorId: COORDINATOR, log })
  assert.is(containers.name, 'kubernetes')
  assert.is(containers.forImage(IMAGE), containers.forImage(IMAGE))
  assert.is.not(containers.forImage(IMAGE), containers.forImage('other-image'))
  const ping = await containers.ping()
  assert.ok(ping.ok, JSON.stringify(ping))
  assert.equal(await containers.reconcile(COORDINATOR, new Set()), ['leftover-9002'])
  await containers.close?.()
  assert.throws(() => kubernetesContainers({ kubeconfig: join(dir, 'missing'), log }), /cannot read/)
})

test('every object the executor sent is valid against the published Kubernetes schemas and the API server\'s own rules (names, labels, Secret keys)', () => {
  assert.equal(fake.invalid, [])
  assert.ok(fake.validated >= 20, `only ${fake.validated} objects were validated`)
  const kinds = new Set(fake.received.map((request) => request.body?.kind))
  for (const kind of ['Job', 'Secret', 'DeleteOptions']) assert.ok(kinds.has(kind), `no ${kind} was sent`)
})

test('the fake refuses what a real API server refuses (so the validity check above can fail)', async () => {
  const client = createKubernetesClient(resolveConnection({ kubeconfig }))
  const before = fake.invalid.length
  const job = (name: string, extra: object) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, ...extra }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'agent', image: IMAGE }] } } } })
  const refusals = [
    ['POST', '/apis/batch/v1/namespaces/agents/jobs', { ...job('bad-limit', {}), spec: { backoffLimit: 'none', template: job('x', {}).spec.template } }, /backoffLimit must be integer/],
    ['POST', '/apis/batch/v1/namespaces/agents/jobs', job('bad-label', { labels: { 'terarchitect.coordinator_id': 'host:1' } }), /not a label value/],
    ['POST', '/apis/batch/v1/namespaces/agents/jobs', job(`too-long-${'x'.repeat(60)}`, {}), /no more than 63 characters/],
    ['POST', '/api/v1/namespaces/agents/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad-key' }, data: { 'A B': '' } }, /valid config key/],
  ] as const
  for (const [method, path, body, message] of refusals) {
    await client.request(method, path, { body }).then(() => assert.unreachable(`${JSON.stringify(body)} was accepted`), (error: Error & { status?: number }) => {
      assert.is(error.status, 422)
      assert.match(error.message, message)
    })
  }
  assert.is(fake.invalid.length, before + refusals.length)
  await client.request('POST', '/apis/batch/v1/namespaces/agents/jobs', { body: job('twice', { labels: { a: 'b' } }) })
  await client.request('POST', '/apis/batch/v1/namespaces/agents/jobs', { body: job('twice', {}) }).then(() => assert.unreachable('created twice'), (error: Error & { status?: number; reason?: string }) => {
    assert.equal([error.status, error.reason], [409, 'AlreadyExists'])
  })
  await client.request('DELETE', '/apis/batch/v1/namespaces/agents/jobs/twice', { body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' } })
  await client.request('GET', '/apis/batch/v1/namespaces/agents/jobs/twice').then(() => assert.unreachable('found after delete'), (error: Error & { status?: number; reason?: string }) => {
    assert.equal([error.status, error.reason], [404, 'NotFound'])
  })
  client.close()
})

test('deploy/kubernetes: the example manifests are valid objects, and the Role grants every call the executor made here', () => {
  const models: Record<string, new (body: never) => { validate(): void }> = { Deployment, Role, RoleBinding, Namespace, ServiceAccount }
  const manifests = readdirSync('deploy/kubernetes').filter((file) => file.endsWith('.yaml'))
    .map((file) => ({ file, object: parseYamlSubset(readFileSync(join('deploy/kubernetes', file), 'utf8')) as { kind: string; rules?: { resources: string[]; verbs: string[] }[] } }))
  assert.equal(manifests.map((manifest) => manifest.object.kind).sort(), ['Deployment', 'Namespace', 'Namespace', 'Role', 'RoleBinding', 'ServiceAccount'])
  for (const { file, object } of manifests) {
    try {
      new models[object.kind]!(object as never).validate()
    } catch (error) {
      assert.unreachable(`${file}: ${(error as Error).message}`)
    }
  }
  const role = manifests.find((manifest) => manifest.object.kind === 'Role')!.object
  const granted = new Set(role.rules!.flatMap((rule) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${resource}`))))
  assert.ok(fake.calls.size >= 8, [...fake.calls].join(', '))
  for (const call of fake.calls) assert.ok(granted.has(call), `the Role does not allow ${call}`)
})

test.run()
