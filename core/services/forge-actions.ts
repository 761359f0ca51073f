/**
 * What an agent asks of the forge, done by the app with the forge token the agent never holds:
 * the review context of a review job, the branch a job may push, opening the pull request of a
 * ticket job's branch and replying on a review job's PR. Everything is bound to the job: a ticket
 * job opens a PR only from `ticket-<id>` (and the app records which), a review job pushes only to
 * the head branch of the PR the app tracks for its ticket, in the project's repository, and replies
 * only on that PR.
 */
import type { AppContext } from '../context.ts'
import { conflict, unprocessable } from '../errors.ts'
import { createGithubClient, parseRepo, type GithubClient } from '../github-client.ts'
import { redactText } from '../log.ts'
import type { Job, Project } from '../types.ts'
import { forgeToken } from './forge-token.ts'
import { getProject } from './projects.ts'
import { REPLY_MARKER } from './review/comments.ts'

export { forgeToken }

export interface Forge {
  /** `owner/name` of the project's repository. */
  repo: string
  apiUrl: string
  /** The forge token; sent only to `apiUrl` and the project's git host. */
  token: string
  client: GithubClient
}


/** The forge of a project, or a 422 naming what is missing. */
export async function projectForge(ctx: AppContext, project: Project): Promise<Forge> {
  const { token, apiUrl } = await forgeToken(ctx, project)
  if (!token) throw unprocessable('GITHUB_TOKEN is not set: the app cannot reach the forge', [{ path: '/settings/GITHUB_TOKEN', message: 'not set' }])
  const repo = parseRepo(null, project.repo_url)
  if (!repo) throw unprocessable(`project ${project.id} has no repo_url naming owner/name`, [{ path: '/project/repo_url', message: 'owner/name expected' }])
  return { repo, apiUrl, token, client: createGithubClient({ apiUrl, token }) }
}

interface GithubPull {
  number: number
  html_url: string
  title: string
  state: string
  draft?: boolean
  head: { ref: string; sha: string; repo?: { full_name: string } | null }
  base: { ref: string }
}

/** What a review job's agent needs about its PR and comment (served with worker-context). */
export interface ReviewContext {
  pr: { number: number; url: string; title: string; state: string; head_branch: string; head_sha: string; base_branch: string; same_repo: boolean }
  comment: { body: string; github_comment_id: number | null }
}

/** The review job's PR as the forge has it now. */
export async function reviewContext(ctx: AppContext, job: Job): Promise<ReviewContext> {
  if (job.kind !== 'review' || !job.pr_number) throw conflict(`job ${job.id} is not a review job`)
  const forge = await projectForge(ctx, await getProject(ctx.sql, job.project_id))
  const { data } = await forge.client.get<GithubPull>(`/repos/${forge.repo}/pulls/${job.pr_number}`, `PR #${job.pr_number}`)
  const pull = data!
  const headRepo = pull.head.repo?.full_name
  return {
    pr: {
      number: pull.number, url: pull.html_url, title: pull.title, state: pull.state, head_branch: pull.head.ref, head_sha: pull.head.sha,
      // A null head.repo is a deleted fork: not this repository.
      base_branch: pull.base.ref, same_repo: !!headRepo && headRepo.toLowerCase() === forge.repo.toLowerCase(),
    },
    comment: { body: job.comment_body ?? '', github_comment_id: job.github_comment_id },
  }
}

/**
 * The one branch a job may push: `ticket-<id>` for a ticket job; for a review job the head branch of
 * its PR, when the app tracks that PR for the job's ticket in the project's repository, it is open,
 * and its head is in that repository (a fork's is not, nor a deleted fork's: GitHub's null head.repo).
 */
export async function jobBranch(ctx: AppContext, job: Job): Promise<string> {
  if (job.kind === 'ticket') return `ticket-${job.ticket_id}`
  const repo = parseRepo(null, (await getProject(ctx.sql, job.project_id)).repo_url)
  const [tracked] = await ctx.sql`select 1 from prs
    where ticket_id = ${job.ticket_id} and number = ${job.pr_number} and tracking and lower(repo) = lower(${repo ?? ''})`
  if (!tracked) throw conflict(`PR #${job.pr_number} is not a pull request the app tracks for ticket ${job.ticket_id}: nothing may be pushed for it`)
  const { pr } = await reviewContext(ctx, job)
  if (pr.state !== 'open') throw conflict(`PR #${pr.number} is ${pr.state}: nothing may be pushed for it`)
  if (!pr.same_repo) throw conflict(`PR #${pr.number} comes from a fork: its branch is not in the project's repository`)
  return pr.head_branch
}

/** Records the PR the app opened (or found open) for a ticket job's branch: the one its complete may report. */
export async function recordJobPull(ctx: AppContext, job: Job, number: number): Promise<void> {
  await ctx.sql`update agent_jobs set pr_number = ${number} where id = ${job.id} and kind = 'ticket'`
}

/** Opens the PR of a ticket job's branch into `base`, or returns the open one (a continued branch). */
export async function openJobPull(ctx: AppContext, job: Job, fields: { title: string; body: string; base: string; draft: boolean }) {
  if (job.kind !== 'ticket') throw conflict(`job ${job.id} is a ${job.kind} job: only ticket jobs open pull requests`)
  const forge = await projectForge(ctx, await getProject(ctx.sql, job.project_id))
  const head = `ticket-${job.ticket_id}`
  const owner = forge.repo.split('/')[0]!
  const query = new URLSearchParams({ state: 'open', head: `${owner}:${head}`, base: fields.base })
  const open = await forge.client.list<GithubPull>(`/repos/${forge.repo}/pulls?${query}`, `open PRs of ${head}`, { maxPages: 1 })
  const existing = (open.data ?? []).find((pull) => pull.head.ref === head)
  if (existing) {
    await recordJobPull(ctx, job, existing.number)
    return { number: existing.number, url: existing.html_url, created: false, draft: !!existing.draft }
  }
  const { data } = await forge.client.request<GithubPull>('POST', `/repos/${forge.repo}/pulls`, `open the PR of ${head}`, {
    body: { title: fields.title.slice(0, 250), head, base: fields.base, body: redactText(fields.body), draft: fields.draft, maintainer_can_modify: true },
  })
  await recordJobPull(ctx, job, data!.number)
  return { number: data!.number, url: data!.html_url, created: true, draft: fields.draft }
}

/** Replies on a review job's PR; the reply always carries REPLY_MARKER so ingestion skips it. */
export async function replyOnJobPull(ctx: AppContext, job: Job, body: string) {
  if (job.kind !== 'review' || !job.pr_number) throw conflict(`job ${job.id} is not a review job: it has no PR to reply on`)
  const forge = await projectForge(ctx, await getProject(ctx.sql, job.project_id))
  const text = redactText(body)
  const { data } = await forge.client.request<{ id: number; html_url: string }>('POST', `/repos/${forge.repo}/issues/${job.pr_number}/comments`,
    `reply on PR #${job.pr_number}`, { body: { body: text.includes(REPLY_MARKER) ? text : `${REPLY_MARKER}\n${text}` } })
  return { id: data!.id, url: data!.html_url }
}
