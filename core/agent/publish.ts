/**
 * Proposing the work: commit whatever the worker left, push the branch, and have the app open (or
 * find) the PR.
 * Every step is a job event; a push or PR failure is an error, never a quiet success. The last
 * cancel check happens right before the push, so a cancelled job never pushes.
 */
import { redactText } from '../log.ts'
import { agentError } from './errors.ts'
import type { AgentRun, OpenJob } from './job.ts'
import type { OpenedPull } from './api.ts'

/** Commits the remaining changes; throws `nothing_to_push` when the branch has nothing new over `base`. */
export async function commitWork(run: AgentRun, job: OpenJob, message: string, base: string): Promise<string> {
  const commit = await job.git.commitAll(redactText(message))
  const ahead = await job.git.commitsAhead(base)
  if (ahead === 0) throw agentError('nothing_to_push', 'the job produced no change to push')
  const files = await job.git.changedFiles(base)
  const head = await job.git.head()
  run.reporter.step('commit', commit ? `committed ${head.slice(0, 10)}: ${files.length} files changed (${ahead} commits on the branch)` : `no uncommitted changes left; ${ahead} commits on the branch`,
    files.join('\n'), { kind: 'commit', sha: head, files: files.slice(0, 200) })
  return head
}

/** Pushes HEAD to `branch` while the remote branch is still at `expected` (null: absent), so a newer attempt's work is never overwritten. */
export async function pushBranch(run: AgentRun, job: OpenJob, branch: string, expected: string | null): Promise<void> {
  await run.cancel.check()
  try {
    await job.workspace.push(branch, expected)
  } catch (error) {
    throw agentError('git', `push to ${branch} failed: ${(error as Error).message}`, error)
  }
  run.reporter.step('push', `pushed ${branch}`)
}

/**
 * Asks the app to open the PR of the pushed branch (the app holds the forge token and opens it only
 * from this job's `ticket-<id>`), or to reuse the open one of a continued branch.
 */
export async function openPullRequest(run: AgentRun, _job: OpenJob, fields: { title: string; head: string; base: string; body: string; draft?: boolean }): Promise<{ number: number; html_url: string }> {
  let pull: OpenedPull
  try {
    pull = await run.api.openPullRequest({ title: fields.title.slice(0, 250), body: redactText(fields.body), base: fields.base, draft: !!fields.draft })
  } catch (error) {
    throw agentError('github', `opening the pull request failed (the branch ${fields.head} is pushed): ${(error as Error).message}`, error)
  }
  const summary = pull.created ? `opened ${fields.draft ? 'draft ' : ''}PR #${pull.number}: ${pull.url}` : `updated the open PR #${pull.number}: ${pull.url}`
  run.reporter.step('pr', summary, undefined, { kind: 'pull_request', number: pull.number, url: pull.url, created: pull.created, draft: !!fields.draft })
  return { number: pull.number, html_url: pull.url }
}
