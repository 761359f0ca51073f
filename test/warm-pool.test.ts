// test-runner: slow
/**
 * The warm pool (AGENT_WARM_POOL), end to end: the real coordinator process (docker-dood, the git
 * cache on) against a real app, the real agent in a slim image (the base image, the agent bundle of
 * these sources, the image's entrypoint and the Aider stand-in as the worker CLI). Proves: a claim
 * with an empty pool starts cold and the pool fills; the next job is handed to the warm container
 * (PR right; the workspace it cloned from the git mirror while it waited is the one the job
 * works in), whose spec never holds the job's data or a secret, and which serves that one job and
 * is removed while the pool refills; a moved image reference replaces the warm containers; a cancel
 * stops a warm container's job as it stops a cold one; a coordinator killed with kill -9 leaves its pool to the next process's reconcile; AGENT_WARM_POOL=0
 * keeps none.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { build } from 'esbuild'
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import type { ContainerInfo } from '../plugins/executors/docker/types.ts'
import { PROJECT_IMAGES_FILE } from '../core/coordinator/images.ts'
import { PREPARED_LINE } from '../core/agent/wait-job.ts'
import { createTicket, getTicket, remoteGit, startWorld, ticketEvents, writeAiderStub, type World } from './bench/agent-harness.ts'
import { removeCoordinatorContainers, spawnCoordinator, type CoordinatorProcess } from './coordinator-fixtures.ts'
import { BASE_IMAGE, ensureDocker } from './docker-fixtures.ts'
import { ROOT, waitFor } from './helpers.ts'

const RUN = `${process.pid}-${Date.now().toString(36)}`
const REPO = `terarchitect-test-warm-${RUN}`
const COORDINATOR_ID = `warm-pool-${RUN}`
const CACHE_PREFIX = `terarchitect-test-warm-${RUN}`
const scratch = mkdtempSync(join(tmpdir(), 'warm-pool-'))
const stateDir = mkdtempSync(join(scratch, 'state-'))
let engine: DockerEngine
let world: World
let imageA = ''
let imageB = ''
let coordinator: CoordinatorProcess | undefined

/** The slim agent image: `variant` only changes a label, so A and B are two image ids. */
async function buildSlimImage(variant: string): Promise<string> {
  const dir = mkdtempSync(join(scratch, 'context-'))
  try {
    await build({
      entryPoints: [join(ROOT, 'agent.ts')], outfile: join(dir, 'agent.js'), bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning',
      define: { __TERARCHITECT_BUILD__: JSON.stringify({ version: 'test', commit: 'unknown' }) },
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    })
    writeAiderStub(dir, '/tmp/aider-record.txt')
    // A ticket saying SLOW-TICKET keeps the worker busy, for the cancel test.
    renameSync(join(dir, 'aider'), join(dir, 'aider-stub'))
    writeFileSync(join(dir, 'aider'), [
      '#!/bin/sh',
      'prev=""',
      'for arg; do [ "$prev" = --message-file ] && grep -q SLOW-TICKET "$arg" && sleep 120; prev="$arg"; done',
      'exec /usr/local/bin/aider-stub "$@"',
    ].join('\n') + '\n', { mode: 0o755 })
    writeFileSync(join(dir, 'agent-entrypoint.sh'), readFileSync(join(ROOT, 'scripts/agent-entrypoint.sh')))
    chmodSync(join(dir, 'agent-entrypoint.sh'), 0o755)
    writeFileSync(join(dir, 'Dockerfile'), [
      `FROM ${BASE_IMAGE}`,
      'RUN useradd --create-home --uid 1000 --user-group --shell /bin/bash agent && mkdir -p /workspace /cache && chown agent:agent /workspace /cache',
      'COPY agent-entrypoint.sh aider aider-stub /usr/local/bin/',
      'COPY agent.js /app/agent.js',
      `LABEL terarchitect.test-variant=${variant}`,
      'ENV AGENT_WORKSPACE=/workspace AGENT_USER=agent AGENT_DIND=off',
      'WORKDIR /workspace',
      'ENTRYPOINT ["/usr/local/bin/agent-entrypoint.sh"]',
      'CMD ["ticket"]',
    ].join('\n'))
    return (await engine.imageBuild(dir, { tag: `${REPO}:${variant}` })).id
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function startCoordinator(pool: number): CoordinatorProcess {
  coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: world.t.url,
    TERARCHITECT_WORKER_API_KEY: world.secrets.workerApiKey,
    COORDINATOR_ID,
    PROJECT_ID: String(world.projectId),
    AGENT_IMAGE: `${REPO}:a`,
    AGENT_DOCKER_MODE: 'dood',
    AGENT_CACHE_VOLUME: CACHE_PREFIX,
    AGENT_FALLBACK_TO_HOST: 'false',
    AGENT_WARM_POOL: String(pool),
    DOCKER_CHECK_SEC: '1',
    CLAIM_WAIT_SEC: '5',
    LOG_LEVEL: 'info',
  }, stateDir)
  return coordinator
}

