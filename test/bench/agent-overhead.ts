/**
 * Agent overhead, measured (prints figures; not a test):
 *   - per worker CLI, the wall time of one end-to-end ticket on the host (agent process start →
 *     exit: context, clone, one turn against the fake LLM, commit, push, PR, complete), split into
 *     before the turn / the turn / after it, from the job events' timestamps;
 *   - in the agent image through docker-dood, cold and warm (the warm pool) side by side:
 *     ticket moved → the worker's first LLM request, and container ready → that request.
 *
 *   npm run bench -- test/bench/agent-overhead.ts            # AGENT_BENCH_RUNS=5 (default) samples each
 *   AGENT_BENCH_CONTAINER=0 … / AGENT_BENCH_HOST=0 …         # host only / containers only
 *   AGENT_BENCH_BUILD=1 …                                    # rebuild the image (the current agent) first
 *   AGENT_BENCH_IMAGE=terarchitect-agent:x …                 # another image tag (default terarchitect-agent:test)
 *   AGENT_BENCH_CLIS=gemini,codex …                          # only these worker modes
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OutputChunk } from '../../core/executor.ts'
import { jobEnv } from '../../core/coordinator/job-env.ts'
import { createLogger } from '../../core/log.ts'
import { READY_LINE } from '../../core/agent/wait-job.ts'
import { POOL_LABEL } from '../../core/executor.ts'
import { dockerDood } from '../../plugins/executors/docker/dood.ts'
import type { DockerEngine } from '../../plugins/executors/docker/engine.ts'
import { isDockerError } from '../../plugins/executors/docker/errors.ts'
import { defaultScript } from '../fixtures/fake-llm.ts'
import { ensureDocker } from '../docker-fixtures.ts'
import { sharesLine, stepClock, type Mark } from './step-clock.ts'
import {
  buildAgentImage, cliDirs, createTicket, holdJob, runAgentProcess, runAndClaim, startWorld, ticketEvents, timedScript, writeAiderStub, type World,
} from './agent-harness.ts'

const RUNS = Number(process.env.AGENT_BENCH_RUNS ?? 5)
const CONTAINER = process.env.AGENT_BENCH_CONTAINER !== '0'
const HOST = process.env.AGENT_BENCH_HOST !== '0'

const IMAGE = process.env.AGENT_BENCH_IMAGE ?? 'terarchitect-agent:test'
const ONLY = process.env.AGENT_BENCH_CLIS?.split(',').map((mode) => mode.trim()).filter(Boolean)
const MODES = ([['claude-code', 'claude'], ['opencode', 'opencode'], ['codex', 'codex'], ['gemini', 'gemini'], ['aider', undefined]] as [mode: string, cli: string | undefined][])
  .filter(([mode]) => !ONLY?.length || ONLY.includes(mode))

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
      const steps: Map<Mark, number>[] = []
      for (let i = 0; i < RUNS; i++) {
        const ticket = await createTicket(world, { title: `bench ${mode} ${i}` })
        const clock = stepClock()
        clock.mark('moved')
        const job = await runAndClaim(world, ticket.id)
        timed.reset()
        const started = Date.now()
        clock.mark('ready', started)
        const result = await runAgentProcess(world, job, { path: [dir], onLine: (line) => clock.feed(`${line}\n`) })
        if (result.code !== 0) throw new Error(`${mode}: agent exit ${result.code}\n${result.stdout.slice(-2000)}`)
        const first = timed.firstWorkerRequestAt()
        if (first) clock.mark('first LLM request', first)
        steps.push(clock.shares())
        samples.push({ total: result.seconds * 1000, ...(await phases(world, ticket.id, job.job_id)), first: (first ?? NaN) - started })
      }
      const m = (key: keyof (typeof samples)[number]) => median(samples.map((sample) => sample[key]))
      console.log(`${mode.padEnd(12)} ${s(m('total')).padEnd(9)} ${s(m('before')).padEnd(12)} ${s(m('turn')).padEnd(9)} ${s(m('after')).padEnd(11)} ${cli ? s(m('first')) : '(stub: no LLM call)'}`)
      console.log(`  steps, p50 (each from the mark before it): ${sharesLine(steps)}`)
    }
  } finally {
    rmSync(stub, { recursive: true, force: true })
    await world.close()
  }
}

/** Waits until a warm container's agent says it is ready (its CLIs read), as a pool's would be by its next claim. */
async function warmReady(docker: DockerEngine, id: string): Promise<void> {
  const deadline = Date.now() + 120_000
  for (;;) {
    let text = ''
    await docker.containerLogs(id, { stdout: true, stderr: true }, (frame) => (text += frame.data.toString()))
    if (text.includes(READY_LINE)) return
    if (Date.now() > deadline) throw new Error(`warm container ${id.slice(0, 12)} never got ready:\n${text.slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * In the agent image through docker-dood, per CLI, cold and warm (the warm pool's hand-over)
 * alternating, RUNS each: "ticket moved → first LLM request" (from the run request, through the
 * claim, to the worker's first request at the fake LLM) and "container ready → first LLM request"
 * (ready = the cold container's start returned, or the job file was handed to the warm container).
 * A warm container's ticket moves once its agent said it is ready (READY_LINE), as in a pool that
 * filled before the claim.
 */
async function containerRuns() {
  const docker = await ensureDocker()
  const stale = await docker.imageInspect(IMAGE).then(() => false, (error: unknown) => {
    if (!isDockerError(error, 'docker_not_found')) throw error
    return true
  })
  if (stale || process.env.AGENT_BENCH_BUILD === '1') {
    console.log(`\nbuilding ${IMAGE} (scripts/build-agent-image.sh) …`)
    const build = await buildAgentImage(IMAGE)
    if (build.code !== 0) throw new Error(`image build failed:\n${build.output.slice(-3000)}`)
    console.log(`built in ${build.seconds.toFixed(1)} s`)
  }
  // Ready = the moment the container can work on the job: start returned (cold), job file handed (warm).
  let readyAt = 0
  const engine: DockerEngine = {
    ...docker,
    containerStart: async (id) => {
      await docker.containerStart(id)
      readyAt = Date.now()
    },
    containerPutArchive: async (id, path, tar) => {
      await docker.containerPutArchive(id, path, tar)
      readyAt = Date.now()
    },
  }
  const timed = timedScript(defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'done' }))
  const world = await startWorld({ host: '0.0.0.0', script: timed.script })
  await world.settings({ WORKER_LLM_URL: world.llm.url, GITHUB_API_URL: world.gh.url })
  const executor = dockerDood({ engine, image: IMAGE, cacheVolume: '', coordinatorId: 'agent-bench', log: createLogger('warn') })
  console.log(`\ncontainer (${IMAGE}, docker-dood): p50 of ${RUNS} run(s) per CLI and start; first = the worker's first LLM request`)
  console.log('cli          cold: moved → first  cold: ready → first  warm: moved → first  warm: ready → first')
  try {
    for (const [mode] of MODES.filter(([, cli]) => cli)) {
      await world.settings({ WORKER_MODE: mode })
      const samples = { cold: { moved: [] as number[], ready: [] as number[] }, warm: { moved: [] as number[], ready: [] as number[] } }
      const steps = { cold: [] as Map<Mark, number>[], warm: [] as Map<Mark, number>[] }
      for (let i = 0; i < RUNS * 2; i++) {
        const start = i % 2 === 0 ? 'cold' : 'warm'
        const warm = start === 'warm' ? await executor.prepare!({ projectId: world.projectId, labels: { [POOL_LABEL]: 'agent-bench' } }) : undefined
        if (warm) await warmReady(docker, warm.id)
        const ticket = await createTicket(world, { title: `bench ${start} ${mode} ${i}` })
        timed.reset()
        const clock = stepClock()
        const moved = Date.now()
        clock.mark('moved', moved)
        const job = await runAndClaim(world, ticket.id)
        const output: OutputChunk[] = []
        const lease = holdJob(world, job)
        const result = await executor.run({
          jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, kind: 'ticket', executionMode: 'docker', projectPath: null,
          env: jobEnv(job, { apiUrl: world.t.url }), labels: {}, timeoutMs: 10 * 60 * 1000, ...(warm ? { warm } : {}),
        }, (chunk) => {
          output.push(chunk)
          clock.mark('ready', readyAt)
          clock.feed(chunk.text)
        }, new AbortController().signal)
        await lease.report(result.exitCode)
        const text = output.map((c) => c.text).join('')
        if (result.exitCode !== 0) throw new Error(`${mode} (${start}) in the container: exit ${result.exitCode}\n${text.slice(-2000)}`)
        if (warm && !text.includes('job handed to a warm container')) throw new Error(`${mode}: the warm container did not take the job\n${text.slice(-2000)}`)
        const first = timed.firstWorkerRequestAt() ?? NaN
        samples[start].moved.push(first - moved)
        samples[start].ready.push(first - readyAt)
        clock.mark('first LLM request', first)
        steps[start].push(clock.shares())
      }
      const cell = (values: number[]) => s(median(values)).padEnd(21)
      console.log(`${mode.padEnd(12)} ${cell(samples.cold.moved)}${cell(samples.cold.ready)}${cell(samples.warm.moved)}${cell(samples.warm.ready)}`)
      for (const start of ['cold', 'warm'] as const) console.log(`  ${start} steps, p50 (each from the mark before it): ${sharesLine(steps[start])}`)
    }
  } finally {
    await executor.close?.()
    await world.close()
  }
}

if (HOST) await hostRuns(cliDirs())
if (CONTAINER) await containerRuns()
process.exit(0)
