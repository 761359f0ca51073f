/**
 * What both flows do first: read worker-context, resolve settings, pick and probe the worker CLI,
 * check the GitHub side and open the workspace (a clone, or a worktree of the local checkout).
 * Everything that can be known to fail before a token is spent fails here, with a `config` error
 * naming what is missing.
 */
import type { AgentConfig, AgentSettings } from '../agent-config.ts'
import { resolveAgentSettings } from '../agent-config.ts'
import { redact, type Logger } from '../log.ts'
import type { Worker, WorkerSettings } from '../worker.ts'
import { gitRelayUrl, type AppClient, type RecalledMemory, type WorkerContext } from './api.ts'
import { createBudget, type Budget } from './budget.ts'
import type { CancelWatch } from './cancel.ts'
import { runProjectCommand, type CommandOutcome } from './checks.ts'
import { agentError } from './errors.ts'
import { createGit, type Git } from './git.ts'
import type { Reporter } from './reporter.ts'
import { openWorkspace, type Workspace } from './workspace.ts'
import type { PreparedWorkspace } from './prepared-workspace.ts'
import { linkedSummary, ticketRef } from './prompt.ts'

/** One agent process: its configuration and the services every step uses. */
export interface AgentRun {
  config: AgentConfig
  api: AppClient
  reporter: Reporter
  log: Logger
  cancel: CancelWatch
  workerFor(mode: string): Worker
  /** The workspace a warm container cloned from the git cache while it waited. */
  prepared?: PreparedWorkspace
}

/** How many memories are recalled into a job's prompts. */
const MEMORY_RECALL = 5

export interface OpenJob {
  context: WorkerContext
  settings: AgentSettings
  worker: Worker
  workerSettings: WorkerSettings
  git: Git
  workspace: Workspace
  budget: Budget
  /** Runs a project command (setup/test) in the workspace, reporting it as a job event. */
  runCommand(kind: 'setup' | 'tests', command: string): Promise<CommandOutcome>
  close(): Promise<void>
}

export async function openJob(run: AgentRun): Promise<OpenJob> {
  const { config } = run
  // The repository is reached through the app's git relay with the job token; the app holds the
  // forge token and forwards to the project's repo_url. Neither needs the worker context, so the
  // clone runs while the context and the memories are fetched and the worker CLI is probed.
  const repoUrl = gitRelayUrl(config.TERARCHITECT_API_URL, config.PROJECT_ID, config.TICKET_ID)
  const jobToken = (config.TERARCHITECT_AGENT_TOKEN ?? config.TERARCHITECT_WORKER_API_KEY)!
  // The project's (else the app's) GIT_AUTHOR_* setting names the commits; unset, the agent's
  // environment does. Filled in from the context before anything is committed.
  const author = { name: config.GIT_AUTHOR_NAME, email: config.GIT_AUTHOR_EMAIL }
  const gitFor = (cwd: string) => createGit({ cwd, env: config.baseEnv, credential: { token: jobToken, url: repoUrl }, author, signal: run.cancel.signal })
  const [planned, opened] = await Promise.allSettled([planJob(run), openWorkspace({ config, log: run.log, reporter: run.reporter, repoUrl, gitFor, ...(run.prepared ? { prepared: run.prepared } : {}) })])
  const workspace = opened.status === 'fulfilled' ? opened.value : undefined
  try {
    // A refused context or a bad setting says more than the clone's failure it may have caused.
    if (planned.status === 'rejected') throw planned.reason
    if (!workspace) throw (opened as PromiseRejectedResult).reason
    const { context, probing, ...job } = planned.value
    Object.assign(author, { name: context.settings.GIT_AUTHOR_NAME || config.GIT_AUTHOR_NAME, email: context.settings.GIT_AUTHOR_EMAIL || config.GIT_AUTHOR_EMAIL })
    if (workspace.cloned) await workspace.git.setIdentity()
    const probe = await probing
    if (probe && !probe.ok) throw agentError('config', `worker ${job.worker.name} cannot run here: ${probe.reason}`)
    // A probe's first line is not always the version (Codex may print a warning first).
    const version = probe?.ok ? /\d+\.\d+[\w.+-]*/.exec(probe.version ?? '')?.[0] : undefined
    if (probe) run.reporter.step('probe', `${job.worker.name}${version ? ` ${version}` : ''} is ready`)
    return withWorkspace(run, { context, ...job }, workspace)
  } catch (error) {
    await workspace?.close()
    throw error
  }
}

type ProbeResult = Awaited<ReturnType<NonNullable<Worker['probe']>>> | { ok: false; reason: string } | undefined

/**
 * The job's context, memories, settings and worker, and the worker's probe started: everything
 * that can be known to fail before the repository is needed.
 */
