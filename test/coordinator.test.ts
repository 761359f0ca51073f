// The coordinator end to end: the real entrypoint as a process, the real app, real dockerd and a
// fake agent (test/coordinator-fixtures.ts). Ticket → claim → container → exit → job outcome, with
// output streamed while it runs; cancel in containers and in local mode; the host fallback; secrets.
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { ensureDocker } from './docker-fixtures.ts'
import {
  WORKER_KEY, enqueue, ensureFakeAgentImage, eventsOf, hostAgentCommand, jobOf, outputText, project, spawnCoordinator,
  startCoordinatorApp, waitForJob, type CoordinatorProcess, type CoordinatorTestApp, removeCoordinatorContainers,
} from './coordinator-fixtures.ts'
import { sleep, waitFor } from './helpers.ts'
import { coordinatorForgeToken } from '../core/services/coordinator-forge-token.ts'
import { assertAppClean } from './secret-scan.ts'

const RUN = randomUUID().slice(0, 8)
const COORDINATOR_ID = `test-coordinator-${RUN}`
const CACHE_VOLUME = `terarchitect-test-cache-${RUN}`
const GITHUB_TOKEN = `ghp_${randomBytes(16).toString('hex')}`
const workDir = mkdtempSync(join(tmpdir(), 'terarchitect-coord-'))
const repoRoot = join(workDir, 'repos')
let engine: DockerEngine
let app: CoordinatorTestApp
let coordinator: CoordinatorProcess
let image: string

test.before(async () => {
  engine = await ensureDocker()
  image = await ensureFakeAgentImage(engine)
  // No forge token of the app's own (the test apps' default one unset): the coordinator's is the only one.
  app = await startCoordinatorApp({ GITHUB_TOKEN: '' })
  coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: app.apiUrl,
    TERARCHITECT_WORKER_API_KEY: WORKER_KEY,
    GITHUB_TOKEN,
    COORDINATOR_ID,
    AGENT_IMAGE: image,
    AGENT_CACHE_VOLUME: CACHE_VOLUME,
    AGENT_HOST_COMMAND: hostAgentCommand(workDir),
    COORDINATOR_REPO_ROOT: repoRoot,
    // The host fallback is opt-in; this coordinator turns it on for the fallback test.
    AGENT_FALLBACK_TO_HOST: 'true',
    MAX_CONCURRENT_AGENTS: '2',
    CLAIM_WAIT_SEC: '5',
    HEARTBEAT_MAX_SEC: '0.5',
    DOCKER_CHECK_SEC: '2',
    SHUTDOWN_GRACE_SEC: '1',
    SETTINGS_REFRESH_SEC: '0.5',
  })
  await coordinator.waitForLog(/^coordinator started$/)
  // Runs are refused without a forge token: wait for the hand-over (it precedes the first claim).
  await waitFor(async () => (await app.app.ctx.sql`select 1 from forge_tokens`).length > 0, 15000, 'the coordinator\'s GITHUB_TOKEN in the app')
})

test.after(async () => {
  await coordinator?.stop()
  if (engine) {
    await removeCoordinatorContainers(engine, [COORDINATOR_ID])
    // One cache volume per project: <AGENT_CACHE_VOLUME>-p<project id>.
    const projects = ((await app?.api('GET', '/api/projects'))?.body ?? []) as { id: number }[]
    for (const { id } of Array.isArray(projects) ? projects : []) await engine.volumeRemove(`${CACHE_VOLUME}-p${id}`, { force: true }).catch(() => {})
    engine.close()
  }
  await app?.closeAll()
  rmSync(workDir, { recursive: true, force: true })
})

const containersOf = (jobId: number) => engine.containerList({ all: true, labels: [`terarchitect.job_id=${jobId}`, `terarchitect.coordinator_id=${COORDINATOR_ID}`] })

