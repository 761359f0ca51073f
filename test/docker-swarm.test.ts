// test-runner: slow
// The docker-swarm executor on a real three-node swarm built by test/swarm-fixtures.ts (a private
// dockerd as manager, two Docker-in-Docker workers, a local registry serving the slim agent image of
// test/fixtures/swarm-agent-image.ts): the shared conformance suite, then what only Swarm does: the
// job's environment as secrets mounted as files and in no service spec, task or container;
// reservations, limits, constraints and the one-shot mode in the service; orphans found by label; an
// unplaceable task refused; and ten tickets run by the real coordinator and the real agent across
// the swarm with one worker node killed mid-turn (test/swarm-tickets.ts).
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLogger } from '../core/log.ts'
import { dockerSwarm, type DockerSwarmOptions } from '../plugins/executors/docker-swarm/index.ts'
import { JOB_ID_LABEL } from '../plugins/executors/docker/run-container.ts'
import { ensureDocker } from './docker-fixtures.ts'
import { executorConformance, makeSpec, record, SCENARIO_SCRIPT } from './executor-conformance.ts'
import { sleep, waitFor } from './helpers.ts'
import { REGISTRY_BINARY, startTestSwarm, type TestSwarm } from './swarm-fixtures.ts'
import { runSwarmTickets } from './swarm-tickets.ts'
import { assertEveryTicketDone } from './lost-coordinator-fixtures.ts'
import { assertWorldClean } from './secret-scan.ts'

if (!existsSync(REGISTRY_BINARY)) throw new Error(`${REGISTRY_BINARY} is missing: run scripts/provision-docker.sh (it installs Debian's docker-registry)`)
const startedAt = Date.now()
const run = `sw${randomBytes(3).toString('hex')}`
const host = await ensureDocker()
const swarm: TestSwarm = await startTestSwarm(run, host)
const setupSec = (Date.now() - startedAt) / 1000
const COORDINATOR = `swarm-test-${run}`
const LIMITS = { memoryBytes: 256 * 1024 ** 2, cpus: 0.5, pidsLimit: 512 }
const logLines: string[] = []
const log = createLogger('debug', { test: 'docker-swarm' }, (line) => logLines.push(line))
const options = (extra: Partial<DockerSwarmOptions> = {}): DockerSwarmOptions => ({
  dockerHost: swarm.dockerHost, image: swarm.image, coordinatorId: COORDINATOR, log, stopTimeoutSec: 1, pollMs: 250,
  limits: LIMITS, cpuReservation: 0.1, memoryReservation: 64 * 1024 ** 2, constraints: ['node.labels.agents==true'], startTimeoutSec: 120,
  command: ['node', '-e', SCENARIO_SCRIPT], ...extra,
})
let closing = false
const cleanup = async () => {
  if (closing) return
  closing = true
  await swarm.destroy()
  host.close()
  const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(1)
  process.stdout.write(`docker-swarm suite: agent image ${mb(swarm.agentImage.imageBytes)} MB (${mb(swarm.agentImage.pullBytes)} MB pulled per node); setup ${setupSec.toFixed(1)} s (${Object.entries(swarm.timings).map(([step, sec]) => `${step} ${sec.toFixed(1)} s`).join(', ')}), total ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`)
}
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)))

executorConformance({
  name: 'docker-swarm',
  create: (command, conformanceLog) => dockerSwarm({ ...options({ command }), log: conformanceLog }),
  node: 'node',
  // Removing a service and seeing its task down takes a few poll rounds on a swarm.
  stopWithinMs: 8000,
}).run()

const executor = dockerSwarm(options())
const mine = [`terarchitect.coordinator_id=${COORDINATOR}`]

/** Runs `scenario` until `until` is true of the run's service (read while it runs), then aborts it. */
async function whileRunning<T>(env: Record<string, string>, inspect: (serviceId: string) => Promise<T>) {
  const controller = new AbortController()
  const spec = makeSpec({ env: { SCENARIO: 'sleep', ...env } })
  let seen: T | undefined
  const running = record(executor, spec, controller.signal, (chunk) => {
    if (!chunk.text.includes('sleeping') || seen !== undefined) return
    void (async () => {
      const [service] = await swarm.api.serviceList([...mine, `${JOB_ID_LABEL}=${spec.jobId}`])
      seen = await inspect(service!.ID)
      controller.abort()
    })().catch((error: unknown) => {
      seen = error as T
      controller.abort()
    })
  })
  const { result } = await running
  if (seen instanceof Error) throw seen
  return { seen: seen!, result, spec }
}