const poolContainers = async () =>
  engine.containerList({ all: true, labels: [`terarchitect.coordinator_id=${COORDINATOR_ID}`, 'terarchitect.pool'] })

/** Moves a new ticket to In Progress and waits for its job to end; returns the job row and the ticket's log text. */
async function runTicket(title: string) {
  const ticket = await createTicket(world, { title })
  const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
  assert.is(run.status, 201, JSON.stringify(run.body))
  return { ticket, jobId: run.body.job.id as number }
}

async function ended(ticketId: number, jobId: number) {
  let row: Record<string, any> = {}
  const job = await waitFor(async () => {
    row = (await world.t.api('GET', `/api/jobs/${jobId}`, undefined, world.people)).body
    return ['succeeded', 'failed', 'cancelled'].includes(row.status) ? row : null
  }, 90_000, `job ${jobId} to end`).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(row).slice(0, 1500)}\n${coordinator?.lines.slice(-30).join('\n')}`)
  })
  const log = (await ticketEvents(world, ticketId)).map((event) => `${event.summary}\n${event.raw_output ?? ''}`).join('\n')
  return { job, log }
}

test.before(async () => {
  try {
    engine = await ensureDocker()
    imageA = await buildSlimImage('a')
    imageB = await buildSlimImage('b')
    // The project runs the operator's tag `op` (project_images.json), which the image-change test moves.
    await engine.imageTag(imageA, REPO, 'op')
    world = await startWorld({ host: '0.0.0.0', settings: { WORKER_MODE: 'aider' } })
    writeFileSync(join(stateDir, PROJECT_IMAGES_FILE), JSON.stringify({ [world.projectId]: `${REPO}:op` }))
  } catch (error) {
    // uvu reports a failed hook without its error.
    process.stderr.write(`warm-pool setup failed: ${(error as Error).stack}\n`)
    throw error
  }
})

test.after(async () => {
  await coordinator?.stop('SIGKILL')
  if (engine) {
    await removeCoordinatorContainers(engine, [COORDINATOR_ID])
    await engine.volumeRemove(`${CACHE_PREFIX}-p${world?.projectId}`, { force: true }).catch(() => {})
    for (const tag of ['a', 'b', 'op']) await engine.imageRemove(`${REPO}:${tag}`, { force: true }).catch(() => {})
    engine.close()
  }
  await world?.close()
  rmSync(scratch, { recursive: true, force: true })
})

test('an empty pool: the first job starts cold, then a warm container waits for the next', async () => {
  startCoordinator(1)
  await coordinator!.waitForLog(/^coordinator started$/)
  assert.is((await poolContainers()).length, 0, 'no demand yet, no warm container')
  const { ticket, jobId } = await runTicket('Cold start')
  const { job, log } = await ended(ticket.id, jobId)
  assert.is(job.status, 'succeeded', `${job.error}\n${job.output_tail}`)
  assert.match(log, 'agent starting in a container (docker-dood')
  assert.not.match(log, 'warm container')
  const [warm] = await waitFor(async () => {
    const list = (await poolContainers()).filter((c) => c.State === 'running')
    return list.length ? list : null
  }, 30_000, 'the pool to fill')
  assert.is(warm!.Labels['terarchitect.project_id'], String(world.projectId))
  assert.is(warm!.Labels['terarchitect.job_id'], undefined)
})

test('a claimed job is handed to the warm container: PR right, nothing of the job in its spec, removed after its one job, pool refilled', async () => {
  const [warm] = (await poolContainers()).filter((c) => c.State === 'running')
  assert.ok(warm, 'a warm container is waiting')
  // The git cache's mirror is mounted: the waiting agent clones it into its workspace.
  await waitFor(async () => {
    let text = ''
    await engine.containerLogs(warm.Id, { stdout: true, stderr: true }, (frame) => (text += frame.data.toString()))
    return text.includes(PREPARED_LINE)
  }, 30_000, 'the warm container to clone the mirror')
  const inspections: ContainerInfo[] = []
  const { ticket, jobId } = await runTicket('Warm start')
  // Inspected until it is gone: the last look is after the hand-over (it is removed only after the job).
  for (;;) {
    const info = await engine.containerInspect(warm.Id).catch(() => null)
    if (!info) break
    inspections.push(info)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const { job, log } = await ended(ticket.id, jobId)
  assert.is(job.status, 'succeeded', `${job.error}\n${job.output_tail}`)
  assert.match(log, 'agent starting in a warm container')
  assert.match(log, `job handed to a warm container (${warm.Id.slice(0, 12)})`)
  assert.match(log, 'into the workspace this container cloned from the git cache while it waited')
  assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH.md`]), 'healthy\n')
  const updated = await getTicket(world, ticket.id)
  assert.is(updated.column_id, 'in_review')
  assert.ok(updated.pr_url, 'the PR is linked on the ticket')

  assert.ok(inspections.length >= 2, `inspected ${inspections.length} time(s)`)
  const image = (await engine.imageInspect(imageA)).Config
  const imageEnv = image?.Env ?? []
  const imageLabels = Object.keys(image?.Labels ?? {})
  const secrets = Object.values(world.secrets)
  for (const info of inspections) {
    const raw = info as unknown as { Config: { Env: string[]; Cmd: string[]; Labels: Record<string, string> }; HostConfig: unknown }
    assert.equal(raw.Config.Env.filter((entry) => !imageEnv.includes(entry)), [], 'the container\'s env is the image\'s')
    assert.equal(raw.Config.Cmd, ['node', '/app/agent.js', 'pooled'])
    assert.equal(Object.keys(raw.Config.Labels).filter((key) => !imageLabels.includes(key)).sort(), ['terarchitect.coordinator_id', 'terarchitect.pool', 'terarchitect.project_id'])
    const spec = JSON.stringify({ env: raw.Config.Env, cmd: raw.Config.Cmd, labels: raw.Config.Labels, host: raw.HostConfig })
    for (const name of ['TERARCHITECT_AGENT_TOKEN', 'JOB_ID', 'TICKET_ID', 'REPO_URL', 'Add a health file', ...secrets]) assert.not.ok(spec.includes(name), `${name} is in the container's spec`)
  }

  const next = await waitFor(async () => (await poolContainers()).find((c) => c.Id !== warm.Id && c.State === 'running'), 30_000, 'the pool to refill')
  assert.is.not(next.Id, warm.Id)
  assert.is((await poolContainers()).some((c) => c.Id === warm.Id), false, 'the used container is removed')
})