test('ticket → claim → container → exit 0 → succeeded, with output visible while it runs', async () => {
  const p = await project(app)
  const { ticketId, jobId } = await enqueue(app, p.id, { lines: 16, interval: 250 })
  // Output must show up as job events while the job is still running.
  const seenWhileRunning = await waitFor(async () => {
    const [events, job] = await Promise.all([eventsOf(app, p.id, ticketId), jobOf(app, jobId)])
    if (job.status !== 'running') return job.status === 'pending' ? null : 'ended-first'
    return outputText(events).includes('line 3') ? 'yes' : null
  }, 60000, 'output while running')
  assert.is(seenWhileRunning, 'yes', 'the job ended before any output was visible')
  const [container] = await containersOf(jobId)
  assert.ok(container, 'no labelled container while the job runs')

  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'succeeded', JSON.stringify(job))
  assert.is(job.exit_code, 0)
  assert.is(job.claimed_by, COORDINATOR_ID)
  const events = await eventsOf(app, p.id, ticketId)
  const text = outputText(events)
  assert.match(text, 'worker-context ok', 'the agent reached the app with its job token (loopback URL rewritten)')
  assert.match(text, /line 1\n[\s\S]*line 16\n/)
  assert.ok(events.some((event) => event.step === 'coordinator' && /container \(docker-dind, image /.test(event.summary)), 'no note of the container start')
  assert.ok(events.filter((event) => event.step === 'agent_output').length >= 2, 'output was not sent in batches')
  await waitFor(async () => (await containersOf(jobId)).length === 0, 10000, 'container removed')
})

test('exit 3 → failed with the exit code and the output tail', async () => {
  const p = await project(app)
  const { jobId } = await enqueue(app, p.id, { lines: 2, exit: 3, stderr: 'something broke' })
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'failed')
  assert.is(job.exit_code, 3)
  assert.is(job.error, 'agent exited with code 3')
  assert.match(job.output_tail ?? '', 'something broke')
  assert.match(job.output_tail ?? '', 'agent-exit 3')
})

test('cancel → container stopped within 5 s and the job cancelled', async () => {
  const p = await project(app)
  const { ticketId, jobId } = await enqueue(app, p.id, { lines: 1000, interval: 200 })
  await waitFor(async () => outputText(await eventsOf(app, p.id, ticketId)).includes('line 2'), 60000, 'agent running')
  assert.is((await containersOf(jobId)).length, 1)
  const asked = Date.now()
  assert.is((await app.api('POST', `/api/jobs/${jobId}/cancel`)).status, 200)
  await waitFor(async () => {
    const containers = await containersOf(jobId)
    return containers.every((container) => container.State !== 'running')
  }, 10000, 'container stopped')
  const took = Date.now() - asked
  assert.ok(took < 5000, `container stopped ${took} ms after the cancel`)
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'], 15000)
  assert.is(job.status, 'cancelled')
  const events = await eventsOf(app, p.id, ticketId)
  assert.ok(events.some((event) => event.summary.includes('cancel requested')))
})

/** A pid is gone when it no longer exists or is a zombie waiting for a reaper. */
function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true
  } catch {
    return true
  }
}

test('local mode runs at the project path; cancel kills the whole process tree', async () => {
  const projectPath = mkdtempSync(join(workDir, 'local-project-'))
  const p = await project(app, { execution_mode: 'local', project_path: projectPath })
  const { ticketId, jobId } = await enqueue(app, p.id, { cwd: true, child: true, print: ['EXECUTION_MODE', 'PROJECT_PATH'], lines: 1000, interval: 200 })
  const text = await waitFor(async () => {
    const output = outputText(await eventsOf(app, p.id, ticketId))
    return output.includes('line 2') ? output : null
  }, 30000, 'local agent running')
  assert.match(text, `cwd=${projectPath}\n`)
  assert.match(text, 'EXECUTION_MODE=local\n')
  assert.match(text, `PROJECT_PATH=${projectPath}\n`)
  const grandchild = Number(/grandchild=(\d+)/.exec(text)?.[1])
  assert.ok(grandchild > 0 && !isGone(grandchild), 'grandchild not running')
  assert.is((await containersOf(jobId)).length, 0, 'local mode must not start a container')

  assert.is((await app.api('POST', `/api/jobs/${jobId}/cancel`)).status, 200)
  await waitFor(async () => isGone(grandchild), 5000, `grandchild ${grandchild} gone`)
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'], 15000)
  assert.is(job.status, 'cancelled')
})

