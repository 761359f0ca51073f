// LLM relay overhead: time to the first streamed byte of a Chat Completions stream from the fake LLM,
// called directly and through the app's relay (`/api/relay/llm/worker`, a running job's token),
// interleaved in one run so both see the same machine load. Also an Anthropic Messages stream.
// The relayed call pays the token check (one read), the settings (cached up to 1 s, dropped on any
// write), parsing and re-serialising the JSON body, the budget reservation (one statement) and a
// second HTTP hop on loopback; the reservation is settled after the stream, off the first byte.
// Client, app, database (PGlite) and fake LLM share this process: on a loaded machine the
// wall-clock figures grow with the CPU each call needs, so the CPU per call is printed too.
//   node --import ./scripts/ts-register.mjs test/bench/llm-relay.ts [iterations=300] [pglite|postgres]
// Goal (issue 10): < 5 ms added at p50. Measured figures: docs/workers.md "The LLM relay's cost".
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { start as startLlm } from '../fixtures/fake-llm.ts'
import { startTestApp, stopOwnCluster } from '../helpers.ts'

const iterations = Number(process.argv[2] ?? 300)
const kind = process.argv[3] === 'postgres' ? 'postgres' : 'pglite'
const WORKER_KEY = 'bench-llm-relay-worker-key-0123456789'
const WORKER = { authorization: `Bearer ${WORKER_KEY}` }

const llm = await startLlm({ script: () => ({ text: 'pong' }) })
const t = await startTestApp({ kind, env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY } })
const configured = await t.api('PUT', '/api/settings', { values: { WORKER_LLM_URL: llm.url, WORKER_API_KEY: 'sk-bench-0123456789', DIRECTOR_MAX_TOKENS: 100_000_000 } })
if (configured.status !== 200) throw new Error(`settings: ${configured.status} ${JSON.stringify(configured.body)}`)
const project = (await t.api('POST', '/api/projects', { name: 'bench-llm-relay', repo_url: 'https://git.example/a/b.git' })).body.id
const ticket = (await t.api('POST', `/api/projects/${project}/tickets`, { title: 'bench' })).body.id
await t.api('POST', `/api/projects/${project}/tickets/${ticket}/run`)
const job = (await t.api('POST', '/api/worker/jobs/start', { project_id: project, coordinator_id: 'bench' }, WORKER)).body
if (!job?.agent_token) throw new Error(`claim failed: ${JSON.stringify(job)}`)

const chat = JSON.stringify({ model: 'fake-model', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'ping' }] })
const messages = JSON.stringify({ model: 'fake-model', stream: true, max_tokens: 64, messages: [{ role: 'user', content: 'ping' }] })

/** Milliseconds from sending the request to the first body chunk; the rest is drained. */
async function firstByte(url: string, headers: Record<string, string>, body: string): Promise<number> {
  const started = performance.now()
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  const reader = res.body!.getReader()
  const first = await reader.read()
  const elapsed = performance.now() - started
  if (res.status !== 200 || first.done) throw new Error(`${url}: ${res.status}`)
  while (!(await reader.read()).done) {}
  return elapsed
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

const cases: { name: string; direct: string; relayed: string; body: string; directHeaders: Record<string, string>; relayedHeaders: Record<string, string> }[] = [
  { name: 'chat completions', direct: `${llm.url}/v1/chat/completions`, relayed: `${t.url}/api/relay/llm/worker/chat/completions`, body: chat,
    directHeaders: { authorization: 'Bearer sk-bench-0123456789' }, relayedHeaders: { authorization: `Bearer ${job.agent_token}` } },
  { name: 'anthropic messages', direct: `${llm.url}/v1/messages`, relayed: `${t.url}/api/relay/llm/worker/v1/messages`, body: messages,
    directHeaders: { 'x-api-key': 'sk-bench-0123456789' }, relayedHeaders: { 'x-api-key': job.agent_token } },
]

console.log(`LLM relay bench: ${iterations} interleaved pairs per protocol, ${kind}, time to first streamed byte (ms); load average ${loadavg().map((n) => n.toFixed(1)).join(' ')} on ${cpus().length} CPUs`)
for (const c of cases) {
  for (let i = 0; i < 30; i++) {
    await firstByte(c.direct, c.directHeaders, c.body)
    await firstByte(c.relayed, c.relayedHeaders, c.body)
  }
  const direct: number[] = []
  const relayed: number[] = []
  const cpu = { direct: 0, relayed: 0 }
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since)
    return (used.user + used.system) / 1000
  }
  for (let i = 0; i < iterations; i++) {
    let since = process.cpuUsage()
    direct.push(await firstByte(c.direct, c.directHeaders, c.body))
    cpu.direct += cpuMs(since)
    since = process.cpuUsage()
    relayed.push(await firstByte(c.relayed, c.relayedHeaders, c.body))
    cpu.relayed += cpuMs(since)
  }
  const row = (label: string, values: number[]) => `  ${label.padEnd(8)} p50 ${percentile(values, 50).toFixed(2).padStart(6)}  p99 ${percentile(values, 99).toFixed(2).padStart(6)}`
  console.log(`${c.name}:`)
  console.log(row('direct', direct))
  console.log(row('relayed', relayed))
  const added = percentile(relayed, 50) - percentile(direct, 50)
  console.log(`  added at p50: ${added.toFixed(2)} ms (goal < 5 ms) ${added < 5 ? 'OK' : 'OVER'}; at p99: ${(percentile(relayed, 99) - percentile(direct, 99)).toFixed(2)} ms`)
  // Everything runs in this one process (client, app, database, fake LLM): the CPU a whole call costs
  // is a figure a loaded machine does not inflate the way it inflates wall-clock times.
  console.log(`  CPU per whole call (this process): direct ${(cpu.direct / iterations).toFixed(2)} ms, relayed ${(cpu.relayed / iterations).toFixed(2)} ms`)
}
const [usage] = await t.app.ctx.sql`select input_tokens, output_tokens, calls from llm_usage where job_id = ${job.job_id}`
const [budget] = await t.app.ctx.sql`select used, reserved from llm_budget where job_id = ${job.job_id}`
console.log(`recorded for the job: ${usage?.calls} calls, ${usage?.input_tokens} input + ${usage?.output_tokens} output tokens; budget row: ${budget?.used} used, ${budget?.reserved} reserved`)

await t.close()
await llm.close()
await stopOwnCluster()
