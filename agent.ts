/**
 * The agent: `node dist/agent.js ticket|review` (in the agent image: `node /app/agent.js …`), or
 * `pooled` in a warm container: the job is handed over after start (core/agent/wait-job.ts).
 * One job, driven by the environment the coordinator sets (docs/agent.md). Wiring only: resolve the
 * configuration once, hand the worker plugins to the flow, map SIGTERM/SIGINT to a cancel, exit with
 * the flow's code.
 */
import { resolveAgentConfig, type AgentConfig } from './core/agent-config.ts'
import { runAgent } from './core/agent/run-agent.ts'
import { waitForJob, withWarmProbe } from './core/agent/wait-job.ts'
import { codex, workerFor } from './plugins/workers/index.ts'

// A warm container's agent (`agent.js pooled`) waits for its job first: the job's kind and
// environment arrive in a file, never in this process's own environment (core/agent/wait-job.ts).
let env: Record<string, string | undefined> = process.env
let kind = process.argv[2]
let probes: Awaited<ReturnType<typeof waitForJob>>['probes'] | undefined
let prepared: Awaited<ReturnType<typeof waitForJob>>['prepared'] = null
if (kind === 'pooled') {
  // AGENT_WORKSPACE is the image's own setting (no job data): the mirror, when mounted, is cloned there meanwhile.
  const handed = await waitForJob({ workerFor, print: (line) => process.stdout.write(`${line}\n`), ...(process.env.AGENT_WORKSPACE ? { workspace: process.env.AGENT_WORKSPACE } : {}) })
  env = { ...process.env, ...handed.job.env }
  kind = handed.job.kind
  probes = handed.probes
  prepared = handed.prepared
}

let config: AgentConfig
try {
  config = resolveAgentConfig(env, kind)
} catch (error) {
  process.stderr.write(`agent: ${(error as Error).message}\n`)
  process.exit(2)
}

// Configuration is resolved; nothing reads process.env from here on. Drop the secrets from it so no
// child process started with the default environment (a CLI's --version probe, say) inherits them.
for (const key of ['GITHUB_TOKEN', 'GH_TOKEN', 'TERARCHITECT_AGENT_TOKEN', 'TERARCHITECT_WORKER_API_KEY', 'WORKER_API_KEY', 'AGENT_API_KEY']) delete process.env[key]

// The coordinator stops a container (cancel, timeout, shutdown) with SIGTERM: stop the worker turn,
// push nothing, post why, and exit. A second signal exits at once.
const stop = new AbortController()
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    if (stop.signal.aborted) process.exit(130)
    stop.abort(new Error(`stopped by ${name}`))
  })
}

// A host agent whose coordinator died (kill -9) lives on with its stdout and stderr pipes closed:
// a failed write must not crash it before it has stopped its worker and removed its worktree.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

const code = await runAgent(config, {
  workerFor: (mode) => withWarmProbe(mode === 'codex' && config.CODEX_SANDBOX ? codex({ sandbox: config.CODEX_SANDBOX }) : workerFor(mode), probes, mode),
  signal: stop.signal,
  print: (line) => process.stdout.write(`${line}\n`),
  prepared,
})
process.exit(code)
