/**
 * The coordinators registry. A coordinator reports in every `report_interval_sec` (its host,
 * version, executor, capacity and running jobs) and once more when it stops. Its state is derived
 * from the report's age when read, so a coordinator killed without a word shows as lost on its own:
 * - `live`: reported recently and runs at least one job;
 * - `idle`: reported recently, runs nothing;
 * - `lost`: no report for three intervals (plus slack), and it did not say it stopped;
 * - `stopped`: it said so.
 * Rows are keyed by credential and instance id: one credential cannot write another's row.
 */
import type { Sql } from '../db/sql.ts'
import type { CoordinatorInstance } from './queue.ts'

/** Missed reports before a silent coordinator counts as lost. */
export const LOST_AFTER_REPORTS = 3
/** Slack on top, for a busy app or a slow network. */
const LOST_SLACK_SEC = 5
/** Lost and stopped coordinators stay listed this long, then their rows are dropped. */
const FORGET_AFTER = '7 days'

export interface CoordinatorReport {
  host: string
  version: string
  executor: string
  capacity: number
  running_job_ids: number[]
  report_interval_sec: number
  started_at: string
  stopped?: boolean
}

export type CoordinatorState = 'live' | 'idle' | 'lost' | 'stopped'

export interface CoordinatorRow {
  coordinator_id: string
  /** `worker key`, or the coordinator token's name. */
  credential_name: string
  host: string
  version: string
  executor: string
  capacity: number
  running_job_ids: number[]
  started_at: string
  last_seen_at: string
  stopped_at: string | null
  state: CoordinatorState
}

/** Rows kept per credential: a credential making up instance ids cannot flood the list. */
const ROWS_PER_CREDENTIAL = 50

export async function recordCoordinatorReport(sql: Sql, holder: CoordinatorInstance, report: CoordinatorReport): Promise<void> {
  // A coordinator lists only jobs its credential holds: another project's job ids are not its to show.
  const asked = report.stopped ? [] : [...new Set(report.running_job_ids)]
  const running = asked.length
    ? (await sql`select id from agent_jobs where id = any(${asked}::int[]) and status = 'running' and claimed_credential = ${holder.credential.id} order by id`).map((row) => row.id as number)
    : []
  await sql`
    insert into coordinators (credential, coordinator_id, host, version, executor, capacity, running_job_ids,
                              report_interval_sec, started_at, last_seen_at, stopped_at)
    values (${holder.credential.id}, ${holder.coordinatorId}, ${report.host}, ${report.version}, ${report.executor},
            ${report.capacity}, ${running}::int[], ${report.report_interval_sec}, ${report.started_at}, now(),
            ${report.stopped ? sql`now()` : null})
    on conflict (credential, coordinator_id) do update set
      host = excluded.host, version = excluded.version, executor = excluded.executor, capacity = excluded.capacity,
      running_job_ids = excluded.running_job_ids, report_interval_sec = excluded.report_interval_sec,
      started_at = excluded.started_at, last_seen_at = now(), stopped_at = excluded.stopped_at`
  // Forgetting happens on the write path; reading the list stays a read.
  await sql`delete from coordinators where last_seen_at < now() - ${FORGET_AFTER}::interval`
  await sql`
    delete from coordinators where credential = ${holder.credential.id} and coordinator_id in (
      select coordinator_id from coordinators where credential = ${holder.credential.id}
      order by last_seen_at desc offset ${ROWS_PER_CREDENTIAL})`
}

/** Every coordinator seen in the last week, live and idle first, then by last report. */
export async function listCoordinators(sql: Sql): Promise<CoordinatorRow[]> {
  const rows = await sql`
    select c.coordinator_id, c.host, c.version, c.executor, c.capacity, c.running_job_ids, c.started_at,
           c.last_seen_at, c.stopped_at,
           coalesce(t.name, case when c.credential = 'worker-key' then 'worker key' else c.credential end) as credential_name,
           case
             when c.stopped_at is not null then 'stopped'
             when c.last_seen_at < now() - make_interval(secs => c.report_interval_sec * ${LOST_AFTER_REPORTS} + ${LOST_SLACK_SEC}) then 'lost'
             when cardinality(c.running_job_ids) > 0 then 'live'
             else 'idle'
           end as state
    from coordinators c
    left join coordinator_tokens t on c.credential = 'coordinator-token:' || t.id
    where c.last_seen_at >= now() - ${FORGET_AFTER}::interval
    order by (c.stopped_at is null and c.last_seen_at >= now() - make_interval(secs => c.report_interval_sec * ${LOST_AFTER_REPORTS} + ${LOST_SLACK_SEC})) desc,
             c.last_seen_at desc`
  return rows as unknown as CoordinatorRow[]
}
