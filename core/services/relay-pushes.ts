/**
 * The commits agents pushed through the app's git relay (sql/023 `relay_pushes`): written by the
 * relay when the git host's report-status accepted the job's branch (git-relay.ts), read by the CI
 * follower to tell the agent's head commit from a person's (ci-fix/follow.ts). Who wrote a commit
 * says nothing (anyone with push access can write under the agent's name); that a running job of
 * the project pushed exactly that commit through the relay does.
 */
import type { AppContext } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import type { Job } from '../types.ts'

/** Commits kept per branch, newest first; the follower needs only the branch's current head. */
export const RELAY_PUSHES_PER_BRANCH = 20

/** Records that `job` pushed `oid` to `branch` and the git host accepted it; keeps the branch's newest RELAY_PUSHES_PER_BRANCH. */
export async function recordRelayPush(ctx: AppContext, job: Job, branch: string, oid: string): Promise<void> {
  await ctx.sql.begin(async (tx) => {
    // The CI follower writes a skip holding its request's row (ci-fix/record.ts) and looks for
    // this record again under it: taken first, a skip being written now is committed before the
    // delete below looks for it, and a follower that comes after sees the record.
    await tx`select id from prs where project_id = ${job.project_id} and ticket_id = ${job.ticket_id} order by id for update`
    await tx`insert into relay_pushes (project_id, branch, oid, job_id) values (${job.project_id}, ${branch}, ${oid.toLowerCase()}, ${job.id})
      on conflict (project_id, branch, oid) do update set job_id = excluded.job_id, pushed_at = now()`
    // The git host accepted the push before this record was written, so a forge event about the
    // commit can reach the CI follower first: a round it skipped for want of this record is
    // forgotten, and the follower's next look judges the commit again, as the agent's.
    await tx`delete from ci_rounds
      where project_id = ${job.project_id} and ticket_id = ${job.ticket_id} and sha = ${oid.toLowerCase()} and outcome = 'skipped' and round is null and job_id is null`
    await tx`delete from relay_pushes where project_id = ${job.project_id} and branch = ${branch} and id not in (
      select id from relay_pushes where project_id = ${job.project_id} and branch = ${branch} order by pushed_at desc, id desc limit ${RELAY_PUSHES_PER_BRANCH})`
  })
}

/** The job that pushed `oid` to `branch` of the project through the relay, or null when none did. */
export async function relayPusher(sql: Sql | TransactionSql, projectId: number, branch: string, oid: string): Promise<number | null> {
  const [row] = await sql`select job_id from relay_pushes where project_id = ${projectId} and branch = ${branch} and oid = ${oid.toLowerCase()}`
  return (row?.job_id as number | undefined) ?? null
}
