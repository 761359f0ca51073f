/**
 * The ticket flow (DESIGN.md §7.1): worker-context → workspace → `ticket-<id>` (continued from the
 * remote when it exists) → setup command → Director/Worker → commit → push (leased on the commit
 * the attempt started from) → PR → `POST …/complete`, which moves the ticket to In Review with the
 * PR link. A retry whose earlier attempt already pushed the finished change goes straight to the PR.
 */
import type { Usage } from '../types.ts'
import type { AgentRun, OpenJob } from './job.ts'
import { openJob } from './job.ts'
import { ticketPrompt, ticketRef } from './prompt.ts'
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
  const { git, context, workspace } = job
  const reporter = run.reporter
  const ticket = context.ticket
  const branch = `ticket-${ticket.id}`
  const configured = run.config.DEFAULT_BRANCH ?? context.project.default_branch ?? undefined
  const remote = await workspace.fetch(configured ? [configured, branch] : [branch])
  const base = configured ?? remote.head
  if (!base) throw agentError('git', 'cannot detect the default branch: the remote has no HEAD (set the project default branch)')
  const baseCommit = remote.commits.get(base)
  if (!baseCommit) throw agentError('git', `the base branch ${base} does not exist on the remote`)
  // The branch as earlier attempts and runs left it; every push of this attempt is leased on it.
  const startedFrom = remote.commits.get(branch) ?? null
  await workspace.checkout(startedFrom ?? baseCommit)
  const mergeBase = (await git.run(['merge-base', 'HEAD', baseCommit])).stdout.trim()
  reporter.step('branch', startedFrom
    ? `continuing ${branch} from the remote (${await git.commitsAhead(mergeBase)} commits over ${base})`
    : `created ${branch} from ${base} (${mergeBase.slice(0, 10)})`, undefined, { kind: 'branch', branch, base, continued: !!startedFrom })

  const title = `${ticketRef(job.context.project, ticket)}: ${ticket.title}`
  const prBody = (summary: string, tests?: CommandOutcome) => pullBody(run, job, summary, tests)
  const finished = startedFrom ? await finishedEarlier(run, job, [`${mergeBase}..HEAD`]) : undefined
  if (finished) {
    // An earlier attempt of this job pushed its whole change and stopped before the PR or the
    // report (its coordinator was lost): what is left is the PR and the completion.
    reporter.step('retry', `an earlier attempt of job ${run.config.JOB_ID} already pushed its change to ${branch} (${finished.commit.slice(0, 10)}); going on to the pull request`)
    await complete(run, job, await openPullRequest(run, job, { title, head: branch, base, body: prBody(finished.summary) }), finished.summary)
    return
  }

  const facts = { cwd: workspace.dir, branch, base, testCommand: context.project.test_command }
  const work = await doWork(run, job, { task: ticketPrompt(context, facts), facts, base: mergeBase }, async (summary) => {
    // DRAFT_PR_ON_BUDGET: propose what exists so far, marked as a draft, when there is anything.
    if (!(await git.status()) && (await git.commitsAhead(mergeBase)) === 0) return undefined
    await commitWork(run, job, commitMessage(run, job, `${summary}\n\n${UNFINISHED}`), mergeBase)
    await pushBranch(run, job, branch, startedFrom)
    return (await openPullRequest(run, job, { title: `[draft] ${title}`, head: branch, base, body: prBody(summary || 'Unfinished work: a budget ran out.'), draft: true })).html_url
  })

  const summary = work.summary || `Changes for ${ticketRef(job.context.project, ticket)} by ${job.worker.name}.`
  await commitWork(run, job, commitMessage(run, job, summary), mergeBase)
  await pushBranch(run, job, branch, startedFrom)
  await complete(run, job, await openPullRequest(run, job, { title, head: branch, base, body: prBody(summary, work.tests) }), summary)
}

async function complete(run: AgentRun, job: OpenJob, pull: { html_url: string; number: number }, summary: string): Promise<void> {
  const ticket = job.context.ticket
  await run.api.complete({ pr_url: pull.html_url, pr_number: pull.number, summary: summary.slice(0, 20000), usage: usageOf(job) })
  run.reporter.step('complete', `${ticketRef(job.context.project, ticket)} is in review: ${pull.html_url}`, undefined, { kind: 'complete', pr_url: pull.html_url, pr_number: pull.number, usage: usageOf(job) })
}

/** Marks the commit of a draft proposed when a budget ran out: not a finished change. */
const UNFINISHED = '(unfinished: a budget ran out)'

/**
 * The finished change an earlier attempt of this same job left on the branch, if any: a commit
 * among `range` (git log arguments) whose message is this job's (`Terarchitect job <id> (…)`) and
 * not a draft's. A rerun of the ticket is a new job, so it works on top instead.
 */
export async function finishedEarlier(run: AgentRun, job: OpenJob, range: string[]): Promise<{ commit: string; summary: string } | undefined> {
  if (!run.config.JOB_ID) return undefined
  const marker = `Terarchitect job ${run.config.JOB_ID} (`
  const log = (await job.git.run(['log', '--format=%H%x00%B%x01', ...range])).stdout
  for (const entry of log.split('\x01')) {
    const [commit, message] = entry.trim().split('\x00') as [string, string | undefined]
    if (!message || message.includes(UNFINISHED)) continue
    const lines = message.trim().split('\n')
    if (!lines.some((line) => line.startsWith(marker))) continue
    const summary = lines.slice(1).filter((line) => !line.startsWith(marker)).join('\n').trim()
    return { commit, summary: summary || `Changes for ${ticketRef(job.context.project, job.context.ticket)}.` }
  }
  return undefined
}

export function commitMessage(run: AgentRun, job: OpenJob, summary: string): string {
  const ticket = job.context.ticket
  return `${ticketRef(job.context.project, ticket)}: ${ticket.title}\n\n${summary.trim()}\n\nTerarchitect job ${run.config.JOB_ID ?? ''} (${job.worker.name})`.trim()
}

/** The PR description: the summary, the ticket, how it was made, and what the tests said. */
export function pullBody(run: AgentRun, job: OpenJob, summary: string, tests?: CommandOutcome): string {
  const ticket = job.context.ticket
  const usage = job.budget.usage
  const lines = [
    summary.trim(),
    '',
    '---',
    `Ticket ${ticketRef(job.context.project, ticket)}: ${ticket.title} (project ${job.context.project.name})`,
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
