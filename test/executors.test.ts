// Every executor against the conformance suite, then what only one of them does: nested docker in
// docker-dind, a sibling container through docker-dood's socket, process-group kill in local.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Executor } from '../core/executor.ts'
import { createLogger } from '../core/log.ts'
import { dockerDind } from '../plugins/executors/docker/dind.ts'
import { dockerDood } from '../plugins/executors/docker/dood.ts'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import { DockerError } from '../plugins/executors/docker/errors.ts'
import { cacheVolumeName } from '../plugins/executors/docker/run-container.ts'
import type { ContainerInfo } from '../plugins/executors/docker/types.ts'
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
  for (const projectId of [1, 2, 3]) await engine.volumeRemove(cacheVolumeName(CACHE_VOLUME, projectId), { force: true }).catch(() => {})
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

/**
 * What the kernel enforces inside a container: the cgroup memory and pids limits (v1 or v2 paths),
 * the CPU quota, NoNewPrivs, and what the project's /cache holds (then it leaves a file there).
 */
const LIMITS_PROBE = ['sh', '-c', [
  'echo "memory=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
  'echo "pids=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)"',
  'echo "cpu=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us))"',
  'grep NoNewPrivs /proc/self/status', 'echo "cache=$(ls /cache | tr "\\n" " ")"', 'touch "/cache/from-project-$PROJECT"', 'sleep 1',
].join('; ')]

/** Runs LIMITS_PROBE for `projectId`, inspecting the container while it runs. */
async function runAndInspect(executor: Executor, projectId: number) {
  const engine = await docker()
  const spec = makeSpec({ projectId, env: { PROJECT: String(projectId) }, labels: { 'terarchitect.test-run': RUN } })
  let inspected: Promise<ContainerInfo> | undefined
  const run = await record(executor, spec, undefined, () => {
    inspected ??= engine.containerList({ labels: [`terarchitect.job_id=${spec.jobId}`] }).then(([c]) => engine.containerInspect(c!.Id))
  })
  assert.equal(run.result, { exitCode: 0 }, run.text())
  const out = run.text('stdout')
  const value = (key: string) => new RegExp(`${key}[=:]\\s*(.*)\\n`).exec(out)?.[1]?.trim()
  return { out, value, host: (await inspected!).HostConfig }
}

test('docker-dood: memory, CPU and pids limits, no-new-privileges, the runtime and a cache volume per project', async () => {
  const engine = await docker()
  const cpus = (await engine.info()).NCPU as number
  const limited = dockerDood({ ...common, engine, log, memoryBytes: 256 * 1024 ** 2, cpus: cpus + 8, pidsLimit: 300, runtime: 'runc', command: LIMITS_PROBE })
  const first = await runAndInspect(limited, 2)
  assert.is(first.host.Memory, 256 * 1024 ** 2)
  assert.is(first.host.NanoCpus, cpus * 1e9, 'a CPU limit above the daemon\'s count is capped (the daemon refuses it otherwise)')
  assert.is(first.host.PidsLimit, 300)
  assert.is(first.host.Runtime, 'runc')
  assert.ok(first.host.SecurityOpt?.includes('no-new-privileges:true'), String(first.host.SecurityOpt))
  assert.not.ok(first.host.Privileged)
  assert.ok(first.host.Binds?.includes(`${CACHE_VOLUME}-p2:/cache`), String(first.host.Binds))
  assert.ok(first.host.Binds?.includes('/var/run/docker.sock:/var/run/docker.sock'), String(first.host.Binds))
  assert.is(first.value('memory'), String(256 * 1024 ** 2))
  assert.is(first.value('pids'), '300')
  assert.match(first.value('cpu') ?? '', /^\d+ \d+$/)
  assert.is(first.value('NoNewPrivs'), '1')
  assert.is(first.value('cache'), '')

  // The same project finds its cache again; another project gets its own, empty one.
  const plain = dockerDood({ ...common, engine, log, command: LIMITS_PROBE })
  assert.is((await runAndInspect(plain, 2)).value('cache'), 'from-project-2')
  const other = await runAndInspect(plain, 3)
  assert.is(other.value('cache'), '')
  assert.ok(other.host.Binds?.includes(`${CACHE_VOLUME}-p3:/cache`), String(other.host.Binds))
  assert.is(other.host.Memory ?? 0, 0, 'no limit given: none set')
})

test('docker-dind: with a runtime the container gets no extra privileges; limits apply; no no-new-privileges', async () => {
  const { host, value } = await runAndInspect(dockerDind({
    ...common, engine: await docker(), log, memoryBytes: 512 * 1024 ** 2, cpus: 1, pidsLimit: 500, runtime: 'runc', command: LIMITS_PROBE,
  }), 2)
  assert.is(host.Runtime, 'runc')
  assert.not.ok(host.Privileged)
  assert.is(host.CapAdd ?? null, null)
  assert.not.ok((host.SecurityOpt ?? []).some((option) => option.startsWith('no-new-privileges')))
  assert.equal([host.Memory, host.NanoCpus, host.PidsLimit], [512 * 1024 ** 2, 1e9, 500])
  assert.is(value('pids'), '500')
  assert.is(value('NoNewPrivs'), '0')
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
