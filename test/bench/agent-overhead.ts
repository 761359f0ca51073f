/**
 * Agent overhead, measured (prints figures; not a test):
 *   - per worker CLI, the wall time of one end-to-end ticket on the host (agent process start →
 *     exit: context, clone, one turn against the fake LLM, commit, push, PR, complete), split into
 *     before the turn / the turn / after it, from the job events' timestamps;
 *   - in the agent image through docker-dood: container start → the worker's first LLM request,
 *     and the same end-to-end wall time per CLI.
 *
 *   npm run bench -- test/bench/agent-overhead.ts            # AGENT_BENCH_RUNS=3 for more samples
 *   AGENT_BENCH_CONTAINER=0 …                                # host only
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OutputChunk } from '../../core/executor.ts'
import { jobEnv } from '../../core/coordinator/job-env.ts'
import { createLogger } from '../../core/log.ts'
import { dockerDood } from '../../plugins/executors/docker/dood.ts'
import { isDockerError } from '../../plugins/executors/docker/errors.ts'
import { defaultScript } from '../fixtures/fake-llm.ts'
import { ensureDocker } from '../docker-fixtures.ts'
import {
  buildAgentImage, cliDirs, createTicket, holdJob, runAgentProcess, runAndClaim, startWorld, ticketEvents, timedScript, writeAiderStub, type World,
} from './agent-harness.ts'

const RUNS = Number(process.env.AGENT_BENCH_RUNS ?? 1)
const CONTAINER = process.env.AGENT_BENCH_CONTAINER !== '0'
const IMAGE = process.env.AGENT_BENCH_IMAGE ?? 'terarchitect-agent:test'
const MODES: [mode: string, cli: string | undefined][] = [['claude-code', 'claude'], ['opencode', 'opencode'], ['codex', 'codex'], ['gemini', 'gemini'], ['aider', undefined]]

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** before-turn / turn / after-turn split of one job from its events' timestamps. */
async function phases(world: World, ticketId: number, jobId: number) {
  const events = (await ticketEvents(world, ticketId)).filter((e) => e.job_id === jobId) as (Awaited<ReturnType<typeof ticketEvents>>[number] & { created_at: string })[]
  const at = (predicate: (e: (typeof events)[number]) => boolean) => Date.parse(events.find(predicate)?.created_at ?? '')
  const start = at((e) => e.step === 'start')
  const turnStart = at((e) => e.event?.kind === 'turn_started')
  const turnEnd = at((e) => e.event?.kind === 'turn_finished')
  const end = at((e) => e.step === 'exit')
  return { before: turnStart - start, turn: turnEnd - turnStart, after: end - turnEnd }
}

async function hostRuns(dirs: Map<string, string>) {
  const timed = timedScript(defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'done' }))
  const world = await startWorld({ script: timed.script })
  const stub = mkdtempSync(join(tmpdir(), 'aider-stub-'))
  writeAiderStub(stub, join(stub, 'record.txt'))
  console.log(`\nhost: one ticket end to end per CLI (${RUNS} run(s) each, median)`)
  console.log('cli          total     before-turn  turn      after-turn  agent start → first LLM request')
  try {
    for (const [mode, cli] of MODES) {
      const dir = cli ? dirs.get(cli) : stub
      if (!dir) {
        console.log(`${mode.padEnd(12)} not installed`)
        continue
      }
      await world.settings({ WORKER_MODE: mode })
      const samples: { total: number; before: number; turn: number; after: number; first: number }[] = []
      for (let i = 0; i < RUNS; i++) {
        const ticket = await createTicket(world, { title: `bench ${mode} ${i}` })
        const job = await runAndClaim(world, ticket.id)
        timed.reset()
        const started = Date.now()
        const result = await runAgentProcess(world, job, { path: [dir] })
        if (result.code !== 0) throw new Error(`${mode}: agent exit ${result.code}\n${result.stdout.slice(-2000)}`)
        samples.push({ total: result.seconds * 1000, ...(await phases(world, ticket.id, job.job_id)), first: (timed.firstWorkerRequestAt() ?? NaN) - started })
      }
      const m = (key: keyof (typeof samples)[number]) => median(samples.map((sample) => sample[key]))
      console.log(`${mode.padEnd(12)} ${s(m('total')).padEnd(9)} ${s(m('before')).padEnd(12)} ${s(m('turn')).padEnd(9)} ${s(m('after')).padEnd(11)} ${cli ? s(m('first')) : '(stub: no LLM call)'}`)
    }
  } finally {
    rmSync(stub, { recursive: true, force: true })
    await world.close()
  }
}

async function containerRuns() {
  const engine = await ensureDocker()
  try {
    await engine.imageInspect(IMAGE)
  } catch (error) {
    if (!isDockerError(error, 'docker_not_found')) throw error
    console.log(`\nbuilding ${IMAGE} (scripts/build-agent-image.sh) …`)
    const build = await buildAgentImage(IMAGE)
    if (build.code !== 0) throw new Error(`image build failed:\n${build.output.slice(-3000)}`)
    console.log(`built in ${build.seconds.toFixed(1)} s`)
  }
  const timed = timedScript(defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'done' }))
  const world = await startWorld({ host: '0.0.0.0', script: timed.script })
  const host = (url: string) => url.replace('127.0.0.1', 'host.docker.internal')
  await world.settings({ WORKER_LLM_URL: world.llm.url, GITHUB_API_URL: host(world.gh.url) })
  const executor = dockerDood({ image: IMAGE, cacheVolume: '', coordinatorId: 'agent-bench', log: createLogger('warn') })
  console.log(`\ncontainer (${IMAGE}, docker-dood): one ticket end to end per CLI (${RUNS} run(s) each, median)`)
  console.log('cli          total     container start → first worker LLM request')
  try {
    for (const [mode] of MODES.filter(([, cli]) => cli)) {
      await world.settings({ WORKER_MODE: mode })
      const totals: number[] = []
      const firsts: number[] = []
      for (let i = 0; i < RUNS; i++) {
        const ticket = await createTicket(world, { title: `bench container ${mode} ${i}` })
        const job = await runAndClaim(world, ticket.id)
        const output: OutputChunk[] = []
        timed.reset()
        const started = Date.now()
        const lease = holdJob(world, job.job_id)
        const result = await executor.run({
          jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, kind: 'ticket', executionMode: 'docker', projectPath: null,
          env: jobEnv(job, { apiUrl: world.t.url }), labels: {}, timeoutMs: 10 * 60 * 1000,
        }, (chunk) => output.push(chunk), new AbortController().signal)
        await lease.report(result.exitCode)
        if (result.exitCode !== 0) throw new Error(`${mode} in the container: exit ${result.exitCode}\n${output.map((c) => c.text).join('').slice(-2000)}`)
        totals.push(Date.now() - started)
        firsts.push((timed.firstWorkerRequestAt() ?? NaN) - started)
      }
      console.log(`${mode.padEnd(12)} ${s(median(totals)).padEnd(9)} ${s(median(firsts))}`)
    }
  } finally {
    await executor.close?.()
    await world.close()
  }
}

await hostRuns(cliDirs())
if (CONTAINER) await containerRuns()
process.exit(0)