test('an image that does not exist → the agent runs on the host with TERARCHITECT_DOCKER_RUN_ERROR', async () => {
  const p = await project(app)
  const missing = `terarchitect-missing:${RUN}`
  // project_images.json gives this project its own (missing) image; the file is re-read on change.
  writeFileSync(join(coordinator.stateDir, 'project_images.json'), JSON.stringify({ [p.id]: missing }))
  const { ticketId, jobId } = await enqueue(app, p.id, { cwd: true, print: ['TERARCHITECT_DOCKER_RUN_ERROR', 'EXECUTION_MODE', 'AGENT_WORKSPACE'] })
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'succeeded', JSON.stringify(job))
  const events = await eventsOf(app, p.id, ticketId)
  const text = outputText(events)
  const runError = /TERARCHITECT_DOCKER_RUN_ERROR=(.*)\n/.exec(text)?.[1] ?? ''
  assert.match(runError, missing, text)
  assert.match(text, `cwd=${repoRoot}/job-${jobId}-`)
  assert.is(/AGENT_WORKSPACE=(.*)\n/.exec(text)?.[1], /cwd=(.*)\n/.exec(text)?.[1], 'the agent is told to work in its fresh directory')
  assert.match(text, 'EXECUTION_MODE=docker\n')
  assert.ok(events.some((event) => event.step === 'coordinator' && event.summary.includes('running the agent on the host')))
  assert.equal(readdirSync(repoRoot).filter((name) => name.startsWith(`job-${jobId}-`)), [], 'fallback work dir left behind')
})

test('the coordinator\'s GITHUB_TOKEN goes to the app, not the agent; no secret is in a job event, log line or state file', async () => {
  const p = await project(app)
  const { ticketId, jobId } = await enqueue(app, p.id, {
    lines: 30, interval: 250, print: ['GITHUB_TOKEN', 'TERARCHITECT_AGENT_TOKEN', 'TERARCHITECT_WORKER_API_KEY'],
  })
  const container = await waitFor(async () => (await containersOf(jobId)).find((c) => c.State === 'running'), 60000, 'running container')
  const env = ((await engine.containerInspect(container.Id)).Config as { Env?: string[] }).Env ?? []
  const agentToken = env.find((entry) => entry.startsWith('TERARCHITECT_AGENT_TOKEN='))?.split('=')[1]
  assert.ok(agentToken?.startsWith('tj1.'), 'the agent got no job token')
  assert.not.ok(env.some((entry) => entry.includes(GITHUB_TOKEN)), 'GITHUB_TOKEN reached the container')
  assert.not.ok(env.some((entry) => entry.includes(WORKER_KEY)), 'the worker key reached the container')
  // Handed to the app once instead (stored encrypted, for this coordinator's projects).
  assert.is(await coordinatorForgeToken(app.app.ctx, p.id), GITHUB_TOKEN)
  assert.ok(env.some((entry) => /^TERARCHITECT_API_URL=http:\/\/host\.docker\.internal:\d+$/.test(entry)), env.join(' '))

  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'succeeded')
  const events = await eventsOf(app, p.id, ticketId)
  const text = outputText(events)
  assert.match(text, 'GITHUB_TOKEN=<unset>\n')
  assert.match(text, 'TERARCHITECT_AGENT_TOKEN=***\n')
  assert.match(text, 'TERARCHITECT_WORKER_API_KEY=<unset>\n')
  const secrets = [GITHUB_TOKEN, agentToken!, WORKER_KEY]
  const haystacks: [string, string][] = [
    ['job events', JSON.stringify(events)],
    ['job output tail', job.output_tail ?? ''],
    ['coordinator log', coordinator.lines.join('\n')],
  ]
  for (const name of readdirSync(coordinator.stateDir)) {
    const path = join(coordinator.stateDir, name)
    if (statSync(path).isFile()) haystacks.push([`state file ${name}`, readFileSync(path, 'utf8')])
  }
  assert.ok(coordinator.lines.length > 20, 'the coordinator logged too little for this check to mean anything')
  for (const [where, text] of haystacks) {
    for (const secret of secrets) assert.not.ok(text.includes(secret), `a secret is in the ${where}`)
  }
})

test('agent containers get the default limits (4g, 2 CPUs at most, 4096 pids) and the project\'s own cache volume', async () => {
  const p = await project(app)
  const { jobId } = await enqueue(app, p.id, { lines: 20, interval: 250 })
  const container = await waitFor(async () => (await containersOf(jobId)).find((c) => c.State === 'running'), 60000, 'running container')
  const host = (await engine.containerInspect(container.Id)).HostConfig
  const cpus = Math.min(2, (await engine.info()).NCPU as number)
  assert.equal([host.Memory, host.NanoCpus, host.PidsLimit], [4 * 1024 ** 3, cpus * 1e9, 4096])
  assert.ok(host.Binds?.includes(`${CACHE_VOLUME}-p${p.id}:/cache`), String(host.Binds))
  assert.is((await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])).status, 'succeeded')
})

