// project_images.json (core/coordinator/images.ts, choose-image.ts, reset-image.ts): the file's
// rules on their own (operator entries kept, recorded entries marked, atomic writes, two writers),
// then the runbook's promise end to end with the real coordinator process, the real app and dockerd:
// a project keeps the image it succeeded with when AGENT_IMAGE moves to a broken one, a new
// project gets the broken image and fails with its reason (no host fallback), a recorded image that
// is gone means AGENT_IMAGE, and `reset-image` moves the first project too.
import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openProjectImages, PROJECT_IMAGES_FILE } from '../core/coordinator/images.ts'
import { resetImage } from '../core/coordinator/reset-image.ts'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import { PROJECT_IMAGE_REPO, projectImageTag } from '../plugins/executors/docker/project-image.ts'
import {
  WORKER_KEY, enqueue, ensureFakeAgentImage, eventsOf, hostAgentCommand, outputText, project, removeCoordinatorContainers,
  spawnCoordinator, startCoordinatorApp, waitForJob, type CoordinatorProcess, type CoordinatorTestApp,
} from './coordinator-fixtures.ts'
import { contextDir, ensureDocker } from './docker-fixtures.ts'
import { ROOT } from './helpers.ts'
import { assertAppClean } from './secret-scan.ts'

const RUN = randomUUID().slice(0, 8)
const workDir = mkdtempSync(join(tmpdir(), 'terarchitect-images-'))
const fileIn = (dir: string) => JSON.parse(readFileSync(join(dir, PROJECT_IMAGES_FILE), 'utf8'))
const stateDir = () => mkdtempSync(join(workDir, 'state-'))
const ID_A = `sha256:${'a'.repeat(64)}`
const ID_B = `sha256:${'b'.repeat(64)}`

// --- the file's rules ------------------------------------------------------------------------

test('entries: a plain string or an object without "recorded" is the operator\'s; bad entries are ignored', () => {
  const dir = stateDir()
  writeFileSync(join(dir, PROJECT_IMAGES_FILE), JSON.stringify({
    1: 'team/agent:3', 2: { image: 'team/agent:py' }, 3: { image: ID_A, recorded: true, tag: 'terarchitect-agent-project:p3-aaaaaaaaaaaa' },
    4: '', five: 'x:1', 6: 42,
  }))
  const images = openProjectImages(dir)
  assert.equal(images.get(1), { image: 'team/agent:3', recorded: false })
  assert.equal(images.get(2), { image: 'team/agent:py', recorded: false })
  assert.equal(images.get(3), { image: ID_A, recorded: true, tag: 'terarchitect-agent-project:p3-aaaaaaaaaaaa' })
  assert.is(images.get(4), undefined)
  assert.is(images.get(6), undefined)
  assert.is(images.get(7), undefined)
})

test('record: marks its entry, never touches the operator\'s, keeps every other key verbatim, replaces the file by rename', () => {
  const dir = stateDir()
  const original = { 1: 'team/agent:3', 2: { image: 'team/agent:py', note: 'kept' }, five: 'left alone', 6: 42 }
  writeFileSync(join(dir, PROJECT_IMAGES_FILE), JSON.stringify(original))
  // A reader holding the file open keeps the old content: the file is replaced, never rewritten in place.
  const reader = openSync(join(dir, PROJECT_IMAGES_FILE), 'r')
  const images = openProjectImages(dir)
  assert.is(images.record(1, { image: ID_A, from: 'terarchitect-agent' }), 'operator')
  assert.is(images.record(2, { image: ID_A, from: 'terarchitect-agent' }), 'operator')
  assert.equal(fileIn(dir), original, 'an operator entry was changed')
  assert.is(images.record(7, { image: ID_A, from: 'terarchitect-agent', tag: 'terarchitect-agent-project:p7-aaaaaaaaaaaa' }), 'recorded')
  assert.is(images.record(7, { image: ID_A, from: 'terarchitect-agent', tag: 'terarchitect-agent-project:p7-aaaaaaaaaaaa' }), 'unchanged')
  const file = fileIn(dir)
  assert.equal({ ...file, 7: undefined }, { ...original, 7: undefined })
  assert.is(file[7].image, ID_A)
  assert.is(file[7].recorded, true)
  assert.is(file[7].from, 'terarchitect-agent')
  assert.ok(Date.parse(file[7].recorded_at) > 0)
  assert.equal(images.get(7), { image: ID_A, recorded: true, tag: 'terarchitect-agent-project:p7-aaaaaaaaaaaa' }, 'the new content is read back')
  // A recorded entry is the coordinator's own: a later success with another image replaces it.
  assert.is(images.record(7, { image: ID_B, from: 'terarchitect-agent' }), 'recorded')
  assert.is(images.get(7)?.image, ID_B)
  assert.equal(JSON.parse(readFileSync(reader, 'utf8')), original, 'the file was rewritten in place')
  closeSync(reader)
  assert.equal(readdirSync(dir).sort(), [PROJECT_IMAGES_FILE], 'a temp or lock file was left behind')
})

