/**
 * Following one request's CI: for an open request the app tracks and its agent opened, the head
 * commit as the forge has it now and that commit's checks (the plugin's optional `checks`). Failed
 * checks are the agent's to fix only when a job of the project pushed exactly that commit to the
 * request's branch through the app's git relay (relay-pushes.ts): every agent push goes through it,
 * and a commit's author name proves nothing (anyone with push access can write under the agent's).
 * Any other head commit is a person's; the request's commit list is read only to name its author.
 * The finding is recorded under the request's lock (record.ts). Forges without the capability are
 * not followed. Called by the webhook fast path and the poller alike.
 */
import type { AppContext } from '../../context.ts'
import type { ForgeClient } from '../../forge.ts'
import { relayPusher } from '../relay-pushes.ts'
import { reviewAccess } from '../review/forge.ts'
import { applyPullState, getPr, type PrRow } from '../review/prs.ts'
import { failingChecks } from './excerpt.ts'
import { judge } from './judge.ts'
import { recordFinding, type Finding, type Recorded } from './record.ts'
import { ciFixSettings } from './settings.ts'

export type FollowResult = Recorded & { skipped?: string }

const none = (skipped: string): FollowResult => ({ round: null, jobId: null, skipped })

/** True when the request was opened for the ticket by one of its agent's jobs (forge-actions.ts records it). */
async function agentOpened(ctx: AppContext, pr: PrRow): Promise<boolean> {
  const [row] = await ctx.sql`select 1 from agent_jobs where ticket_id = ${pr.ticket_id} and kind = 'ticket' and pr_number = ${pr.number} limit 1`
  return Boolean(row)
}

export async function followPr(ctx: AppContext, prId: number, client?: ForgeClient | null): Promise<FollowResult> {
  const pr = await getPr(ctx.sql, prId)
  if (!pr || !pr.tracking || pr.state !== 'open' || !pr.repo) return none('not an open tracked request')
  if (!(await agentOpened(ctx, pr))) return none('not opened by the agent')
  const forge = client === undefined ? (await reviewAccess(ctx, pr.project_id)).client : client
  if (!forge?.checks) return none('the forge has no checks capability (or no token)')
  const pull = await forge.getRequest(pr.repo, pr.number)
  if (pull.state !== 'open') {
    await applyPullState(ctx, pr.id, { state: pull.state })
    return none(`the request is ${pull.state}`)
  }
  const settings = await ciFixSettings(ctx, pr.project_id)
  const [known] = await ctx.sql`select outcome from ci_rounds where pr_id = ${pr.id} and sha = ${pull.headSha}`
  if (known && known.outcome !== 'waiting') {
    // Only settles a round whose job ended; the commit's own verdict is written already.
    return recordFinding(ctx, pr.id, pull.headSha, { kind: 'pending', started: true, queued: [] }, settings)
  }
  const verdict = judge(await forge.checks.list(pr.repo, pull.headSha))
  let finding: Finding
  if (verdict.kind !== 'failed') finding = verdict
  else if (pull.sameRepo && (await relayPusher(ctx.sql, pr.project_id, pull.headBranch, pull.headSha)) !== null) {
    finding = { kind: 'failed', failing: await failingChecks(ctx, pr.project_id, verdict.failing) }
  } else finding = { kind: 'person', branch: pull.headBranch, author: await headAuthor(forge, pr, pull.headSha) }
  return recordFinding(ctx, pr.id, pull.headSha, finding, settings)
}

/** The git author name of the head commit as the forge lists the request's commits (for the record's reason); null when not listed (or listed without one). */
async function headAuthor(forge: ForgeClient, pr: PrRow, sha: string): Promise<string | null> {
  const commits = await forge.requestCommits(pr.repo!, pr.number)
  return commits.find((commit) => commit.sha === sha)?.author ?? null
}