test('the environment is in secrets mounted as files, and in no service spec, task or container', async () => {
  const secret = `swarm-secret-${randomBytes(12).toString('hex')}`
  const { seen, result, spec } = await whileRunning({ SECRET_TOKEN: secret, EMPTY_ONE: '' }, async (serviceId) => {
    const service = await swarm.api.serviceInspect(serviceId)
    // The manager learns the task runs a moment after its first output does.
    let tasks = await swarm.api.taskList({ service: [serviceId] })
    for (let tries = 0; !tasks.some((candidate) => candidate.Status.State === 'running') && tries < 50; tries++) {
      await sleep(100)
      tasks = await swarm.api.taskList({ service: [serviceId] })
    }
    const task = tasks.find((candidate) => candidate.Status.State === 'running')!
    const worker = swarm.workers.find((candidate) => candidate.nodeId === task.NodeID)
    const containerId = task.Status.ContainerStatus!.ContainerID!
    const container = worker
      ? swarm.dockerOn(worker.containerId, 'inspect', containerId)
      : swarm.docker('inspect', containerId)
    const secrets = await swarm.api.secretList([`${JOB_ID_LABEL}=${service.Spec.Labels[JOB_ID_LABEL]}`])
    const inspectAgain = () => (worker ? swarm.dockerOn(worker.containerId, 'ps', '-q', '--filter', `id=${containerId}`) : swarm.docker('ps', '-q', '--filter', `id=${containerId}`))
    return { service, tasks, container, secrets, inspectAgain }
  })
  assert.is(result.stoppedBy, 'abort')
  // The cancel stopped the agent's container on its node, not only the service.
  assert.is(seen.inspectAgain(), '', 'the task\'s container still runs after the cancel')
  const everything = JSON.stringify([seen.service, seen.tasks]) + seen.container
  assert.ok(seen.container.includes('AGENT_ENV_DIR=/run/secrets'), 'the container inspect was read')
  assert.not.ok(everything.includes(secret), 'the secret is in a service spec, task or container')
  assert.not.ok(everything.includes(Buffer.from(secret).toString('base64')), 'the secret is there in base64')
  const container = seen.service.Spec.TaskTemplate.ContainerSpec
  assert.equal(container.Secrets!.map((reference) => reference.File.Name).sort(), ['SCENARIO', 'SECRET_TOKEN'])
  assert.ok(container.Secrets!.every((reference) => reference.File.Mode === 0o400 && reference.File.UID === '0'))
  assert.ok(container.Env!.includes('EMPTY_ONE='), 'an empty variable is passed as it is (Swarm refuses empty secrets)')
  assert.is(seen.secrets.length, 2, 'one secret per non-empty variable')
  // Removed with the run.
  assert.equal(await swarm.api.secretList([`${JOB_ID_LABEL}=${spec.jobId}`]), [])
  assert.equal(await swarm.api.serviceList([`${JOB_ID_LABEL}=${spec.jobId}`]), [])
  assert.not.ok(logLines.some((line) => line.includes(secret)), 'secret in the executor log')
})

test('one task with no restart, reservations, limits and constraints from settings', async () => {
  const { seen } = await whileRunning({}, (serviceId) => swarm.api.serviceInspect(serviceId))
  const { TaskTemplate, Mode, Labels } = seen.Spec
  // Not a replicated-job: on Docker 20.10 its task outlives its removed service (service-spec.ts).
  assert.equal(Mode, { Replicated: { Replicas: 1 } })
  assert.is(TaskTemplate.RestartPolicy.Condition, 'none')
  assert.equal(TaskTemplate.Resources!.Limits, { NanoCPUs: 5e8, MemoryBytes: LIMITS.memoryBytes, Pids: 512 })
  assert.equal(TaskTemplate.Resources!.Reservations, { NanoCPUs: 1e8, MemoryBytes: 64 * 1024 ** 2 })
  assert.equal(TaskTemplate.Placement!.Constraints, ['node.labels.agents==true'])
  assert.is(Labels['terarchitect.coordinator_id'], COORDINATOR)
})

test('a task no node can take is refused with the scheduler\'s reason, and nothing is left', async () => {
  const unplaceable = dockerSwarm(options({ constraints: ['node.labels.nowhere==true'], startTimeoutSec: 3 }))
  const spec = makeSpec({ env: { SCENARIO: 'exit', EXIT_CODE: '0' } })
  const error = await unplaceable.run(spec, () => {}, new AbortController().signal).then(() => null, (caught: Error) => caught)
  assert.ok(error, 'the run should reject')
  assert.match(error.message, /cannot start: not started within 3 s: .*(no suitable node|constraint)/)
  assert.equal(await swarm.api.serviceList([`${JOB_ID_LABEL}=${spec.jobId}`]), [])
  assert.equal(await swarm.api.secretList([`${JOB_ID_LABEL}=${spec.jobId}`]), [])
})