test('record: an unreadable file is never overwritten', () => {
  const dir = stateDir()
  writeFileSync(join(dir, PROJECT_IMAGES_FILE), '{"1": "team/agent:3",')
  const images = openProjectImages(dir)
  assert.is(images.get(1), undefined)
  assert.is(images.record(2, { image: ID_A, from: 'terarchitect-agent' }), 'unreadable')
  assert.is(readFileSync(join(dir, PROJECT_IMAGES_FILE), 'utf8'), '{"1": "team/agent:3",')
})

test('two processes recording at once lose nothing (the writers take the file lock)', async () => {
  const dir = stateDir()
  writeFileSync(join(dir, PROJECT_IMAGES_FILE), JSON.stringify({ 1000: 'operator/image:1' }))
  const writer = (offset: number) => new Promise<number | null>((resolve) => {
    const script = `import { openProjectImages } from './core/coordinator/images.ts'
      const images = openProjectImages(${JSON.stringify(dir)})
      for (let i = 0; i < 30; i++) images.record(${offset} + i, { image: 'sha256:' + String(i).padStart(64, '0'), from: 'x' })`
    spawn(process.execPath, ['--import', './scripts/ts-register.mjs', '--input-type=module', '-e', script], { cwd: ROOT, stdio: 'inherit' })
      .once('exit', resolve)
  })
  assert.equal(await Promise.all([writer(1), writer(101)]), [0, 0])
  const file = fileIn(dir)
  assert.is(Object.keys(file).length, 61, `entries: ${Object.keys(file).join(',')}`)
  assert.is(file[1000], 'operator/image:1')
  assert.equal(readdirSync(dir), [PROJECT_IMAGES_FILE])
})

test('reset-image: drops recorded entries (one project or --all) and their tags, keeps and names operator entries', async () => {
  const dir = stateDir()
  writeFileSync(join(dir, PROJECT_IMAGES_FILE), JSON.stringify({
    1: 'team/agent:3',
    2: { image: ID_A, recorded: true, tag: 'terarchitect-agent-project:p2-aaaaaaaaaaaa' },
    3: { image: ID_B, recorded: true, tag: 'terarchitect-agent-project:p3-bbbbbbbbbbbb' },
  }))
  const lines: string[] = []
  const untagged: string[] = []
  const options = { stateDir: dir, agentImage: 'terarchitect-agent:new', untag: async (tag: string) => void untagged.push(tag), out: (line: string) => lines.push(line) }
  assert.is(await resetImage([], options), 2)
  assert.is(await resetImage(['two'], options), 2)
  assert.match(lines.join('\n'), 'usage: coordinator reset-image')

  lines.length = 0
  assert.is(await resetImage(['2', '1', '9'], options), 0)
  assert.equal(untagged, ['terarchitect-agent-project:p2-aaaaaaaaaaaa'])
  assert.equal(Object.keys(fileIn(dir)).sort(), ['1', '3'])
  const text = lines.join('\n')
  assert.match(text, `project 2: recorded image ${ID_A} dropped; its next job runs AGENT_IMAGE terarchitect-agent:new`)
  assert.match(text, 'project 1: keeps team/agent:3, set by the operator')
  assert.match(text, 'project 9: no image recorded')

  lines.length = 0
  assert.is(await resetImage(['--all'], { ...options, untag: async () => { throw new Error('daemon down') } }), 0)
  assert.equal(fileIn(dir), { 1: 'team/agent:3' })
  assert.match(lines.join('\n'), 'the tag terarchitect-agent-project:p3-bbbbbbbbbbbb could not be removed (daemon down); remove it with: docker image rm')
})

// --- end to end: acceptance 4 ----------------------------------------------------------------

