// The host fallback of a docker-mode job whose container cannot start (core/coordinator/run-job.ts):
// off by default (the job fails with the container error and says how to turn it on); on, the
// agent runs on the host with TERARCHITECT_DOCKER_RUN_ERROR, as documented.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { runJob, type RunJobContext } from '../core/coordinator/run-job.ts'
import type { ClaimedJob, WorkerClient } from '../core/coordinator/client.ts'
import type { Executor, JobSpec } from '../core/executor.ts'
import { createLogger } from '../core/log.ts'

const job: ClaimedJob = {
  job_id: 41, ticket_id: 7, project_id: 3, kind: 'ticket', repo_url: 'https://github.com/acme/shop.git',
  execution_mode: 'docker', project_path: null, attempt: 1, lease_sec: 60, agent_token: 'tj1.payload-0123.signature-0123',
}

/** Runs `job` with a container executor that cannot start; returns what the app was told and what ran on the host. */
async function runWithBrokenContainer(fallbackToHost: boolean) {
  const reports: { kind: 'complete' | 'fail'; body: Record<string, unknown> }[] = []
  const hostRuns: JobSpec[] = []
  const client: WorkerClient = {
    claim: async () => null,
    heartbeat: async () => ({ cancel_requested: false }),
    complete: async (_id, body) => reports.push({ kind: 'complete', body }),
    fail: async (_id, body) => reports.push({ kind: 'fail', body }),
    postEvents: async () => {},
    release: async () => {},
    readSettings: async () => ({ maxConcurrent: null, limits: {} }),
    handForgeToken: async () => {},
    report: async () => {},
  }
  const broken: Executor = { name: 'docker-dind', probe: async () => ({ ok: true }), run: async () => { throw new Error('image terarchitect-agent not found') } }
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
  assert.is(reports.length, 1)
  assert.is(reports[0]!.kind, 'fail')
  const error = String(reports[0]!.body.error)
  assert.match(error, 'image terarchitect-agent not found')
  assert.match(error, 'AGENT_FALLBACK_TO_HOST=true')
})

test('on: the agent runs on the host with TERARCHITECT_DOCKER_RUN_ERROR and the job completes', async () => {
  const { reports, hostRuns } = await runWithBrokenContainer(true)
  assert.is(hostRuns.length, 1)
  assert.match(String(hostRuns[0]!.env.TERARCHITECT_DOCKER_RUN_ERROR), 'image terarchitect-agent not found')
  assert.equal(reports.map((report) => report.kind), ['complete'])
})

test.run()
