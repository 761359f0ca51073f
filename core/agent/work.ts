/**
 * Runs the work of a job (the project's setup command, then the Director loop or a single shot; the
 * Director's plan is asked for beside the setup command) in an open job's workspace and turns a bad
 * outcome into the matching AgentError. A budget that ran out may still leave a draft PR behind
 * (DRAFT_PR_ON_BUDGET), which the caller opens through `onBudget` before the error is raised.
 */
import { runDirected, runSingleShot, startDirector, type WorkOutcome } from './director.ts'
import { AgentError, agentError } from './errors.ts'
import type { AgentRun, OpenJob } from './job.ts'
import type { WorkspaceFacts } from './prompt.ts'

export interface WorkInput {
  task: string
  facts: WorkspaceFacts
  /** Commit the diff shown to the Director is taken against. */
  base: string
}

export type DoneWork = Extract<WorkOutcome, { status: 'done' }>

export async function doWork(run: AgentRun, job: OpenJob, input: WorkInput, onBudget?: (summary: string) => Promise<string | undefined>): Promise<DoneWork> {
  const testCommand = job.context.project.test_command?.trim()
  const work = {
    turn: {
      worker: job.worker,
      settings: job.workerSettings,
      cwd: job.workspace.dir,
      home: job.workspace.home,
      git: job.git,
      reporter: run.reporter,
      budget: job.budget,
      signal: run.cancel.signal,
    },
    budget: job.budget,
    facts: input.facts,
    base: input.base,
    task: input.task,
    runTests: async () => (testCommand ? job.runCommand('tests', testCommand) : undefined),
    diffMaxBytes: run.config.DIFF_MAX_BYTES,
  }
  // The Director plans from the task alone, so it is asked while the setup command runs.
  const director = job.settings.director ? startDirector(work, job.settings.director) : undefined
  const setup = job.context.project.setup_command?.trim()
  if (setup) await job.runCommand('setup', setup)
  const outcome = director ? await runDirected(work, director) : await runSingleShot(work)
  if (outcome.status === 'done') return outcome
  if (outcome.status === 'failed') throw agentError('worker', outcome.reason)
  // Budget: say which one, optionally leave a draft PR, and end non-zero either way.
  let message = `budget exhausted: ${outcome.exhausted.name} (${outcome.exhausted.message})`
  const draft = job.settings.draftPrOnBudget && onBudget ? await onBudget(outcome.summary) : undefined
  message += draft ? `; the work so far is in draft PR ${draft}` : '; no pull request was opened'
  throw new AgentError('budget', message)
}
