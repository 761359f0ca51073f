// A run that lost its place is queued again by the coordinator (POST …/requeue), and the requeue
// wakes the same coordinator's claim: it may get the job's next attempt before the lost run has
// finished reporting. Every call names its claim (claim_seq). Against a scripted fake app (node:http), in-process, with the claim of attempt 2
// answered before the requeue is: the lost run's end leaves the next attempt counted and kept
// (running jobs: its slot, reconcile's keep set, the shutdown's wait), and the requeue names the
// claim of the attempt that was lost.
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { createWorkerClient } from '../core/coordinator/client.ts'
import { startCoordinator } from '../core/coordinator/loop.ts'
import type { Executor, RunResult } from '../core/executor.ts'
import { createLogger } from '../core/log.ts'
import { sleep, waitFor } from './helpers.ts'

const JOB = 7
const claimOf = (attempt: number) => ({
  job_id: JOB, ticket_id: 3, project_id: 1, kind: 'ticket', repo_url: null, execution_mode: 'local', project_path: tmpdir(),
  attempt, claim_seq: 10 + attempt, max_attempts: 3, lease_sec: 60, agent_token: `job-token-${attempt}`,
})

test('the next attempt claimed before the lost run has reported stays counted and kept; the requeue names attempt 1\'s claim', async () => {
  const requests: { path: string; body: any }[] = []
  let attempt = 0
  let secondClaimAnswered: () => void = () => {}
  const secondClaim = new Promise<void>((resolve) => (secondClaimAnswered = resolve))
  // Claims with nothing to hand out wait (long-poll) until the requeue makes the job pending again.
  const parked = new Set<() => void>()
  const server: Server = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk) => (text += chunk))
    req.on('end', () => {
      const body = text ? JSON.parse(text) : null
      const path = req.url ?? ''
      requests.push({ path, body })
      const json = (status: number, value?: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(value === undefined ? undefined : JSON.stringify(value))
      }
      if (path === '/api/worker/jobs/start') {
        if (attempt === 0) return json(200, claimOf(++attempt))
        const answer = (job: unknown) => {
          if (!parked.delete(wake)) return
          clearTimeout(timer)
          json(job ? 200 : 204, job ?? undefined)
          if (job) secondClaimAnswered()
        }
        const wake = () => answer(attempt === 1 ? claimOf(++attempt) : null)
        const timer = setTimeout(() => answer(null), body?.wait_ms ?? 0)
        parked.add(wake)
      } else if (path === `/api/worker/jobs/${JOB}/requeue`) {
        // The app's requeue wakes the waiting claim, whose answer reaches the coordinator first.
        for (const wake of [...parked]) wake()
        void secondClaim.then(() => setTimeout(() => json(200, { status: 'pending', attempt: 2 }), 100))
      } else if (path === `/api/worker/jobs/${JOB}/heartbeat`) json(200, { cancel_requested: false })
      else if (path === '/api/worker/settings') json(200, { max_concurrent_agents: null })
      else if (path.startsWith('/api/worker/path-checks')) json(200, { checks: [] })
      else if (path.startsWith('/api/projects/')) json(201, { seqs: [] })
      else json(204)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const apiUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`

  let releaseSecond: (result: RunResult) => void = () => {}
  const runs: number[] = []
  const executor: Executor = {
    name: 'fake', probe: async () => ({ ok: true }),
    async run(spec) {
      runs.push(Number(spec.env.JOB_ATTEMPT))
      if (runs.length === 1) return { exitCode: -1, lost: 'its node w1 is down (heartbeat failure)' }
      return new Promise<RunResult>((resolve) => (releaseSecond = resolve))
    },
  }
  const lines: string[] = []
  const config = resolveCoordinatorConfig({
    TERARCHITECT_API_URL: apiUrl, TERARCHITECT_WORKER_API_KEY: 'requeue-test-key', COORDINATOR_STATE_DIR: '/nonexistent',
    MAX_CONCURRENT_AGENTS: '2', CLAIM_WAIT_SEC: '2', SETTINGS_REFRESH_SEC: '60', HEARTBEAT_MAX_SEC: '1',
  })
  const coordinator = startCoordinator({
    config, coordinatorId: 'requeue-test', log: createLogger('debug', {}, (line) => lines.push(line)),
    client: createWorkerClient({ apiUrl, coordinatorId: 'requeue-test', timeoutMs: 2000 }),
    executors: { containers: null, host: executor },
  })
  try {
    const reported = () => lines.some((line) => /"msg":"job reported".*"outcome":"requeue"/.test(line))
    await waitFor(async () => runs.length === 2 && reported(), 10000, 'attempt 2 to run and attempt 1 to report its lost run')
    await sleep(200) // the lost run's end (heartbeat stopped, its slot freed) is behind its report
    assert.equal(runs, [1, 2])
    assert.equal(coordinator.runningJobs(), [JOB], 'attempt 2 is still running here')
    const requeue = requests.find((request) => request.path === `/api/worker/jobs/${JOB}/requeue`)!
    assert.is(requeue.body.claim_seq, 11, 'the requeue names the claim of the attempt that was lost')
    assert.not.ok('attempt' in requeue.body, 'and no attempt: the claim is the more precise')
    releaseSecond({ exitCode: 0 })
    await waitFor(async () => coordinator.runningJobs().length === 0, 5000, 'attempt 2 to end')
    const complete = requests.find((request) => request.path === `/api/worker/jobs/${JOB}/complete`)
    assert.is(complete?.body.claim_seq, 12, 'attempt 2 reported complete, naming its claim')
  } finally {
    releaseSecond({ exitCode: 0 })
    await coordinator.stop(1000)
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

test.run()