test('a moved image reference replaces the warm containers with the new image', async () => {
  const [before] = await poolContainers()
  assert.ok(before, 'a warm container of image A')
  assert.is(((await engine.containerInspect(before.Id)) as unknown as { Image: string }).Image, imageA)
  await engine.imageTag(imageB, REPO, 'op')
  const replaced = await waitFor(async () => {
    const list = await poolContainers()
    return list.length > 0 && list.every((c) => c.Id !== before.Id) && list.some((c) => c.State === 'running') ? list : null
  }, 30_000, 'the pool to move to image B')
  for (const container of replaced) assert.is(((await engine.containerInspect(container.Id)) as unknown as { Image: string }).Image, imageB)
  const { ticket, jobId } = await runTicket('On image B')
  const { job, log } = await ended(ticket.id, jobId)
  assert.is(job.status, 'succeeded', `${job.error}\n${job.output_tail}`)
  assert.match(log, 'job handed to a warm container')
})

test('after kill -9, the next coordinator process removes the dead one\'s warm containers', async () => {
  const left = await waitFor(async () => {
    const list = (await poolContainers()).filter((c) => c.State === 'running')
    return list.length ? list : null
  }, 30_000, 'a warm container')
  await coordinator!.stop('SIGKILL')
  assert.ok((await poolContainers()).length >= left.length, 'the daemon keeps them after the crash')
  startCoordinator(1)
  await coordinator!.waitForLog(/^coordinator started$/)
  const ids = new Set(left.map((c) => c.Id))
  await waitFor(async () => !(await poolContainers()).some((c) => ids.has(c.Id)), 20_000, 'reconcile to remove the dead pool')
  const { ticket, jobId } = await runTicket('After the crash')
  const { job, log } = await ended(ticket.id, jobId)
  assert.is(job.status, 'succeeded', `${job.error}\n${job.output_tail}`)
  assert.not.match(log, 'warm container', 'the new pool was empty: cold start')
})