/** Memory, NanoCpus and PidsLimit of the job's container while it runs, once it has ended well. */
async function limitsOfJob(t: CoordinatorTestApp, jobId: number, coordinatorId: string) {
  const running = async () => (await engine.containerList({ all: true, labels: [`terarchitect.job_id=${jobId}`, `terarchitect.coordinator_id=${coordinatorId}`] })).find((c) => c.State === 'running')
  const container = await waitFor(running, 60000, 'running container')
  const host = (await engine.containerInspect(container.Id)).HostConfig
  assert.is((await waitForJob(t, jobId, ['succeeded', 'failed', 'cancelled'])).status, 'succeeded')
  return [host.Memory, host.NanoCpus, host.PidsLimit]
}

const limitsLogged = (c: CoordinatorProcess, limits: Record<string, number>) =>
  waitFor(async () => c.logs.some((r) => /^container limits changed/.test(String(r.msg)) && Object.entries(limits).every(([k, v]) => r[k] === v)), 15000, `the coordinator to read ${JSON.stringify(limits)}`)

test('container limits are app settings: a change while the coordinator runs applies to the next container; the coordinator\'s variables win', async () => {
  const MiB = 1024 ** 2
  try {
    for (const [values, expected] of [
      [{ AGENT_MEMORY: '512m', AGENT_CPUS: '1', AGENT_PIDS_LIMIT: '256' }, [512 * MiB, 1e9, 256]],
      [{ AGENT_MEMORY: '300m', AGENT_CPUS: '0.5', AGENT_PIDS_LIMIT: '300' }, [300 * MiB, 0.5e9, 300]],
    ] as const) {
      const set = await app.api('PUT', '/api/settings', { values })
      assert.is(set.status, 200, JSON.stringify(set.body))
      await limitsLogged(coordinator, { memoryBytes: expected[0], pidsLimit: expected[2] })
      const { jobId } = await enqueue(app, (await project(app)).id, { lines: 8, interval: 250 })
      assert.equal(await limitsOfJob(app, jobId, COORDINATOR_ID), expected)
    }
    // Refused at the API like at the coordinator's start, naming the setting.
    for (const [key, value] of [['AGENT_MEMORY', '4 GB'], ['AGENT_CPUS', 'two'], ['AGENT_PIDS_LIMIT', '-1']]) {
      const bad = await app.api('PUT', '/api/settings', { values: { [key!]: value } })
      assert.is(bad.status, 400, `${key}=${value}`)
      assert.match(bad.body.error.message, `/body/values/${key}`)
    }
    // The settings coordinators read carry the limits and no secret.
    const read = await app.api('GET', '/api/worker/settings')
    assert.equal(read.body.container_limits, { memory_bytes: 300 * MiB, cpus: 0.5, pids_limit: 300 })
    assert.not.ok(Object.values(app.secrets).some((secret) => JSON.stringify(read.body).includes(secret)))

    // A coordinator started with AGENT_MEMORY and AGENT_PIDS_LIMIT keeps them over the app's; AGENT_CPUS comes from the app.
    const own = await startCoordinatorApp()
    const ownId = `${COORDINATOR_ID}-env`
    const pinned = spawnCoordinator({
      TERARCHITECT_API_URL: own.apiUrl, TERARCHITECT_WORKER_API_KEY: WORKER_KEY, COORDINATOR_ID: ownId, AGENT_IMAGE: image,
      AGENT_CACHE_VOLUME: '', AGENT_HOST_COMMAND: hostAgentCommand(workDir), CLAIM_WAIT_SEC: '5', HEARTBEAT_MAX_SEC: '0.5',
      SETTINGS_REFRESH_SEC: '0.5', AGENT_MEMORY: '256m', AGENT_PIDS_LIMIT: '128',
    })
    try {
      await pinned.waitForLog(/^coordinator started$/)
      assert.is((await own.api('PUT', '/api/settings', { values: { AGENT_MEMORY: '1g', AGENT_CPUS: '1', AGENT_PIDS_LIMIT: '512' } })).status, 200)
      await limitsLogged(pinned, { memoryBytes: 256 * MiB, cpus: 1, pidsLimit: 128 })
      const { jobId } = await enqueue(own, (await project(own)).id, { lines: 8, interval: 250 })
      assert.equal(await limitsOfJob(own, jobId, ownId), [256 * MiB, 1e9, 128])
    } finally {
      await pinned.stop()
      await removeCoordinatorContainers(engine, [ownId])
      await own.closeAll()
    }
  } finally {
    await app.api('PUT', '/api/settings', { values: { AGENT_MEMORY: null, AGENT_CPUS: null, AGENT_PIDS_LIMIT: null } })
  }
})

