// GET /metrics on the app, on PostgreSQL 15 and on PGlite: who may scrape it (METRICS_TOKEN or an
// admin; nobody → 401, a lower role → 403), a strict parse of the exposition, and the counters
// moving while a job is claimed and completed through the worker API. The coordinator's health
// server (COORDINATOR_HEALTH_PORT), with the real entrypoint: /health 200 while the app answers
// and 503 once it is gone, /metrics behind METRICS_TOKEN with claims, starts, a host fallback and
// the running agent counted.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:http'
import { startHealthServer } from '../core/coordinator/health-server.ts'
import { createLogger } from '../core/log.ts'
import { createRegistry } from '../core/metrics/registry.ts'
import { WORKER_KEY, enqueue, hostAgentCommand, project, spawnCoordinator, startCoordinatorApp, waitForJob } from './coordinator-fixtures.ts'
import { BUILD } from '../core/version.ts'
import { DB_KINDS, startTestApp, stopOwnCluster, waitFor, type TestApp } from './helpers.ts'
import { PROXIED, bearer, firstAdmin, openStream, userWithRole } from './people-helpers.ts'
import { parseExposition, type Exposition } from './exposition.ts'

const METRICS_TOKEN = 'metrics-scrape-token-0123456789'

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp; admin: Record<string, string> }>(`app metrics (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind, env: { METRICS_TOKEN } })
    context.admin = { ...(await firstAdmin(context.t)), ...PROXIED }
  })
  test.after(async ({ t }) => t.close())

  const scrape = async (t: TestApp): Promise<Exposition> => {
    const res = await fetch(`${t.url}/metrics`, { headers: bearer(METRICS_TOKEN) })
    assert.is(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    return parseExposition(await res.text())
  }

  test('who may scrape: METRICS_TOKEN or an admin; nobody 401, a lower role 403', async ({ t, admin }) => {
    assert.is((await t.api('GET', '/metrics', undefined, PROXIED)).status, 401)
    assert.is((await t.api('GET', '/metrics', undefined, { ...bearer('metrics-scrape-token-wrong-value'), ...PROXIED })).status, 401)
    assert.is((await t.api('GET', '/metrics', undefined, { ...bearer(t.workerKey), ...PROXIED })).status, 401, 'the worker key is no scrape credential')
    const member = await userWithRole(t, admin, 'mia', 'member')
    const refused = await t.api('GET', '/metrics', undefined, { ...member.headers, ...PROXIED })
    assert.is(refused.status, 403)
    assert.match(refused.body.error.message, 'METRICS_TOKEN')
    const viewerToken = await t.api('POST', '/api/tokens', { name: 'grafana', role: 'viewer' }, admin)
    assert.is(viewerToken.status, 201, JSON.stringify(viewerToken.body))
    assert.is((await t.api('GET', '/metrics', undefined, { ...bearer(viewerToken.body.token), ...PROXIED })).status, 403)
    assert.is((await t.api('GET', '/metrics', undefined, admin)).status, 200, 'an admin session')
    assert.is((await t.api('GET', '/metrics', undefined, { ...bearer(METRICS_TOKEN), ...PROXIED })).status, 200)
    assert.is((await t.api('GET', '/api/projects', undefined, { ...bearer(METRICS_TOKEN), ...PROXIED })).status, 401, 'METRICS_TOKEN opens nothing else')
  })

  test('the exposition parses line by line and carries the build, database and HTTP families', async ({ t }) => {
    const metrics = await scrape(t)
    assert.is(metrics.value('terarchitect_build_info', { version: BUILD.version, commit: BUILD.commit }), 1)
    assert.is(metrics.value('terarchitect_db_up'), 1)
    assert.is(metrics.types.get('terarchitect_http_requests_total'), 'counter')
    assert.is(metrics.types.get('terarchitect_http_request_duration_seconds'), 'histogram')
    assert.is(metrics.types.get('terarchitect_job_claim_wait_seconds'), 'histogram')
    assert.is(metrics.types.get('terarchitect_job_duration_seconds'), 'histogram')
    assert.ok(metrics.value('terarchitect_db_pool_max', { db: kind })! >= 1)
    if (kind === 'postgres') assert.ok(metrics.sum('terarchitect_db_connections') >= 1, 'connections are counted')
    assert.ok(metrics.value('terarchitect_http_requests_total', { method: 'GET', route: '/metrics', status: '200' })! >= 1)
  })

  test('scraped before, during and after a job run: queue, claims, outcomes, durations, tokens and HTTP move', async ({ t, admin }) => {
    const project = await t.api('POST', '/api/projects', { name: `m-${kind}`, repo_url: 'https://git.example/repo.git' }, admin)
    assert.is(project.status, 201, JSON.stringify(project.body))
    const pid = String(project.body.id)
    const before = await scrape(t)
    const finishedBefore = before.sum('terarchitect_jobs_finished_total', { kind: 'ticket', status: 'succeeded' })
    const durationsBefore = before.sum('terarchitect_job_duration_seconds_count', { kind: 'ticket' })
    const waitsBefore = before.sum('terarchitect_job_claim_wait_seconds_count', { kind: 'ticket' })
    const claimsBefore = before.sum('terarchitect_http_requests_total', { route: '/api/worker/jobs/start', status: '200' })
    assert.is(before.value('terarchitect_queue_jobs', { project_id: pid }), undefined, 'nothing queued yet')

    const ticket = await t.api('POST', `/api/projects/${pid}/tickets`, { title: 'Count me', column_id: 'in_progress' }, admin)
    assert.is(ticket.status, 201, JSON.stringify(ticket.body))
    const queued = await scrape(t)
    assert.is(queued.value('terarchitect_queue_jobs', { project_id: pid, status: 'pending' }), 1)
    assert.ok(queued.value('terarchitect_queue_oldest_pending_seconds', { project_id: pid })! >= 0)

    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: Number(pid), coordinator_id: 'c1' })
    assert.is(claim.status, 200, JSON.stringify(claim.body))
    const jobId = claim.body.job_id as number
    // Tokens the LLM relay recorded for this job (the relay's own suite covers how it records them).
    await t.app.ctx.sql`insert into llm_usage (job_id, purpose, input_tokens, output_tokens, calls) values (${jobId}, 'worker', 1200, 300, 2)`
    const during = await scrape(t)
    assert.is(during.value('terarchitect_queue_jobs', { project_id: pid, status: 'running' }), 1)
    assert.is(during.value('terarchitect_queue_jobs', { project_id: pid, status: 'pending' }), undefined)
    assert.is(during.sum('terarchitect_job_claim_wait_seconds_count', { kind: 'ticket' }), waitsBefore + 1)
    assert.is(during.sum('terarchitect_http_requests_total', { route: '/api/worker/jobs/start', status: '200' }), claimsBefore + 1)
    assert.ok(during.value('terarchitect_llm_tokens_total', { purpose: 'worker', direction: 'input' })! >= 1200)
    assert.ok(during.value('terarchitect_llm_calls_total', { purpose: 'worker' })! >= 2)

    const done = await t.api('POST', `/api/worker/jobs/${jobId}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0, output_tail: 'ok' })
    assert.is(done.status, 200, JSON.stringify(done.body))
    const after = await scrape(t)
    assert.is(after.value('terarchitect_queue_jobs', { project_id: pid, status: 'running' }), undefined)
    assert.is(after.sum('terarchitect_jobs_finished_total', { kind: 'ticket', status: 'succeeded' }), finishedBefore + 1)
    assert.is(after.sum('terarchitect_job_duration_seconds_count', { kind: 'ticket' }), durationsBefore + 1)
    assert.ok(after.sum('terarchitect_http_requests_total', { route: '/api/worker/jobs/:id/complete', status: '200' }) >= 1)
    assert.ok(after.sum('terarchitect_http_request_duration_seconds_count', { route: '/api/worker/jobs/:id/complete' }) >= 1)
  })

  test('SSE clients: counted while a stream is open', async ({ t, admin }) => {
    const base = (await scrape(t)).value('terarchitect_sse_clients')!
    const stream = await openStream(t, admin)
    assert.is(stream.status, 200)
    assert.is((await scrape(t)).value('terarchitect_sse_clients'), base + 1)
    stream.close()
    await stream.ended
    await waitFor(async () => (await scrape(t)).value('terarchitect_sse_clients') === base, 3000, 'the stream to be uncounted')
  })

  test.run()
}

