// Every executor against the conformance suite, then what only one of them does: nested docker in
// docker-dind, a sibling container through docker-dood's socket, process-group kill in local.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLogger } from '../core/log.ts'
import { dockerDind } from '../plugins/executors/docker/dind.ts'
import { dockerDood } from '../plugins/executors/docker/dood.ts'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import { DockerError } from '../plugins/executors/docker/errors.ts'
import { local } from '../plugins/executors/local.ts'
import { BASE_IMAGE, ensureDindTestImage, ensureDocker, NESTED_DOCKER_RUN } from './docker-fixtures.ts'
import { executorConformance, makeSpec, record } from './executor-conformance.ts'

const RUN = randomUUID().slice(0, 8)
const CACHE_VOLUME = `terarchitect-test-cache-${RUN}`
const COORDINATOR = `test-coordinator-${RUN}`
const projectDir = mkdtempSync(join(tmpdir(), 'terarchitect-local-'))
let engine: DockerEngine | undefined
const docker = async () => (engine ??= await ensureDocker())
const common = { image: BASE_IMAGE, cacheVolume: CACHE_VOLUME, coordinatorId: COORDINATOR }

executorConformance({
  name: 'docker-dind',
  node: 'node',
  create: async (command, log) => dockerDind({ ...common, engine: await docker(), command, log }),
}).run()

executorConformance({
  name: 'docker-dood',
  node: 'node',
  create: async (command, log) => dockerDood({ ...common, engine: await docker(), command, log }),
}).run()

executorConformance({
  name: 'local',
  node: process.execPath,
  spec: { executionMode: 'local', projectPath: projectDir },
  create: (command, log) => local({ command, log, killGraceMs: 1000 }),
}).run()

const logLines: string[] = []
const log = createLogger('debug', {}, (line) => logLines.push(line))

test.after(async () => {
  rmSync(projectDir, { recursive: true, force: true })
  if (!engine) return
  for (const c of await engine.containerList({ all: true, labels: [`terarchitect.test-run=${RUN}`] })) {
    await engine.containerRemove(c.Id, { force: true, volumes: true }).catch(() => {})
  }
  await engine.volumeRemove(CACHE_VOLUME, { force: true }).catch(() => {})
  engine.close()
})

test('docker-dind: a nested `docker run` works inside the job container', async () => {
  const engine = await docker()
  const image = await ensureDindTestImage(engine)
  const executor = dockerDind({ ...common, engine, image, log, command: ['dind-entrypoint.sh', 'sh', '-c', NESTED_DOCKER_RUN] })
  const run = await record(executor, makeSpec({ timeoutMs: 120_000 }))
  assert.equal(run.result, { exitCode: 0 }, run.text())
  assert.match(run.text('stdout'), 'nested-ok')
  // This host refuses --privileged; the executor must have fallen back and said so.
  const messages = logLines.map((line) => JSON.parse(line) as { msg: string; error?: string })
  const choice = messages.find((record) => record.msg.startsWith('dind:'))
  assert.ok(choice, 'dind did not log its choice')
  process.stderr.write(`  dind choice on this host: ${choice.msg}\n`)
})

test('docker: containers are labelled, removed after the run, and reconcile removes orphans', async () => {
  const engine = await docker()
  const executor = dockerDood({ ...common, engine, log, command: ['sh', '-c', 'echo labelled'] })
  const spec = makeSpec({ labels: { 'terarchitect.test-run': RUN } })
  assert.equal((await record(executor, spec)).result, { exitCode: 0 })
  assert.equal(await engine.containerList({ all: true, labels: [`terarchitect.job_id=${spec.jobId}`] }), [])

  // Orphans: containers left by a "previous life" of this coordinator, one still held.
  const orphan = async (jobId: number) => (await engine.containerCreate({
    Image: BASE_IMAGE, Cmd: ['sleep', '60'],
    Labels: { 'terarchitect.job_id': String(jobId), 'terarchitect.coordinator_id': COORDINATOR, 'terarchitect.test-run': RUN },
  })).Id
  const held = await orphan(1)
  const stale = await orphan(2)
  await engine.containerStart(stale)
  const removed = await executor.reconcile!(COORDINATOR, new Set([1]))
  assert.equal(removed, [stale])
  assert.is((await engine.containerInspect(held)).Id, held)
})