test('AGENT_WARM_POOL=0: jobs start cold and no warm container is made', async () => {
  await coordinator!.stop()
  assert.is((await poolContainers()).length, 0, 'a stopping coordinator removes its pool')
  startCoordinator(0)
  await coordinator!.waitForLog(/^coordinator started$/)
  for (const title of ['No pool 1', 'No pool 2']) {
    const { ticket, jobId } = await runTicket(title)
    const { job, log } = await ended(ticket.id, jobId)
    assert.is(job.status, 'succeeded', `${job.error}\n${job.output_tail}`)
    assert.not.match(log, 'warm container')
  }
  await new Promise((resolve) => setTimeout(resolve, 2000))
  assert.is((await poolContainers()).length, 0)
})

test('a cancel stops a job in a warm container as it stops a cold one: cancelled, container removed', async () => {
  // Last: the slow ticket's title reaches every later prompt through the project's memory.
  await coordinator!.stop()
  startCoordinator(1)
  await coordinator!.waitForLog(/^coordinator started$/)
  const first = await runTicket('Fill the pool again')
  assert.is((await ended(first.ticket.id, first.jobId)).job.status, 'succeeded')
  const warm = await waitFor(async () => (await poolContainers()).find((c) => c.State === 'running'), 30_000, 'a warm container')
  const { ticket, jobId } = await runTicket('SLOW-TICKET to cancel')
  await waitFor(async () => {
    const log = (await ticketEvents(world, ticket.id)).map((event) => `${event.summary}\n${event.raw_output ?? ''}`).join('\n')
    return log.includes('[worker]') || log.includes('worker aider') ? log : null
  }, 60_000, 'the worker to start')
  const cancel = await world.t.api('POST', `/api/jobs/${jobId}/cancel`, undefined, world.people)
  assert.ok(cancel.status < 300, JSON.stringify(cancel.body))
  const { job, log } = await ended(ticket.id, jobId)
  assert.is(job.status, 'cancelled', `${job.error}\n${job.output_tail}`)
  assert.match(log, `job handed to a warm container (${warm.Id.slice(0, 12)})`)
  await waitFor(async () => !(await poolContainers()).some((c) => c.Id === warm.Id), 10_000, 'the cancelled job\'s container to be removed')
  assert.is(remoteGit(world, ['rev-parse', '--verify', `ticket-${ticket.id}`]), null, 'nothing pushed')
})

test.run()
