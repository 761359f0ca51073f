/**
 * Which pull request a job's work is, decided by the app, never by the agent. A ticket job's PR is
 * the one the app opened or found for `ticket-<id>` (openJobPull records it on the job), or one the
 * forge shows with head `ticket-<id>` in the project's repository; a review job's PR is the one it
 * was created for. The number an agent reports on complete must be that PR (409 otherwise), and a
 * PR link is stored only as https on the forge's web host, exactly the request's page as the forge
 * plugin names it (`requestUrl`; GitHub: `/<owner>/<name>/pull/<n>`): the board links what is
 * stored, and review tracking follows the stored number.
 */
import type { AppContext } from '../context.ts'
import { badRequest, conflict, isAppError } from '../errors.ts'
import type { Job } from '../types.ts'
import { projectForge, recordJobPull } from './forge-actions.ts'
import { forgeAccess } from './forge-token.ts'
import { getProject } from './projects.ts'

/** `url` when it is https and names the same page as `canonical` (the request's page on the forge); else null. */
export function pullPageUrl(canonical: string, url: string): string | null {
  let page: URL
  let want: URL
  try {
    page = new URL(url)
    want = new URL(canonical)
  } catch {
    return null
  }
  const exact = page.pathname.toLowerCase() === want.pathname.toLowerCase() && !page.search && !page.hash && !page.username && !page.password
  return page.protocol === 'https:' && page.host === want.host && exact ? page.href : null
}

/**
 * The PR a completing job stores on its ticket, from what its agent reported: the job's own PR
 * (recorded, or checked at the forge), and its page link when it passes `pullPageUrl` (the link is
 * built from the number when the agent sent none). 409 for another PR, 400 for another link.
 */
export async function completedJobPull(
  ctx: AppContext,
  job: Job,
  reported: { pr_number?: number | null | undefined; pr_url?: string | null | undefined },
): Promise<{ pr_number: number | null; pr_url: string | null }> {
  const claimed = reported.pr_number ?? null
  let number = job.pr_number
  if (claimed !== null && claimed !== number) {
    if (job.kind === 'review' || job.kind === 'ci_fix') {
      throw conflict(`PR #${claimed} is not the PR this review job works on (#${number})`, [{ path: '/body/pr_number', message: `must be ${number}` }])
    }
    await checkTicketPull(ctx, job, claimed)
    await recordJobPull(ctx, job, claimed)
    number = claimed
  }
  if (number === null) {
    if (reported.pr_url) throw conflict(`no pull request was opened for ticket-${job.ticket_id}: open it with POST …/forge/pull`, [{ path: '/body/pr_url', message: 'no PR of this job' }])
    return { pr_number: null, pr_url: null }
  }
  const project = await getProject(ctx.sql, job.project_id)
  const { forge, apiUrl } = await forgeAccess(ctx, project)
  const repo = project.repo_url ? forge.parseRepo(project.repo_url, apiUrl) : null
  if (!repo) return { pr_number: number, pr_url: null }
  // A plugin without `requestUrl` is asked for the request's page.
  const canonical = forge.requestUrl ? forge.requestUrl(apiUrl, repo, number) : (await (await projectForge(ctx, project)).client.getRequest(repo, number)).url
  if (!reported.pr_url) return { pr_number: number, pr_url: pullPageUrl(canonical, canonical) }
  const url = pullPageUrl(canonical, reported.pr_url)
  if (!url) throw badRequest(`pr_url must be the page of PR #${number}: ${canonical} (https, on the forge's web host)`, [{ path: '/body/pr_url', message: `expected ${canonical}` }])
  return { pr_number: number, pr_url: url }
}

/** 409 unless the forge shows PR `number` with head `ticket-<id>` in the project's repository. */
async function checkTicketPull(ctx: AppContext, job: Job, number: number): Promise<void> {
  const head = `ticket-${job.ticket_id}`
  const refuse = (why: string) => conflict(`PR #${number} is not the pull request of ${head}: ${why}`, [{ path: '/body/pr_number', message: why }])
  try {
    const forge = await projectForge(ctx, await getProject(ctx.sql, job.project_id))
    const pull = await forge.client.getRequest(forge.repo, number)
    if (pull.headBranch !== head) throw refuse(`its head is ${pull.headBranch || 'unknown'}`)
    if (!pull.sameRepo) throw refuse(`its head is not in ${forge.repo}`)
  } catch (error) {
    if (isAppError(error) && error.status === 409) throw error
    throw refuse(`the app did not open it and cannot confirm it at the forge (${(error as Error).message})`)
  }
}