const COORDINATOR_ID = `test-images-${RUN}`
/** AGENT_IMAGE for the coordinator: first image A (works), later retagged to B (broken). */
const AGENT_REPO = 'terarchitect-test-agent-current'
const AGENT_IMAGE = `${AGENT_REPO}:${RUN}`
const BROKEN_REASON = `broken image ${RUN}: the agent cannot start`
let engine: DockerEngine
let app: CoordinatorTestApp
let coordinator: CoordinatorProcess
let imageA: string
let imageB: string

/** An image of its own (a label makes the id unique to this run), tagged only as `tag`. */
async function buildImage(files: Record<string, string>, tag: string): Promise<string> {
  const dir = contextDir(files)
  try {
    await engine.imageBuild(dir, { tag })
    return (await engine.imageInspect(tag)).Id
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const imageOfRun = async (projectId: number, ticketId: number) => {
  const events = await eventsOf(app, projectId, ticketId)
  return { events, text: outputText(events), start: events.find((event) => /agent starting in a container/.test(event.summary))?.summary ?? '' }
}

test('e2e setup: image A (works), image B (its agent exits 1 at start), a coordinator with AGENT_IMAGE → A', async () => {
  engine = await ensureDocker()
  const fake = await ensureFakeAgentImage(engine)
  imageA = await buildImage({ Dockerfile: `FROM ${fake}\nLABEL terarchitect.test-run=${RUN}\n` }, `${AGENT_REPO}:a-${RUN}`)
  imageB = await buildImage({
    Dockerfile: `FROM ${fake}\nLABEL terarchitect.test-run=${RUN}\nCOPY agent.js /app/agent.js\n`,
    'agent.js': `console.error(${JSON.stringify(BROKEN_REASON)}); process.exit(1)\n`,
  }, `${AGENT_REPO}:b-${RUN}`)
  await engine.imageTag(imageA, AGENT_REPO, RUN)
  // Only the run's own tags hold A from now on: after the retag the project tag must keep it.
  await engine.imageRemove(`${AGENT_REPO}:a-${RUN}`)
  app = await startCoordinatorApp()
  coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: app.apiUrl, TERARCHITECT_WORKER_API_KEY: WORKER_KEY, COORDINATOR_ID,
    AGENT_IMAGE, AGENT_CACHE_VOLUME: '', AGENT_HOST_COMMAND: hostAgentCommand(workDir),
    COORDINATOR_REPO_ROOT: join(workDir, 'repos'), MAX_CONCURRENT_AGENTS: '2', CLAIM_WAIT_SEC: '5',
    HEARTBEAT_MAX_SEC: '0.5', DOCKER_CHECK_SEC: '2', SHUTDOWN_GRACE_SEC: '1',
  })
  await coordinator.waitForLog(/^coordinator started$/)
})

let first: { id: number }
test('a project\'s first job succeeds on A; A is recorded by id, tagged for the project', async () => {
  first = await project(app)
  const { ticketId, jobId } = await enqueue(app, first.id)
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'succeeded', JSON.stringify(job))
  const { start } = await imageOfRun(first.id, ticketId)
  assert.match(start, `image ${AGENT_IMAGE} = ${imageA.slice(7, 19)}`)
  const entry = fileIn(coordinator.stateDir)[first.id]
  assert.equal({ image: entry.image, recorded: entry.recorded, from: entry.from, tag: entry.tag },
    { image: imageA, recorded: true, from: AGENT_IMAGE, tag: projectImageTag(imageA, first.id) })
  assert.ok((await engine.imageInspect(imageA)).RepoTags?.includes(entry.tag))
})

test('a recorded image that is gone → AGENT_IMAGE (A), never the host; the record is replaced', async () => {
  const p = await project(app)
  const file = fileIn(coordinator.stateDir)
  writeFileSync(join(coordinator.stateDir, PROJECT_IMAGES_FILE), JSON.stringify({ ...file, [p.id]: { image: `sha256:${'0'.repeat(64)}`, recorded: true } }))
  const { ticketId, jobId } = await enqueue(app, p.id)
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'succeeded', JSON.stringify(job))
  const { events, start } = await imageOfRun(p.id, ticketId)
  assert.ok(events.some((event) => event.summary.includes('the image recorded for this project') && event.summary.includes('is gone; using AGENT_IMAGE')))
  assert.match(start, imageA.slice(7, 19))
  assert.not.ok(events.some((event) => event.summary.includes('running the agent on the host')), 'fell back to the host')
  assert.is(fileIn(coordinator.stateDir)[p.id].image, imageA)
})

