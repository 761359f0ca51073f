// The host fallback of a docker-mode job whose container cannot start (core/coordinator/run-job.ts):
// off by default (the job fails with the container error and says how to turn it on); on, the
// agent runs on the host with TERARCHITECT_DOCKER_RUN_ERROR and the app records where it really ran
// (executor `local`, the container error as fallback_reason, in the jobs API); a configuration error
// (the daemon refusing the container's parameters) never falls back.
import { suite, test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { runJob, type RunJobContext } from '../core/coordinator/run-job.ts'
import { createWorkerClient, type ClaimedJob, type WorkerClient } from '../core/coordinator/client.ts'
import type { Executor, JobSpec } from '../core/executor.ts'
import { createLogger } from '../core/log.ts'
import { DockerError } from '../plugins/executors/docker/errors.ts'
import { createRunnableProject, createTicket, startTestApp, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'

const job: ClaimedJob = {
  job_id: 41, ticket_id: 7, project_id: 3, kind: 'ticket', repo_url: 'https://github.com/acme/shop.git',
  execution_mode: 'docker', project_path: null, attempt: 1, claim_seq: 1, lease_sec: 60, agent_token: 'tj1.payload-0123.signature-0123',
}

const IMAGE_MISSING = () => new DockerError('docker_not_found', 404, 'image terarchitect-agent not found')

/** Runs `job` with a container executor that cannot start; returns what the app was told and what ran on the host. */
async function runWithBrokenContainer(fallbackToHost: boolean, failure: () => Error = IMAGE_MISSING) {
  const reports: { kind: 'complete' | 'fail' | 'executor'; body: Record<string, unknown> }[] = []
  const hostRuns: JobSpec[] = []
  const client: WorkerClient = {
    claim: async () => null,
    heartbeat: async () => ({ cancel_requested: false }),
    complete: async (_id, body) => reports.push({ kind: 'complete', body }),
    fail: async (_id, body) => reports.push({ kind: 'fail', body }),
    recordExecutor: async (_id, body) => void reports.push({ kind: 'executor', body }),
    postEvents: async () => {},
    release: async () => {},
    readSettings: async () => ({ maxConcurrent: null, limits: {} }),
    handForgeToken: async () => {},
    report: async () => {},
  }
  const broken: Executor = { name: 'docker-dind', probe: async () => ({ ok: true }), run: async () => { throw failure() } }
  const host: Executor = { name: 'local', probe: async () => ({ ok: true }), run: async (spec) => { hostRuns.push(spec); return { exitCode: 0 } } }
  const repoRoot = mkdtempSync(join(tmpdir(), 'fallback-'))
  const ctx: RunJobContext = {
    client, log: createLogger('error', {}, () => {}), apiUrl: 'http://127.0.0.1:1', defaultImage: 'terarchitect-agent', timeoutMs: 0,
    repoRoot, fallbackToHost, heartbeatMaxMs: 60_000, shutdown: new AbortController().signal, flushMs: 10,
    executors: { host, containers: { name: 'docker-dind', forImage: () => broken, ping: async () => ({ ok: true }), reconcile: async () => [] } },
  }
  try {
    await runJob(job, ctx)
  } finally {
    rmSync(repoRoot, { recursive: true, force: true })
  }
  return { reports, hostRuns }
}

test('the fallback is off unless AGENT_FALLBACK_TO_HOST=true', () => {
  const base = { TERARCHITECT_API_URL: 'http://127.0.0.1:1', TERARCHITECT_WORKER_API_KEY: 'k', COORDINATOR_STATE_DIR: '/nonexistent' }
  assert.is(resolveCoordinatorConfig(base).AGENT_FALLBACK_TO_HOST, false)
  assert.is(resolveCoordinatorConfig({ ...base, AGENT_FALLBACK_TO_HOST: 'true' }).AGENT_FALLBACK_TO_HOST, true)
})

test('off: a container that cannot start fails the job with its error and how to enable the fallback; nothing runs on the host', async () => {
  const { reports, hostRuns } = await runWithBrokenContainer(false)
  assert.is(hostRuns.length, 0, 'the agent ran on the host')
  assert.equal(reports.map((report) => report.kind), ['fail'])
  const error = String(reports[0]!.body.error)
  assert.match(error, 'image terarchitect-agent not found')
  assert.match(error, 'AGENT_FALLBACK_TO_HOST=true')
})

test('on: the agent runs on the host with TERARCHITECT_DOCKER_RUN_ERROR, the executor it ran on is recorded with the reason, the job completes', async () => {
  const { reports, hostRuns } = await runWithBrokenContainer(true)
  assert.is(hostRuns.length, 1)
  assert.match(String(hostRuns[0]!.env.TERARCHITECT_DOCKER_RUN_ERROR), 'image terarchitect-agent not found')
  assert.equal(reports.map((report) => report.kind), ['executor', 'complete'], 'recorded before the run ends')
  assert.is(reports[0]!.body.executor, 'local')
  assert.match(String(reports[0]!.body.fallback_reason), 'docker-dind: image terarchitect-agent not found')
})

test('on: a configuration error (the daemon refuses the parameters) never falls back; the job fails naming it', async () => {
  const { reports, hostRuns } = await runWithBrokenContainer(true, () => new DockerError('docker_bad_request', 400, 'invalid reference format: repository name must be lowercase'))
  assert.is(hostRuns.length, 0, 'the agent ran on the host for a configuration error')
  assert.equal(reports.map((report) => report.kind), ['fail'])
  const error = String(reports[0]!.body.error)
  assert.match(error, 'invalid reference format')
  assert.match(error, 'configuration error')
  assert.match(error, 'never run on the host')
})

test.run()

// The app's side: POST /api/worker/jobs/:id/executor, and the jobs API returning both fields.
const api = suite<{ t: TestApp }>('recorded executor (app)')
api.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
})
api.after(async ({ t }) => t.close())

