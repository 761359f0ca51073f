/**
 * The review flow (DESIGN.md §7.2): a comment on the ticket's PR is addressed on the PR's own head
 * branch (not a fresh branch), pushed there, and answered on the PR with a reply carrying
 * REPLY_MARKER, so review ingestion never takes the agent's own replies for new comments.
 */
import type { AgentRun, OpenJob } from './job.ts'
import { openJob } from './job.ts'
import { agentError } from './errors.ts'
import { reviewPrompt } from './prompt.ts'
import { commitWork, pushBranch } from './publish.ts'
import { finishedEarlier, usageOf } from './ticket-flow.ts'
import { doWork } from './work.ts'

/** Hidden in every reply the agent posts on a PR; review ingestion skips comments containing it. */
export const REPLY_MARKER = '<!-- terarchitect:reply -->'

export async function runReviewFlow(run: AgentRun): Promise<void> {
  const job = await openJob(run)
  try {
    await reviewWork(run, job)
  } finally {
    await job.close()
  }
}

async function reviewWork(run: AgentRun, job: OpenJob): Promise<void> {
  const { context } = job
  const reporter = run.reporter
  const prNumber = run.config.PR_NUMBER!
  const comment = run.config.COMMENT_BODY!
  const commentId = run.config.GITHUB_COMMENT_ID

  // The app read the PR from the forge for this job (worker-context); the agent holds no forge token.
  const pull = context.review?.pr
  if (!pull) throw agentError('app', `worker-context carries no review context for PR #${prNumber}`)
  if (pull.state !== 'open') throw agentError('github', `PR #${prNumber} is ${pull.state}; review comments are addressed on open PRs only`)
  if (!pull.same_repo) throw agentError('github', `PR #${prNumber} comes from a fork; the agent can push only to the project's repository`)
  const branch = pull.head_branch
  const start = (await job.workspace.fetch([branch])).commits.get(branch)
  if (!start) throw agentError('git', `the PR's head branch ${branch} is not on the remote`)
  await job.workspace.checkout(start)
  reporter.step('branch', `on ${branch} of PR #${prNumber} at ${start.slice(0, 10)} (base ${pull.base_branch})`, undefined,
    { kind: 'branch', branch, base: pull.base_branch, continued: true, pr_number: prNumber })

  // An earlier attempt of this job that pushed its commit and then lost its coordinator: reply and finish.
  const earlier = await finishedEarlier(run, job, ['-n', '20', 'HEAD'])
  if (earlier) reporter.step('retry', `an earlier attempt of job ${run.config.JOB_ID} already pushed its change to ${branch} (${earlier.commit.slice(0, 10)}); going on to the reply`)
  const { sha, summary } = earlier ? { sha: earlier.commit, summary: earlier.summary } : await addressComment(run, job, { branch, start, prNumber, prTitle: pull.title, base: pull.base_branch, comment, commentId })

  const quoted = comment.trim().split('\n').slice(0, 5).map((line) => `> ${line}`).join('\n')
  const reply = await run.api.replyOnPull(`${REPLY_MARKER}\n${quoted}\n\n${summary}\n\nPushed ${sha.slice(0, 10)} to \`${branch}\`.`)
    .catch((error: Error) => {
      throw agentError('github', `the changes were pushed, but replying on PR #${prNumber} failed: ${error.message}`, error)
    })
  // The app marks the comment addressed when it tracks it (review ingestion); the event is the record either way.
  let tracked: boolean | string = false
  if (commentId) tracked = await run.api.markAddressed(commentId).catch((error: Error) => `not marked: ${error.message}`)
  const note = tracked === true ? 'marked addressed' : tracked === false ? 'not tracked by the app' : tracked
  reporter.step('review', `comment ${commentId ?? '(no id)'} addressed in ${sha.slice(0, 10)} (${note}); replied ${reply.url}`, undefined, {
    kind: 'review_comment_addressed', pr_number: prNumber, github_comment_id: commentId ?? null, commit: sha, reply_id: reply.id, reply_url: reply.url,
    marked: tracked === true,
  })
  // No summary: the ticket's keeps describing the whole PR; the job records this run's usage.
  await run.api.complete({ pr_url: pull.url, pr_number: prNumber, usage: usageOf(job) })
  reporter.step('complete', `review of PR #${prNumber} done`, undefined, { kind: 'complete', pr_url: pull.url, pr_number: prNumber, usage: usageOf(job) })
}

/** The work on the comment: setup, Director/Worker, commit, push (leased on where the PR branch stood). */
async function addressComment(run: AgentRun, job: OpenJob, review: { branch: string; start: string; prNumber: number; prTitle: string; base: string; comment: string; commentId?: number }) {
  const { context } = job
  const facts = { cwd: job.workspace.dir, branch: review.branch, base: review.base, testCommand: context.project.test_command }
  const task = reviewPrompt(context, facts, { prNumber: review.prNumber, prTitle: review.prTitle, comment: review.comment })
  // The Director judges the diff of this job only: against where the PR branch stood.
  const work = await doWork(run, job, { task, facts, base: review.start })
  const summary = work.summary || `Addressed the review comment with ${job.worker.name}.`
  const commitMessage = `Address review comment on #${review.prNumber}${review.commentId ? ` (${review.commentId})` : ''}\n\n${summary}\n\nTerarchitect job ${run.config.JOB_ID ?? ''} (${job.worker.name})`
  const sha = await commitWork(run, job, commitMessage, review.start)
  await pushBranch(run, job, review.branch, review.start)
  return { sha, summary }
}
