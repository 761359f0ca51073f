// The hand-written Engine API client against the real dockerd (provisioned on demand), plus the
// stream parsers on synthetic input.
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { Readable } from 'node:stream'
import { pack } from 'tar-fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { compareVersions, type DockerEngine } from '../plugins/executors/docker/engine.ts'
import { DockerError, isDockerError } from '../plugins/executors/docker/errors.ts'
import { LogDemuxer, readJsonLines, type LogFrame } from '../plugins/executors/docker/streams.ts'
import { parseDockerHost } from '../plugins/executors/docker/transport.ts'
import { BASE_IMAGE, contextDir, ensureDocker } from './docker-fixtures.ts'

const RUN = randomUUID().slice(0, 8)
const LABEL = `terarchitect.test-run=${RUN}`
let engine: DockerEngine
const images: string[] = []
const containers: string[] = []
const volumes: string[] = []

/** Creates a container from the base image labelled with this run; remembered for cleanup. */
async function create(cmd: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const { Id } = await engine.containerCreate({
    Image: BASE_IMAGE, Cmd: cmd, Labels: { 'terarchitect.test-run': RUN }, HostConfig: { Init: true }, ...extra,
  })
  containers.push(Id)
  return Id
}

async function rejects(promise: Promise<unknown>): Promise<DockerError> {
  try {
    await promise
  } catch (error) {
    assert.instance(error, DockerError)
    return error as DockerError
  }
  assert.unreachable('expected a rejection')
  throw new Error('unreachable')
}

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

test.before(async () => {
  engine = await ensureDocker()
})

test.after(async () => {
  for (const id of containers) await engine.containerRemove(id, { force: true, volumes: true }).catch(() => {})
  for (const name of volumes) await engine.volumeRemove(name, { force: true }).catch(() => {})
  for (const name of images) await engine.imageRemove(name, { force: true }).catch(() => {})
  engine.close()
})

test('parseDockerHost: default socket, unix://, tcp://, rejects others', () => {
  assert.equal(parseDockerHost(undefined), { socketPath: '/var/run/docker.sock' })
  assert.equal(parseDockerHost('unix:///run/user/0/docker.sock'), { socketPath: '/run/user/0/docker.sock' })
  assert.equal(parseDockerHost('tcp://10.0.0.5:2375'), { host: '10.0.0.5', port: 2375 })
  assert.equal(parseDockerHost('tcp://docker'), { host: 'docker', port: 2375 })
  assert.throws(() => parseDockerHost('npipe:////./pipe/docker_engine'), /unsupported DOCKER_HOST/)
})

test('demuxer: frames split at every byte boundary come out whole and in order', () => {
  const stream = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, ''), frame(1, 'wörld\n')])
  const expected = [['stdout', 'hello '], ['stderr', 'oops\n'], ['stdout', ''], ['stdout', 'wörld\n']]
  for (let cut = 0; cut <= stream.length; cut++) {
    const demuxer = new LogDemuxer()
    const frames: LogFrame[] = [...demuxer.push(stream.subarray(0, cut)), ...demuxer.push(stream.subarray(cut))]
    assert.equal(frames.map((f) => [f.stream, f.data.toString()]), expected, `cut at ${cut}`)
    assert.is(demuxer.pendingBytes, 0)
  }
  // one byte at a time
  const demuxer = new LogDemuxer()
  const frames = [...stream].flatMap((byte) => demuxer.push(Buffer.from([byte])))
  assert.equal(frames.map((f) => [f.stream, f.data.toString()]), expected)
})

test('readJsonLines: joins split lines, throws on an error line inside the stream', async () => {
  const ok = await readJsonLines(Readable.from([Buffer.from('{"stream":"a"}\n{"str'), Buffer.from('eam":"b"}\n')]))
  assert.equal(ok.map((m) => m.stream), ['a', 'b'])
  const failing = Readable.from([Buffer.from('{"stream":"Step 1"}\n{"errorDetail":{"message":"boom"},"error":"boom"}\n')])
  const error = await rejects(readJsonLines(failing))
  assert.is(error.code, 'docker_stream_error')
  assert.is(error.message, 'boom')
})

test('version check: the daemon speaks API >= 1.41; ping answers OK', async () => {
  assert.is(await engine.ping(), 'OK')
  const version = await engine.checkVersion()
  assert.ok(compareVersions(version.ApiVersion, '1.41') >= 0, version.ApiVersion)
  assert.ok(compareVersions('1.9', '1.41') < 0)
  const info = await engine.info()
  assert.type(info.ServerVersion, 'string')
})