test('AGENT_IMAGE retagged to B: the first project still runs A (kept from prune by its tag)', async () => {
  await engine.imageTag(imageB, AGENT_REPO, RUN)
  const tags = (await engine.imageInspect(imageA)).RepoTags ?? []
  assert.not.ok(tags.includes(AGENT_IMAGE))
  assert.ok(tags.length > 0 && tags.every((tag) => tag.startsWith(`${PROJECT_IMAGE_REPO}:`)), `A would be pruned: tags ${tags}`)
  const { ticketId, jobId } = await enqueue(app, first.id)
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'succeeded', JSON.stringify(job))
  const { start, text } = await imageOfRun(first.id, ticketId)
  assert.match(start, `${imageA.slice(7, 19)} recorded for this project; AGENT_IMAGE is ${AGENT_IMAGE}`)
  assert.not.match(text, BROKEN_REASON)
})

test('a new project gets B and its job fails with B\'s reason, with no host fallback; nothing is recorded', async () => {
  const p = await project(app)
  const { ticketId, jobId } = await enqueue(app, p.id)
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'failed')
  assert.is(job.error, 'agent exited with code 1')
  assert.match(job.output_tail ?? '', BROKEN_REASON)
  const { events, start } = await imageOfRun(p.id, ticketId)
  assert.match(start, imageB.slice(7, 19))
  assert.not.ok(events.some((event) => event.summary.includes('running the agent on the host')), 'fell back to the host')
  assert.is(fileIn(coordinator.stateDir)[p.id], undefined)
})

test('after `coordinator reset-image <id>` the first project moves to B too, and A\'s project tag is gone', async () => {
  const result = spawnSync(process.execPath, ['--import', './scripts/ts-register.mjs', 'coordinator.ts', 'reset-image', String(first.id)], {
    cwd: ROOT, encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, COORDINATOR_STATE_DIR: coordinator.stateDir, AGENT_IMAGE },
  })
  assert.is(result.status, 0, result.stderr)
  assert.match(result.stdout, `project ${first.id}: recorded image ${imageA} dropped; its next job runs AGENT_IMAGE ${AGENT_IMAGE}`)
  assert.is(fileIn(coordinator.stateDir)[first.id], undefined)
  assert.not.ok(((await engine.imageInspect(imageA).catch(() => null))?.RepoTags ?? []).includes(projectImageTag(imageA, first.id)))
  const { jobId } = await enqueue(app, first.id)
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'failed')
  assert.match(job.output_tail ?? '', BROKEN_REASON)
})

test('an operator entry is used and never rewritten by a success', async () => {
  const p = await project(app)
  const file = fileIn(coordinator.stateDir)
  const fake = await ensureFakeAgentImage(engine)
  writeFileSync(join(coordinator.stateDir, PROJECT_IMAGES_FILE), JSON.stringify({ ...file, [p.id]: fake }))
  const { jobId } = await enqueue(app, p.id)
  const job = await waitForJob(app, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.is(job.status, 'succeeded', JSON.stringify(job))
  assert.is(fileIn(coordinator.stateDir)[p.id], fake)
  assert.not.ok(coordinator.logs.some((record) => /crashed|unhandled/.test(String(record.msg))), 'a loop crashed')
})

test('nothing the suite stored holds a secret: every table, the app\'s and the coordinators\' logs', async () => {
  await assertAppClean(app, { 'coordinator log': coordinator.lines })
})

test.after(async () => {
  await coordinator?.stop()
  await app?.closeAll()
  if (engine) {
    await removeCoordinatorContainers(engine, [COORDINATOR_ID])
    for (const image of await listRunImages()) await engine.imageRemove(image, { force: true }).catch(() => {})
    engine.close()
  }
  rmSync(workDir, { recursive: true, force: true })
})

/** Every tag this run made (AGENT_IMAGE, project tags of A and B). */
async function listRunImages(): Promise<string[]> {
  const tags: string[] = []
  for (const id of [imageA, imageB]) {
    if (id) tags.push(...(((await engine.imageInspect(id).catch(() => null))?.RepoTags) ?? []))
  }
  return [...new Set([...tags, ...[imageA, imageB].filter(Boolean)])]
}

test.run()
