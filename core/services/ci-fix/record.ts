/**
 * The follower's decisions, written under the request row's lock (the lock review dispatch takes
 * too: core/services/review/dispatch.ts), so a review job and a ci_fix job are never queued at once
 * for one ticket, and a webhook and the poller judging one commit together write its record once:
 * the record is inserted `waiting`, and only the caller whose update moves it on acts.
 *
 * First, records whose ci_fix job ended are settled (succeeded → `fixed`, else `fix_failed`).
 * Then the head commit's verdict: pending (or, past CI_FIX_START_TIMEOUT_SEC with nothing running,
 * `not_started`), `passed`, `skipped` (a person's commit: one no job of the project pushed through
 * the git relay; or rounds off), or failed: with rounds left and no active job on the ticket, ONE
 * ci_fix job is queued as the next round; at the cap, `exhausted`, once, with `ci_fix.exhausted`
 * sent through the notifications service. A failed verdict while another job of the ticket is
 * active stays `waiting`: that job's end brings the follower back (loop.ts).
 */
import type { AppContext, WriteScope } from '../../context.ts'
import { write } from '../../context.ts'
import { isAppError } from '../../errors.ts'
import { assertRunnable, enqueueJob } from '../jobs.ts'
import { insertJobEvents } from '../job-events.ts'
import { queueNotification } from '../notifications-events.ts'
import { getProject } from '../projects.ts'
import { relayPusher } from '../relay-pushes.ts'
import { PR_COLUMNS, type PrRow } from '../review/prs.ts'
import type { JobEventInput } from '../../types.ts'
import type { FailingCheck } from './excerpt.ts'
import { nameList } from './judge.ts'
import { ROUND_COLUMNS, roundEvent, roundsUsed, type CiOutcome, type CiRound } from './rounds.ts'
import type { CiFixSettings } from './settings.ts'

/** What the follower found for the head commit (forge reads done before the lock). */
export type Finding =
  | { kind: 'pending'; started: boolean; queued: string[] }
  | { kind: 'passed' }
  /** No job of the project pushed the head commit to `branch` through the git relay; `author` as the request's commit list shows it, if it does. */
  | { kind: 'person'; branch: string; author: string | null }
  | { kind: 'failed'; failing: FailingCheck[] }

export interface Recorded {
  round: CiRound | null
  jobId: number | null
}

const short = (sha: string) => sha.slice(0, 10)

export async function recordFinding(ctx: AppContext, prId: number, sha: string, finding: Finding, settings: CiFixSettings): Promise<Recorded> {
  return write(ctx, async (scope) => {
    const { tx } = scope
    const [locked] = await tx.unsafe(`select ${PR_COLUMNS} from prs where id = $1 for update`, [prId])
    if (!locked) return { round: null, jobId: null }
    const pr = locked as unknown as PrRow
    await settleRounds(scope, pr.id)
    if (!pr.tracking || pr.state !== 'open') return { round: null, jobId: null }
    await tx`insert into ci_rounds (pr_id, project_id, ticket_id, sha) values (${pr.id}, ${pr.project_id}, ${pr.ticket_id}, ${sha}) on conflict (pr_id, sha) do nothing`
    const [row] = await tx.unsafe(
      `select ${ROUND_COLUMNS}, (extract(epoch from now() - created_at) * 1000)::float8 as waited_ms from ci_rounds where pr_id = $1 and sha = $2 for update`,
      [pr.id, sha],
    )
    if (!row || row.outcome !== 'waiting') return { round: null, jobId: null }
    const finish = (outcome: CiOutcome, reason: string, extra: { failing?: FailingCheck[] } = {}) =>
      update(scope, row.id as number, { outcome, reason, failing: extra.failing })

    if (finding.kind === 'pending') {
      if (finding.started || (row.waited_ms as number) < settings.startTimeoutMs) return { round: null, jobId: null }
      const seconds = Math.round(settings.startTimeoutMs / 1000)
      const why = finding.queued.length
        ? `checks ${nameList(finding.queued)} on ${short(sha)} did not start within ${seconds} s (CI_FIX_START_TIMEOUT_SEC); not waited on`
        : `no checks were reported for ${short(sha)} within ${seconds} s (CI_FIX_START_TIMEOUT_SEC); not waited on`
      return { round: await finish('not_started', why), jobId: null }
    }
    if (finding.kind === 'passed') return { round: await finish('passed', `every check passed on ${short(sha)}`), jobId: null }
    if (finding.kind === 'person') {
      // The relay may have recorded the agent's push since the follower looked (it takes this
      // request's row to do so, relay-pushes.ts): left waiting, the next look judges it as the agent's.
      if ((await relayPusher(tx, pr.project_id, finding.branch, sha)) !== null) return { round: null, jobId: null }
      const why = `no job of this project pushed it to ${finding.branch} through the app's git relay`
      const reason = finding.author
        ? `the head commit ${short(sha)} by ${finding.author} was not pushed by the agent (${why}): CI is left to a person`
        : `the head commit ${short(sha)} was not pushed by the agent (${why}; the request's commit list does not show its author): CI is left to a person`
      return { round: await finish('skipped', reason), jobId: null }
    }
    const names = nameList(finding.failing.map((check) => check.name))
    if (settings.maxRounds === 0) return { round: await finish('skipped', `checks failed on ${short(sha)} (${names}); CI_FIX_MAX_ROUNDS is 0`, finding), jobId: null }
    const used = await roundsUsed(tx, pr.id)
    if (used >= settings.maxRounds) return { round: await exhausted(scope, pr, row.id as number, used, `checks still fail on ${short(sha)} (${names}) after ${used} CI-fix round(s): CI_FIX_MAX_ROUNDS (${settings.maxRounds}) reached; a person takes it from here`, finding.failing), jobId: null }
    const [active] = await tx`select id from agent_jobs where ticket_id = ${pr.ticket_id} and status in ('pending', 'running') limit 1`
    if (active) return { round: null, jobId: null }
    try {
      await assertRunnable(ctx, tx, await getProject(tx, pr.project_id))
    } catch (error) {
      if (!isAppError(error)) throw error
      await tx`update ci_rounds set reason = ${`checks failed (${names}); no job: ${error.message}`}, updated_at = now() where id = ${row.id as number}`
      return { round: null, jobId: null }
    }
    const job = await enqueueJob(ctx, scope, { projectId: pr.project_id, ticketId: pr.ticket_id, kind: 'ci_fix', prNumber: pr.number })
    const round = used + 1
    const reason = `round ${round} of ${settings.maxRounds}: checks failed on ${short(sha)} (${names}); job ${job.id} fixes them on the same branch`
    await tx`update ci_rounds set round = ${round}, job_id = ${job.id} where id = ${row.id as number}`
    const updated = await update(scope, row.id as number, { outcome: 'fixing', reason, failing: finding.failing })
    await insertJobEvents(scope, job, [{ step: 'ci_fix', summary: reason, event: { kind: 'ci_round', round, max_rounds: settings.maxRounds, sha, checks: finding.failing.map((c) => c.name) } as JobEventInput['event'] }])
    return { round: updated, jobId: job.id }
  })
}