test('build: a tiny image FROM the base image, from a tar context', async () => {
  const dir = contextDir({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN echo built-${RUN} > /built.txt\nLABEL terarchitect.test-run=${RUN}\n` })
  const tag = `terarchitect-test-engine:${RUN}`
  const progress: string[] = []
  try {
    const { id } = await engine.imageBuild(dir, { tag, onProgress: (line) => progress.push(line) })
    images.push(tag)
    const image = await engine.imageInspect(tag)
    assert.is(image.Id, id)
    assert.is(image.Config?.Labels?.['terarchitect.test-run'], RUN)
    assert.ok(progress.some((line) => line.includes('Step 2/3')), progress.join(''))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('build: a RUN step failing inside the HTTP 200 is a typed error', async () => {
  const dir = contextDir({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN exit 7\n` })
  try {
    const error = await rejects(engine.imageBuild(dir, { tag: `terarchitect-test-failing:${RUN}` }))
    assert.is(error.code, 'docker_stream_error')
    assert.is(error.status, 200)
    assert.match(error.message, /returned a non-zero code: 7/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('import: a root filesystem tar becomes an image; a broken tar is a typed error', async () => {
  const dir = contextDir({ 'hello.txt': 'hi\n' })
  try {
    const repo = 'terarchitect-test-import'
    const { id } = await engine.imageImport(pack(dir), { repo, tag: RUN, changes: ['LABEL imported=yes'] })
    images.push(`${repo}:${RUN}`)
    const image = await engine.imageInspect(`${repo}:${RUN}`)
    assert.is(image.Id, id)
    assert.is(image.Config?.Labels?.imported, 'yes')
    const error = await rejects(engine.imageImport(Readable.from([Buffer.from('not a tar')]), { repo, tag: `${RUN}-bad` }))
    assert.ok(error.status === 500 || error.code === 'docker_stream_error', `${error.code} ${error.status}`)
    assert.match(error.message, /tar/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('run: wait before start, logs demultiplexed, exit code propagated', async () => {
  const id = await create(['sh', '-c', 'echo out1; echo err1 >&2; echo out2; exit 5'])
  const waiter = await engine.containerWait(id, { condition: 'next-exit' })
  await engine.containerStart(id)
  const result = await waiter.result
  assert.is(result.statusCode, 5)
  const frames: LogFrame[] = []
  await engine.containerLogs(id, { follow: true }, (f) => frames.push(f))
  const text = (stream: string) => frames.filter((f) => f.stream === stream).map((f) => f.data.toString()).join('')
  assert.is(text('stdout'), 'out1\nout2\n')
  assert.is(text('stderr'), 'err1\n')
  assert.is((await engine.containerInspect(id)).State.ExitCode, 5)
})

test('logs: a TTY container is read raw, not demultiplexed', async () => {
  const id = await create(['sh', '-c', 'printf tty-out'], { Tty: true })
  const waiter = await engine.containerWait(id)
  await engine.containerStart(id)
  assert.is((await waiter.result).statusCode, 0)
  const frames: LogFrame[] = []
  await engine.containerLogs(id, { tty: true }, (f) => frames.push(f))
  assert.is(Buffer.concat(frames.map((f) => f.data)).toString(), 'tty-out')
})

test('labels: list by label finds exactly this run\'s containers', async () => {
  const id = await create(['true'], { Labels: { 'terarchitect.test-run': RUN, 'terarchitect.job_id': '42' } })
  const found = await engine.containerList({ all: true, labels: [LABEL, 'terarchitect.job_id=42'] })
  assert.equal(found.map((c) => c.Id), [id])
  assert.is(found[0]!.Labels['terarchitect.job_id'], '42')
  assert.equal(await engine.containerList({ all: true, labels: [`terarchitect.test-run=${RUN}-other`] }), [])
})

test('stop: a running container stops within its timeout; stop again is not an error', async () => {
  const id = await create(['sleep', '60'])
  const waiter = await engine.containerWait(id)
  await engine.containerStart(id)
  const started = Date.now()
  await engine.containerStop(id, { timeoutSec: 1 })
  const result = await waiter.result
  assert.ok(Date.now() - started < 3000, `stop took ${Date.now() - started} ms`)
  assert.ok(result.statusCode === 143 || result.statusCode === 137, String(result.statusCode))
  await engine.containerStop(id) // 304: already stopped
})

test('kill: SIGKILL gives 137; kill of a stopped container is a conflict', async () => {
  const id = await create(['sleep', '60'])
  const waiter = await engine.containerWait(id)
  await engine.containerStart(id)
  await engine.containerKill(id, { signal: 'SIGKILL' })
  assert.is((await waiter.result).statusCode, 137)
  assert.is((await rejects(engine.containerKill(id))).code, 'docker_conflict')
})

test('remove: force-removes a running container; it is then not found', async () => {
  const id = await create(['sleep', '60'])
  await engine.containerStart(id)
  await engine.containerRemove(id, { force: true, volumes: true })
  const error = await rejects(engine.containerInspect(id))
  assert.is(error.code, 'docker_not_found')
  assert.is(error.status, 404)
})

test('volumes: create, inspect, remove', async () => {
  const name = `terarchitect-test-${RUN}`
  volumes.push(name)
  const created = await engine.volumeCreate({ Name: name, Labels: { 'terarchitect.test-run': RUN } })
  assert.is(created.Name, name)
  assert.is((await engine.volumeInspect(name)).Labels?.['terarchitect.test-run'], RUN)
  await engine.volumeRemove(name)
  assert.is((await rejects(engine.volumeInspect(name))).code, 'docker_not_found')
})

test('image not found is a typed error with the daemon\'s message', async () => {
  const error = await rejects(engine.imageInspect(`terarchitect-missing:${RUN}`))
  assert.is(error.code, 'docker_not_found')
  assert.is(error.status, 404)
  assert.match(error.message, /No such image/)
  const create = await rejects(engine.containerCreate({ Image: `terarchitect-missing:${RUN}` }))
  assert.ok(isDockerError(create, 'docker_not_found'))
})

test('unreachable daemon is a typed error', async () => {
  const { createDockerEngine } = await import('../plugins/executors/docker/engine.ts')
  const nowhere = createDockerEngine({ dockerHost: `unix:///tmp/no-docker-${RUN}.sock` })
  const error = await rejects(nowhere.ping())
  assert.is(error.code, 'docker_unreachable')
  nowhere.close()
})

test.run()
