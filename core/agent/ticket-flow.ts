/**
 * The ticket flow (DESIGN.md §7.1): worker-context → clone → branch `ticket-<id>` (continued when
 * it exists on the remote) → setup command → Director/Worker → commit → push → PR →
 * `POST …/complete`, which moves the ticket to In Review with the PR link.
 */
import type { Usage } from '../types.ts'
import type { AgentRun, OpenJob } from './job.ts'
import { openJob } from './job.ts'
import { ticketPrompt } from './prompt.ts'
import { commitWork, openPullRequest, pushBranch } from './publish.ts'
import type { CommandOutcome } from './checks.ts'
import { agentError } from './errors.ts'
import { doWork } from './work.ts'

export async function runTicketFlow(run: AgentRun): Promise<void> {
  const job = await openJob(run)
  try {
    await ticketWork(run, job)
  } finally {
    await job.close()
  }
}

async function ticketWork(run: AgentRun, job: OpenJob): Promise<void> {
  const { git, context } = job
  const reporter = run.reporter
  const ticket = context.ticket
  const base = run.config.DEFAULT_BRANCH ?? context.project.default_branch ?? (await git.defaultBranch())
  if (!(await git.hasRemoteBranch(base))) throw agentError('git', `the base branch ${base} does not exist on the remote`)
  const branch = `ticket-${ticket.id}`
  const continued = await git.hasRemoteBranch(branch)
  await git.checkout(branch, continued ? `origin/${branch}` : `origin/${base}`)
  const mergeBase = (await git.run(['merge-base', 'HEAD', `origin/${base}`])).stdout.trim()
  reporter.step('branch', continued
    ? `continuing ${branch} from the remote (${await git.commitsAhead(mergeBase)} commits over ${base})`
    : `created ${branch} from ${base} (${mergeBase.slice(0, 10)})`, undefined, { kind: 'branch', branch, base, continued })

  if (context.project.setup_command?.trim()) await job.runCommand('setup', context.project.setup_command.trim())

  const facts = { cwd: job.workspace.dir, branch, base, testCommand: context.project.test_command }
  const title = ticket.title
  const prBody = (summary: string, tests?: CommandOutcome) => pullBody(run, job, summary, tests)
  const work = await doWork(run, job, { task: ticketPrompt(context, facts), facts, base: mergeBase }, async (summary) => {
    // DRAFT_PR_ON_BUDGET: propose what exists so far, marked as a draft, when there is anything.
    if (!(await git.status()) && (await git.commitsAhead(mergeBase)) === 0) return undefined
    await commitWork(run, job, commitMessage(run, job, `${summary}\n\n(unfinished: a budget ran out)`), mergeBase)
    await pushBranch(run, job, branch)
    return (await openPullRequest(run, job, { title: `[draft] ${title}`, head: branch, base, body: prBody(summary || 'Unfinished work: a budget ran out.'), draft: true })).html_url
  })

  const summary = work.summary || `Changes for ticket #${ticket.id} by ${job.worker.name}.`
  await commitWork(run, job, commitMessage(run, job, summary), mergeBase)
  await pushBranch(run, job, branch)
  const pull = await openPullRequest(run, job, { title, head: branch, base, body: prBody(summary, work.tests) })
  await run.api.complete({ pr_url: pull.html_url, pr_number: pull.number, summary: summary.slice(0, 20000), usage: usageOf(job) })
  reporter.step('complete', `ticket #${ticket.id} is in review: ${pull.html_url}`, undefined, { kind: 'complete', pr_url: pull.html_url, pr_number: pull.number, usage: usageOf(job) })
}

export function commitMessage(run: AgentRun, job: OpenJob, summary: string): string {
  const ticket = job.context.ticket
  return `Ticket #${ticket.id}: ${ticket.title}\n\n${summary.trim()}\n\nTerarchitect job ${run.config.JOB_ID ?? ''} (${job.worker.name})`.trim()
}

/** The PR description: the summary, the ticket, how it was made, and what the tests said. */
export function pullBody(run: AgentRun, job: OpenJob, summary: string, tests?: CommandOutcome): string {
  const ticket = job.context.ticket
  const usage = job.budget.usage
  const lines = [
    summary.trim(),
    '',
    '---',
    `Ticket #${ticket.id}: ${ticket.title} (project ${job.context.project.name})`,
    `Worker: ${job.worker.name} (${job.workerSettings.model})${job.settings.director ? `, directed by ${job.settings.director.model}` : ', single-shot'}; ${job.budget.turns} turn(s), ${usage.input_tokens + usage.output_tokens} tokens`,
  ]
  if (tests) lines.push(`Tests: \`${tests.command}\` ${tests.timedOut ? 'timed out' : `exited ${tests.exitCode}`}`)
  lines.push('', `<!-- terarchitect:ticket=${ticket.id} job=${run.config.JOB_ID ?? ''} -->`)
  return lines.join('\n')
}

export function usageOf(job: OpenJob): Usage {
  const { input_tokens, output_tokens, cost_usd } = job.budget.usage
  return cost_usd === undefined ? { input_tokens, output_tokens } : { input_tokens, output_tokens, cost_usd }
}
