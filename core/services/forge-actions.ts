/**
 * What an agent asks of the forge, done by the app with the forge token the agent never holds:
 * the review context of a review job, the branch a job may push, opening the pull request of a
 * ticket job's branch and replying on a review job's PR. Everything is bound to the job: a ticket
 * job opens a PR only from `ticket-<id>` (and the app records which), a review (or CI-fix) job pushes only to
 * the head branch of the PR the app tracks for its ticket, in the project's repository, and replies
 * only on that PR.
 */
import type { AppContext } from '../context.ts'
import { conflict, unprocessable } from '../errors.ts'
import type { Forge, ForgeClient } from '../forge.ts'
import { redactText } from '../log.ts'
import type { Job, Project } from '../types.ts'
import { forgeAccess, forgeToken, tokenSetting } from './forge-token.ts'
import { getProject } from './projects.ts'
import { REPLY_MARKER } from './review/comments.ts'
import { linkOfTicket } from './intake/links.ts'

export { forgeToken }

export interface ProjectForge {
  forge: Forge
  kind: string
  /** The repository path on the forge (`owner/name`, `group/sub/name`). */
  repo: string
  apiUrl: string
  /** The forge token; sent only to `apiUrl` and the project's git host. */
  token: string
  client: ForgeClient
}

/** The forge of a project with a client, or a 422 naming what is missing. */
export async function projectForge(ctx: AppContext, project: Project): Promise<ProjectForge> {
  const { forge, kind, token, apiUrl } = await forgeAccess(ctx, project)
  const setting = tokenSetting(kind)
  if (!token) throw unprocessable(`${setting} is not set: the app cannot reach the forge`, [{ path: `/settings/${setting}`, message: 'not set' }])
  const repo = project.repo_url ? forge.parseRepo(project.repo_url, apiUrl) : null
  if (!repo) throw unprocessable(`project ${project.id} has no repo_url naming a repository on the forge`, [{ path: '/project/repo_url', message: 'repository path expected' }])
  return { forge, kind, repo, apiUrl, token, client: forge.connect({ apiUrl, token }) }
}

/** What a review job's agent needs about its PR and comment (served with worker-context). */
export interface ReviewContext {
  pr: { number: number; url: string; title: string; state: string; head_branch: string; head_sha: string; base_branch: string; same_repo: boolean }
  comment: { body: string; github_comment_id: number | null }
}

/** The review job's PR as the forge has it now. */
export async function reviewContext(ctx: AppContext, job: Job): Promise<ReviewContext> {
  if ((job.kind !== 'review' && job.kind !== 'ci_fix') || !job.pr_number) throw conflict(`job ${job.id} is not a review or CI-fix job`)
  const forge = await projectForge(ctx, await getProject(ctx.sql, job.project_id))
  const pull = await forge.client.getRequest(forge.repo, job.pr_number)
  return {
    pr: {
      // `state` as agents have always read it: a merged request is closed.
      number: pull.number, url: pull.url, title: pull.title, state: pull.state === 'open' ? 'open' : 'closed', head_branch: pull.headBranch,
      head_sha: pull.headSha, base_branch: pull.baseBranch, same_repo: pull.sameRepo,
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
  const project = await getProject(ctx.sql, job.project_id)
  const { forge, apiUrl } = await forgeAccess(ctx, project)
  const repo = project.repo_url ? forge.parseRepo(project.repo_url, apiUrl) : null
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
  const existing = await forge.client.findOpenRequest(forge.repo, head, fields.base)
  if (existing) {
    await recordJobPull(ctx, job, existing.number)
    return { number: existing.number, url: existing.url, created: false, draft: existing.draft }
  }
  const body = await withCloseKeyword(ctx, job, forge, redactText(fields.body))
  const opened = await forge.client.openRequest(forge.repo, { title: fields.title.slice(0, 250), head, base: fields.base, body, draft: fields.draft })
  await recordJobPull(ctx, job, opened.number)
  return { number: opened.number, url: opened.url, created: true, draft: fields.draft }
}

/** A ticket imported from an issue of this repository: its request's body closes the issue on merge (`Closes #7`). */
async function withCloseKeyword(ctx: AppContext, job: Job, forge: ProjectForge, body: string): Promise<string> {
  const link = job.ticket_id === null ? null : await linkOfTicket(ctx.sql, job.ticket_id)
  if (!link || !forge.client.issues || link.repo.toLowerCase() !== forge.repo.toLowerCase()) return body
  const keyword = forge.client.issues.closeKeyword(link.issue_number)
  return body.includes(keyword) ? body : `${body.trimEnd()}\n\n${keyword}`
}

/** Replies on a review job's PR; the reply always carries REPLY_MARKER so ingestion skips it. */
export async function replyOnJobPull(ctx: AppContext, job: Job, body: string) {
  if ((job.kind !== 'review' && job.kind !== 'ci_fix') || !job.pr_number) throw conflict(`job ${job.id} is not a review or CI-fix job: it has no PR to reply on`)
  const forge = await projectForge(ctx, await getProject(ctx.sql, job.project_id))
  const text = redactText(body)
  const reply = await forge.client.comment(forge.repo, job.pr_number, text.includes(REPLY_MARKER) ? text : `${REPLY_MARKER}\n${text}`)
  return { id: reply.id, url: reply.url }
}