async function update(scope: WriteScope, id: number, fields: { outcome: CiOutcome; reason: string; failing?: FailingCheck[] | undefined }): Promise<CiRound> {
  const [row] = await scope.tx.unsafe(
    `update ci_rounds set outcome = $2, reason = $3, failing = coalesce($4::jsonb, failing), updated_at = now() where id = $1 returning ${ROUND_COLUMNS}`,
    [id, fields.outcome, fields.reason, fields.failing ? scope.tx.json(fields.failing as never) : null],
  )
  const round = row as unknown as CiRound
  await scope.emit(roundEvent(round))
  return round
}

/** The cap reached: the record says so, the last round's job log says so, and `ci_fix.exhausted` is queued. */
async function exhausted(scope: WriteScope, pr: PrRow, id: number, rounds: number, reason: string, failing: FailingCheck[]): Promise<CiRound> {
  const round = await update(scope, id, { outcome: 'exhausted', reason, failing })
  const [last] = await scope.tx`select j.id, j.ticket_id, j.project_id from ci_rounds r join agent_jobs j on j.id = r.job_id
    where r.pr_id = ${pr.id} and r.round is not null order by r.round desc limit 1`
  if (last) await insertJobEvents(scope, last as { id: number; ticket_id: number; project_id: number }, [{ step: 'ci_fix', summary: reason, event: { kind: 'ci_exhausted', rounds, sha: round.sha } as JobEventInput['event'] }])
  const [ticket] = await scope.tx`select pr_url from tickets where id = ${pr.ticket_id}`
  await queueNotification(scope.tx, {
    event: 'ci_fix.exhausted', projectId: pr.project_id, ticketId: pr.ticket_id, ci: { rounds },
    pull_request: { number: pr.number, url: (ticket?.pr_url as string | null | undefined) ?? pr.url },
    ...(last ? { job: { id: last.id as number, kind: 'ci_fix', attempt: 1 } } : {}),
  })
  return round
}

/**
 * Records whose ci_fix job ended: `fixed` when it succeeded (it pushed), else `fix_failed` with why;
 * `skipped` when the job found the branch moved past the round's commit (its `ci_fix_moved` event)
 * and fixed nothing: the new head is a record of its own.
 */
export async function settleRounds(scope: WriteScope, prId: number): Promise<void> {
  const ended = await scope.tx`
    select r.id, r.round, j.id as job_id, j.status, j.error,
      (select e.event->>'head' from job_events e where e.job_id = j.id and e.event->>'kind' = 'ci_fix_moved' limit 1) as moved_to
    from ci_rounds r join agent_jobs j on j.id = r.job_id
    where r.pr_id = ${prId} and r.outcome = 'fixing' and j.status in ('succeeded', 'failed', 'cancelled')`
  for (const row of ended) {
    if (row.status === 'succeeded' && row.moved_to) {
      const reason = `round ${row.round}: the branch moved to ${short(String(row.moved_to))} before job ${row.job_id} ran; nothing fixed, the follower judges the new head`
      await update(scope, row.id as number, { outcome: 'skipped', reason })
      continue
    }
    const fixed = row.status === 'succeeded'
    const reason = fixed
      ? `round ${row.round}: job ${row.job_id} pushed a fix; the new head commit's checks are followed`
      : `round ${row.round}: job ${row.job_id} ${row.status}${row.error ? `: ${String(row.error).slice(0, 300)}` : ''}`
    await update(scope, row.id as number, { outcome: fixed ? 'fixed' : 'fix_failed', reason })
  }
}