const coordinatorSuite = suite('coordinator health server')

coordinatorSuite('a job run through a coordinator moves its counters; /health follows the app', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'terarchitect-coord-metrics-'))
  const app = await startCoordinatorApp()
  const coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: app.url,
    TERARCHITECT_WORKER_API_KEY: WORKER_KEY,
    COORDINATOR_HEALTH_PORT: '0',
    METRICS_TOKEN,
    // No Docker here: with the host fallback on, the docker-mode job runs on the host (a fallback).
    DOCKER_HOST: `unix://${join(workDir, 'no-docker.sock')}`,
    AGENT_FALLBACK_TO_HOST: 'true',
    AGENT_HOST_COMMAND: hostAgentCommand(workDir),
    COORDINATOR_REPO_ROOT: join(workDir, 'repos'),
    CLAIM_WAIT_SEC: '1',
    SETTINGS_REFRESH_SEC: '0.5',
    HEARTBEAT_MAX_SEC: '0.5',
    DOCKER_CHECK_SEC: '1',
    SHUTDOWN_GRACE_SEC: '1',
  })
  let appClosed = false
  try {
    const { url } = await coordinator.waitForLog(/^health server listening$/)
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to loopback by default')
    await waitFor(async () => (await fetch(`${url}/health`)).status === 200, 15000, 'coordinator health 200')
    assert.is((await fetch(`${url}/metrics`)).status, 401, 'METRICS_TOKEN is required when set')
    assert.is((await fetch(`${url}/metrics`, { headers: bearer('metrics-scrape-token-wrong-value') })).status, 401)
    const scrape = async () => {
      const res = await fetch(`${url}/metrics`, { headers: bearer(METRICS_TOKEN) })
      assert.is(res.status, 200)
      return parseExposition(await res.text())
    }
    const before = await scrape()
    assert.is(before.value('terarchitect_coordinator_running_agents'), 0)
    assert.ok(before.value('terarchitect_coordinator_app_last_reached_seconds')! >= 0, 'the app was reached')
    assert.is(before.sum('terarchitect_coordinator_agent_starts_total'), 0)
    assert.ok(before.value('terarchitect_coordinator_build_info', { version: BUILD.version })! === 1)

    const p = await project(app)
    const { jobId } = await enqueue(app, p.id, { lines: 10, interval: 200 })
    const during = await waitFor(async () => {
      const metrics = await scrape()
      return metrics.value('terarchitect_coordinator_running_agents') === 1 ? metrics : null
    }, 30000, 'the running agent to be counted')
    assert.is(during.value('terarchitect_coordinator_claims_total', { result: 'job' }), 1)
    const job = await waitForJob(app, jobId, ['succeeded', 'failed'], 60000)
    assert.is(job.status, 'succeeded', JSON.stringify(job))
    const after = await waitFor(async () => {
      const metrics = await scrape()
      return metrics.value('terarchitect_coordinator_jobs_reported_total', { outcome: 'complete' }) === 1 ? metrics : null
    }, 10000, 'the reported outcome to be counted')
    assert.is(after.value('terarchitect_coordinator_running_agents'), 0)
    assert.is(after.value('terarchitect_coordinator_fallbacks_total'), 1)
    assert.is(after.value('terarchitect_coordinator_agent_starts_total', { executor: 'local' }), 1)
    await waitFor(async () => (await scrape()).sum('terarchitect_coordinator_claims_total', { result: 'none' }) >= 1, 10000, 'an empty long-poll claim to be counted')
    assert.is(after.sum('terarchitect_coordinator_claim_errors_total'), 0)

    await app.closeAll()
    appClosed = true
    const started = Date.now()
    const lost = await waitFor(async () => {
      const res = await fetch(`${url}/health`)
      return res.status === 503 ? res.json() : null
    }, 15000, 'coordinator health 503 once the app is gone')
    assert.equal(lost.down, ['app not reached'])
    assert.ok(Date.now() - started < 3 * 0.5 * 1000 + 5000 + 2000, 'within the stale window')
    const gone = await scrape()
    assert.ok(gone.sum('terarchitect_coordinator_claim_errors_total') >= 1, 'failed claims are counted')
    assert.ok(gone.value('terarchitect_coordinator_app_last_reached_seconds')! > 3 * 0.5 + 5 - 1, 'how long the app has been silent')
  } finally {
    await coordinator.stop()
    if (!appClosed) await app.closeAll()
    rmSync(workDir, { recursive: true, force: true })
  }
})