test('container settings: defaults, sizes, runtime; refused values name their variable', () => {
  const base = { TERARCHITECT_WORKER_API_KEY: WORKER_KEY }
  const defaults = resolveCoordinatorConfig(base)
  assert.equal([defaults.containerLimits, defaults.containerLimitOverrides, defaults.AGENT_RUNTIME], [{ memoryBytes: 4 * 1024 ** 3, cpus: 2, pidsLimit: 4096 }, {}, undefined])
  const custom = resolveCoordinatorConfig({ ...base, AGENT_MEMORY: '512m', AGENT_CPUS: '1.5', AGENT_PIDS_LIMIT: '0', AGENT_RUNTIME: 'sysbox-runc', AGENT_IMAGE: `registry.example:5000/team/agent:3@sha256:${'a'.repeat(64)}` })
  assert.equal([custom.containerLimitOverrides, custom.AGENT_RUNTIME], [{ memoryBytes: 512 * 1024 ** 2, cpus: 1.5, pidsLimit: 0 }, 'sysbox-runc'])
  assert.equal(resolveCoordinatorConfig({ ...base, AGENT_MEMORY: '0' }).containerLimits, { memoryBytes: 0, cpus: 2, pidsLimit: 4096 })
  assert.is(resolveCoordinatorConfig({ ...base, AGENT_IMAGE: `sha256:${'b'.repeat(64)}` }).AGENT_IMAGE, `sha256:${'b'.repeat(64)}`)
  for (const [name, value] of [
    ['AGENT_MEMORY', '4096'], ['AGENT_MEMORY', '4 g'], ['AGENT_MEMORY_MB', '4096'], ['AGENT_RUNTIME', 'sysbox runc'],
    ['AGENT_CPUS', '-1'], ['AGENT_CPUS', 'two'], ['AGENT_PIDS_LIMIT', '1.5'], ['AGENT_PIDS_LIMIT', '-1'],
    ['AGENT_IMAGE', 'Team/Agent'], ['AGENT_IMAGE', 'agent:3 # pinned'], ['AGENT_CACHE_VOLUME', '-cache'],
  ]) {
    assert.throws(() => resolveCoordinatorConfig({ ...base, [name!]: value! }), (error: Error) => error.message.includes(`${name}: `), `${name}=${value}`)
  }
})

test('a bad AGENT_IMAGE, AGENT_CACHE_VOLUME or AGENT_MEMORY stops the start with the variable named', async () => {
  for (const [name, value] of [['AGENT_IMAGE', 'terarchitect-agent # the agent'], ['AGENT_IMAGE', 'terarchitect-agent '], ['AGENT_CACHE_VOLUME', 'cache # per project'], ['AGENT_MEMORY', '4 GB']]) {
    const bad = spawnCoordinator({ TERARCHITECT_API_URL: app.apiUrl, TERARCHITECT_WORKER_API_KEY: WORKER_KEY, [name!]: value! })
    assert.is(await bad.exited, 1, `${name}=${JSON.stringify(value)} was accepted`)
    assert.match(bad.lines.join('\n'), `invalid configuration: ${name}: `)
    rmSync(bad.stateDir, { recursive: true, force: true })
  }
})

test('nothing the suite stored holds a secret: every table, the app\'s and the coordinators\' logs', async () => {
  await assertAppClean(app, { 'coordinator log': coordinator.lines }, { extra: { 'coordinator GITHUB_TOKEN': GITHUB_TOKEN } })
})

test('the coordinator is still up and reports no crash', async () => {
  await sleep(100)
  assert.is(coordinator.child.exitCode, null)
  assert.not.ok(coordinator.logs.some((record) => /crashed|unhandled/.test(String(record.msg))), 'a loop crashed')
})

test.run()