async function planJob(run: AgentRun): Promise<{ context: WorkerContext; settings: AgentSettings; worker: Worker; budget: Budget; probing: Promise<ProbeResult> }> {
  const { config, reporter } = run
  const context = await run.api.workerContext(run.cancel.signal)
  context.memories = await recallMemories(run, context)
  let settings: AgentSettings
  try {
    settings = resolveAgentSettings(config, context.settings, context.project.worker_mode)
  } catch (error) {
    throw agentError('config', (error as Error).message, error)
  }
  for (const secret of [settings.worker.apiKey, settings.director?.apiKey]) redact(secret)
  const budget = createBudget(settings.budget)
  if (!context.repo_url) throw agentError('config', `project ${context.project.id} has no repo_url`)
  if (!settings.worker.model) throw agentError('config', 'WORKER_MODEL is not set')

  let worker: Worker
  try {
    worker = run.workerFor(settings.workerMode)
  } catch (error) {
    throw agentError('config', `unknown worker mode ${JSON.stringify(settings.workerMode)}: ${(error as Error).message}`, error)
  }
  const mode = settings.director
    ? `Director ${settings.director.model}, budgets ${settings.budget.maxTurns} turns / ${settings.budget.maxMinutes} min / ${settings.budget.maxTokens} tokens`
    : `single-shot (no AGENT_LLM_URL/AGENT_MODEL), budgets ${settings.budget.maxMinutes} min / ${settings.budget.maxTokens} tokens`
  reporter.step('context', `${ticketRef(context.project, context.ticket)} "${context.ticket.title}" of ${context.project.name}: ${linkedSummary(context)}; ${context.notes.length} notes; worker ${worker.name} (${settings.worker.model}); ${mode}`)
  // The probe (`<cli> --version`, up to 1.5 s for a node-based CLI; a warm container ran it already) runs while the repo is cloned.
  const probing: Promise<ProbeResult> = (worker.probe?.() ?? Promise.resolve(undefined)).catch((error: Error) => ({ ok: false as const, reason: error.message }))
  return { context, settings, worker, budget, probing }
}

function withWorkspace(run: AgentRun, job: { context: WorkerContext; settings: AgentSettings; worker: Worker; budget: Budget }, workspace: Workspace): OpenJob {
  const { config, reporter } = run
  const { context, settings, worker, budget } = job
  const git = workspace.git
  const commandEnv = { ...config.baseEnv, HOME: workspace.home }
  return {
    context,
    settings,
    worker,
    workerSettings: settings.worker,
    git,
    workspace,
    budget,
    async runCommand(kind, command) {
      const outcome = await runProjectCommand(command, {
        cwd: workspace.dir,
        env: commandEnv,
        timeoutMs: Math.min(config.TEST_TIMEOUT_SEC * 1000, Math.max(1000, budget.remainingMs())),
        maxBytes: config.TEST_OUTPUT_MAX_BYTES,
        signal: run.cancel.signal,
      })
      const result = outcome.timedOut ? 'timed out' : `exit ${outcome.exitCode}`
      reporter.step(kind, `${kind === 'setup' ? 'setup command' : 'test command'} \`${command}\`: ${result} in ${outcome.seconds.toFixed(1)} s`, outcome.output,
        { kind: 'command', cmd: command, exit: outcome.exitCode, output: outcome.output.slice(-2000) })
      return outcome
    },
    close: () => workspace.close(),
  }
}

/**
 * Recalls the project memories closest to the ticket (past tickets' outcomes, review outcomes,
 * notes, the project description) for the Director's and the worker's prompts, and says on the
 * ticket which were used. Memory is an aid: when it cannot be reached the job goes on without it.
 */
async function recallMemories(run: AgentRun, context: WorkerContext): Promise<RecalledMemory[]> {
  const query = `${context.ticket.title}\n${context.ticket.description}`.slice(0, 10000)
  try {
    const { mode, results } = await run.api.recall(query, MEMORY_RECALL, run.cancel.signal)
    const used = results.filter((memory) => !(memory.kind === 'ticket' && memory.title.includes(`#${context.ticket.id}`)))
    const titles = used.map((memory) => `"${memory.title || memory.kind}"`).join(', ')
    run.reporter.step('memory', used.length ? `using ${used.length} project memories (${mode} search): ${titles}` : 'no project memories match this ticket', undefined, {
      kind: 'memory',
      mode,
      used: used.map(({ id, kind, title, score }) => ({ id, kind, title, score })),
    })
    return used
  } catch (error) {
    if (run.cancel.signal.aborted) throw error
    run.reporter.step('memory', `project memory unavailable, going on without it: ${(error as Error).message}`)
    return []
  }
}