coordinatorSuite('off loopback without METRICS_TOKEN, /metrics is refused; /health still answers', async () => {
  const server = await startHealthServer({
    port: 0, host: '0.0.0.0', registry: createRegistry(), log: createLogger('error'),
    appReachedAt: () => Date.now(), staleMs: 10000, stopping: () => false,
  })
  try {
    const port = new URL(server.url).port
    assert.is((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 403)
    assert.is((await fetch(`http://127.0.0.1:${port}/health`)).status, 200)
    assert.is((await fetch(`http://127.0.0.1:${port}/elsewhere`)).status, 404)
  } finally {
    await server.close()
  }
})

coordinatorSuite.run()

const rebinding = suite('metrics: the zero-setup local admin is this machine, not a rebound name')
rebinding('with no account yet, /metrics answers a loopback Host and refuses another name (DNS rebinding)', async () => {
  const t = await startTestApp({ kind: 'pglite' })
  const get = (host: string) => new Promise<number>((resolve, reject) => {
    const url = new URL(`${t.url}/metrics`)
    request({ host: url.hostname, port: url.port, path: '/metrics', headers: { host } }, (res) => {
      res.resume()
      resolve(res.statusCode!)
    }).on('error', reject).end()
  })
  try {
    const port = new URL(t.url).port
    assert.is(await get(`127.0.0.1:${port}`), 200)
    assert.is(await get(`localhost:${port}`), 200)
    assert.is(await get(`attacker.test:${port}`), 401)
  } finally {
    await t.close()
  }
})
rebinding.run()

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