api('a fallen-back job reads executor local with the reason in the jobs API; a new claim clears it', async ({ t }) => {
  const project = await createRunnableProject(t)
  const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1', executor: 'docker-dind' })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  const jobId = claim.body.job_id as number
  assert.equal([(await t.api('GET', `/api/jobs/${jobId}`)).body.executor, (await t.api('GET', `/api/jobs/${jobId}`)).body.fallback_reason], ['docker-dind', null])

  const client = createWorkerClient({ apiUrl: t.url, workerKey: t.workerKey, coordinatorId: 'c1' })
  await client.recordExecutor(jobId, { claim_seq: claim.body.claim_seq, executor: 'local', fallback_reason: 'docker-dind: image terarchitect-agent not found' })
  const read = (await t.api('GET', `/api/jobs/${jobId}`)).body
  assert.equal([read.executor, read.fallback_reason], ['local', 'docker-dind: image terarchitect-agent not found'])
  const listed = (await t.api('GET', `/api/projects/${project.id}/jobs`)).body
  const entry = (Array.isArray(listed) ? listed : listed.jobs).find((candidate: any) => candidate.id === jobId)
  assert.equal([entry.executor, entry.fallback_reason], ['local', 'docker-dind: image terarchitect-agent not found'])

  // Handed back (a shutdown; a lost lease does the same) and claimed again: the new run starts clean.
  await client.release(jobId, claim.body.claim_seq)
  const again = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c2', executor: 'docker-dind' })
  assert.is(again.body.job_id, jobId, 'the same job is claimed again')
  const reclaimed = (await t.api('GET', `/api/jobs/${jobId}`)).body
  assert.equal([reclaimed.executor, reclaimed.fallback_reason, reclaimed.ticket_id], ['docker-dind', null, ticket.id])
})

api('refusals: anonymous 401, a job token 403, another coordinator 409, a bad body 400 naming the field', async ({ t }) => {
  const project = await createRunnableProject(t)
  await createTicket(t, project.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
  const path = `/api/worker/jobs/${claim.body.job_id}/executor`
  const body = { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, executor: 'local', fallback_reason: 'x' }
  assertError(await t.api('POST', path, body, { authorization: '' }), 401)
  assertError(await t.api('POST', path, body, { authorization: `Bearer ${claim.body.agent_token}` }), 403)
  assertError(await t.api('POST', path, { ...body, coordinator_id: 'someone-else' }), 409)
  assertError(await t.api('POST', path, { ...body, executor: 'local; rm' }), 400, '/body/executor')
  assertError(await t.api('POST', path, { ...body, fallback_reason: 'x'.repeat(2001) }), 400, '/body/fallback_reason')
  const read = (await t.api('GET', `/api/jobs/${claim.body.job_id}`)).body
  assert.equal([read.executor, read.fallback_reason], [null, null], 'nothing recorded by a refused call')
})

api.run()