test('docker-dood: a sibling container started through the mounted socket is on the host daemon', async () => {
  const engine = await docker()
  const image = await ensureDindTestImage(engine) // only for its docker CLI; no dockerd is started
  const label = `terarchitect.test-run=${RUN}`
  const executor = dockerDood({
    ...common, engine, image, log,
    command: ['docker', 'create', '--label', label, '--label', 'terarchitect.test-sibling=yes', BASE_IMAGE, 'true'],
  })
  const run = await record(executor, makeSpec())
  assert.equal(run.result, { exitCode: 0 }, run.text())
  const siblings = await engine.containerList({ all: true, labels: [label, 'terarchitect.test-sibling=yes'] })
  assert.is(siblings.length, 1)
  assert.ok(run.text('stdout').startsWith(siblings[0]!.Id), run.text())
})

test('docker-dood: without the socket, DOCKER_HOST is passed through for a sidecar', async () => {
  const executor = dockerDood({
    ...common, engine: await docker(), log, mountSocket: false, agentDockerHost: 'tcp://docker-sidecar:2375',
    command: ['sh', '-c', 'echo "host=$DOCKER_HOST"; test -S /var/run/docker.sock || echo no-socket'],
  })
  const run = await record(executor, makeSpec())
  assert.match(run.text('stdout'), 'host=tcp://docker-sidecar:2375')
  assert.match(run.text('stdout'), 'no-socket')
})

test('docker: a loopback URL in the env reaches a host server through host.docker.internal', async () => {
  const server = createServer((_request, response) => response.end(`pong-${RUN}`))
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
  const port = (server.address() as { port: number }).port
  try {
    const executor = dockerDood({
      ...common, engine: await docker(), log,
      command: ['node', '-e', 'fetch(process.env.API_URL).then(r => r.text()).then(t => console.log(process.env.API_URL, t))'],
    })
    const run = await record(executor, makeSpec({ env: { API_URL: `http://127.0.0.1:${port}/api`, NOTE: 'see http://localhost' } }))
    assert.equal(run.result, { exitCode: 0 }, run.text())
    assert.match(run.text('stdout'), `http://host.docker.internal:${port}/api pong-${RUN}`)
  } finally {
    server.close()
  }
})

/** A pid is gone when it no longer exists or is a zombie waiting for a reaper. */
function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true
  } catch {
    return true
  }
}

test('local: cancel kills the whole process group, grandchild included', async () => {
  const script = `
    const child = require('child_process').spawn('sleep', ['60'], { stdio: 'ignore' })
    console.log('grandchild=' + child.pid)
    setTimeout(() => {}, 60000)`
  const executor = local({ command: [process.execPath, '-e', script], log, killGraceMs: 1000 })
  const controller = new AbortController()
  let grandchild = 0
  const run = await record(executor, makeSpec({ projectPath: projectDir }), controller.signal, (chunk) => {
    const match = /grandchild=(\d+)/.exec(chunk.text)
    if (match) {
      grandchild = Number(match[1])
      assert.not.ok(isGone(grandchild), 'grandchild not running before the cancel')
      controller.abort()
    }
  })
  assert.is(run.result.stoppedBy, 'abort')
  assert.ok(grandchild > 0)
  const deadline = Date.now() + 3000
  while (!isGone(grandchild) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.ok(isGone(grandchild), `grandchild ${grandchild} survived the cancel`)
})

test('local: runs in the project path, with the job env over a minimal base', async () => {
  const executor = local({
    command: [process.execPath, '-e', 'console.log(process.cwd(), process.env.JOB_VALUE, process.env.NOT_PASSED)'], log,
  })
  process.env.NOT_PASSED = 'host-only'
  try {
    const run = await record(executor, makeSpec({ projectPath: projectDir, env: { JOB_VALUE: 'job' } }))
    assert.is(run.text('stdout').trim(), `${projectDir} job undefined`)
  } finally {
    delete process.env.NOT_PASSED
  }
})

test('local: probe says unavailable and run rejects when the command is missing', async () => {
  const executor = local({ command: ['/nonexistent/agent'], log })
  assert.equal((await executor.probe()).ok, false)
  try {
    await executor.run(makeSpec({ projectPath: projectDir }), () => {}, new AbortController().signal)
    assert.unreachable('run resolved')
  } catch (error) {
    assert.is((error as NodeJS.ErrnoException).code, 'ENOENT')
  }
})

test('docker: probe says unavailable and run rejects when the image is missing', async () => {
  const executor = dockerDind({ ...common, engine: await docker(), log, image: `terarchitect-missing:${RUN}` })
  const probe = await executor.probe()
  assert.equal(probe, { ok: false, reason: `image terarchitect-missing:${RUN} not found` })
  try {
    await executor.run(makeSpec(), () => {}, new AbortController().signal)
    assert.unreachable('run resolved')
  } catch (error) {
    assert.instance(error, DockerError)
    assert.is((error as DockerError).code, 'docker_not_found')
  }
})

test.run()