test('reconcile removes services and secrets of jobs not kept, by label, and keeps the rest', async () => {
  const controller = new AbortController()
  const kept = makeSpec({ env: { SCENARIO: 'sleep' } })
  const orphan = makeSpec({ env: { SCENARIO: 'sleep' } })
  const runs = [kept, orphan].map((spec) => record(executor, spec, controller.signal))
  let orphanRun, keptRun
  try {
    const until = Date.now() + 60000
    while ((await swarm.api.serviceList(mine)).length < 2 && Date.now() < until) await sleep(200)
    const removed = await executor.reconcile!(COORDINATOR, new Set([kept.jobId]))
    assert.ok(removed.length >= 2, `removed ${removed.length}: the orphan's service and its secret`)
    assert.is((await swarm.api.serviceList([`${JOB_ID_LABEL}=${orphan.jobId}`])).length, 0)
    assert.is((await swarm.api.secretList([`${JOB_ID_LABEL}=${orphan.jobId}`])).length, 0)
    assert.is((await swarm.api.serviceList([`${JOB_ID_LABEL}=${kept.jobId}`])).length, 1)
    // The orphan's own run sees its service gone and ends; the kept one runs on until aborted.
    orphanRun = await runs[1]
  } finally {
    controller.abort()
    keptRun = await runs[0]
  }
  assert.is(keptRun!.result.stoppedBy, 'abort')
  assert.is(orphanRun!.result.exitCode, -1)
  // Seen as the task shut down or the service gone, whichever the next poll meets first.
  assert.match(orphanRun!.text('system'), /swarm task ended before its container exited: (its service was removed|the swarm (ended|is ending) its task)/)
})

test('ten tickets by the real coordinator and agent across the three nodes, one node killed mid-turn: its jobs are queued again by themselves, each ticket ends with exactly one PR, never two live agents, no job token in sight', async () => {
  const run = await runSwarmTickets(swarm, { coordinatorId: `${COORDINATOR}-tickets`, count: 10, concurrency: 6, llmDelayMs: 3000 })
  try {
    process.stdout.write(`swarm tickets: ${JSON.stringify({ ...run.figures, samples: run.samples, nodesUsed: run.nodesUsed, secretChecks: run.secretChecks })}\n`)
    // The killed node took at least one agent mid-turn; each such run ended with the node named and
    // its job came back by itself as its next attempt, which finished it (nobody retried it).
    assert.ok(run.lost.length >= 1, 'the killed node took at least one running job with it')
    const victim = swarm.workers[0]!.hostname
    for (const lost of run.lost) {
      assert.match(lost.said, new RegExp(`its node ${victim} is (down|disconnected)`), `job ${lost.jobId} failed for another reason:\n${lost.said.slice(-3000)}`)
      assert.match(lost.said, new RegExp(`run_lost: Its node ${victim} is (down|disconnected)[^\n]*; queued again as attempt 2 of 3`), `job ${lost.jobId} was not queued again by itself:\n${lost.said.slice(-3000)}`)
      assert.is(lost.attempt, 2, `job ${lost.jobId} ran its next attempt`)
    }
    await assertEveryTicketDone(run.world, run.ended)
    for (const ticket of run.eventsPerTicket) {
      assert.ok(ticket.pr && ticket.output, `ticket ${ticket.ticketId}: the agent's PR event and its worker's output streamed from the swarm: ${JSON.stringify(ticket)}`)
    }
    assert.ok(run.samples > 20, `${run.samples} samples`)
    assert.equal(run.overlaps, [], 'two live agents for one ticket')
    assert.ok(run.nodesUsed >= 3, `agents ran on ${run.nodesUsed} nodes`)
    assert.ok(run.secretChecks >= 5, `${run.secretChecks} agent containers checked`)
    assert.equal(run.secretFindings, [], 'a job token in a service spec, task or container')
    await assertWorldClean(run.world, { 'coordinator log': run.coordinatorLines })
    await waitFor(async () => (await swarm.api.serviceList([`terarchitect.coordinator_id=${COORDINATOR}-tickets`])).length === 0, 15_000, 'the coordinator\'s services to be removed')
    assert.equal(await swarm.api.secretList([`terarchitect.coordinator_id=${COORDINATOR}-tickets`]), [], 'secrets left')
  } finally {
    await run.close()
  }
})

test.after(async () => {
  await executor.close?.()
  await cleanup()
})

test.run()
