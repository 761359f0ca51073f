/**
 * The app's metrics registry: HTTP (metrics/http.ts, fed by the request log), the build, and
 * figures read from the database when scraped — the job queue, job outcomes and durations, how
 * long jobs waited to be claimed, LLM relay tokens, connections. Database figures are the whole
 * database's (every replica reports the same numbers; aggregate them with max, not sum), so they
 * hold across restarts and replicas without any bookkeeping here. A scrape while the database is
 * down answers `terarchitect_db_up 0` and the in-process metrics only.
 */
import type { Database, Sql } from '../db/index.ts'
import { BUILD } from '../version.ts'
import type { Logger } from '../log.ts'
import { DB_PROBE_TIMEOUT_MS, withTimeout, type DbProbe } from './db-probe.ts'
import { httpMetrics, type HttpMetrics } from './http.ts'
import { createRegistry, histogramFamily, type Family, type Registry } from './registry.ts'

const DURATION_BUCKETS = [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200]
const CLAIM_WAIT_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600]

export interface AppMetrics {
  registry: Registry
  http: HttpMetrics
}

export function appMetrics(options: { db: Database; poolSize: number; probe: () => Promise<DbProbe>; log: Logger }): AppMetrics {
  const registry = createRegistry()
  const http = httpMetrics(registry)
  registry.gauge('terarchitect_build_info', 'The build answering: always 1, labelled with version and commit').set(1, { version: BUILD.version, commit: BUILD.commit })
  registry.collect(async () => {
    const { database } = await options.probe()
    const families: Family[] = [
      gauge('terarchitect_db_up', 'Whether the database answered the health query in time (1) or not (0)', [{ labels: {}, value: database.ok ? 1 : 0 }]),
      gauge('terarchitect_db_probe_seconds', 'How long the health query took', [{ labels: {}, value: database.ms / 1000 }]),
      gauge('terarchitect_db_pool_max', 'Connections this app may hold to the database (DB_POOL_SIZE; 1 for the embedded database)', [
        { labels: { db: options.db.kind }, value: options.db.kind === 'postgres' ? options.poolSize : 1 },
      ]),
    ]
    if (!database.ok) return families
    // A query that fails (or hangs past the probe's bound) leaves its figures out of this scrape, not the scrape.
    try {
      return [...families, ...(await withTimeout(databaseFamilies(options.db), DB_PROBE_TIMEOUT_MS))]
    } catch (error) {
      options.log.warn('metrics: reading the database figures failed', { error })
      return families
    }
  })
  return { registry, http }
}

async function databaseFamilies(db: Database): Promise<Family[]> {
  const { sql } = db
  const [queue, outcomes, durations, waits, usage, connections] = await Promise.all([
    sql<{ project_id: number; status: string; n: number; oldest: number }[]>`
      select project_id, status, count(*)::int as n, extract(epoch from now() - min(created_at))::float8 as oldest
      from agent_jobs where status in ('pending', 'running') group by project_id, status order by project_id, status`,
    sql<{ kind: string; status: string; n: number }[]>`
      select kind, status, count(*)::int as n from agent_jobs
      where status in ('succeeded', 'failed', 'cancelled') group by kind, status order by kind, status`,
    sqlHistogram(sql, sql`select kind as label, extract(epoch from finished_at - started_at)::float8 as s
      from agent_jobs where finished_at is not null and started_at is not null and status in ('succeeded', 'failed', 'cancelled')`, DURATION_BUCKETS),
    sqlHistogram(sql, sql`select kind as label, extract(epoch from started_at - created_at)::float8 as s
      from agent_jobs where started_at is not null`, CLAIM_WAIT_BUCKETS),
    sql<{ purpose: string; input: number; output: number; calls: number }[]>`
      select purpose, coalesce(sum(input_tokens), 0)::float8 as input, coalesce(sum(output_tokens), 0)::float8 as output,
        coalesce(sum(calls), 0)::float8 as calls
      from llm_usage group by purpose order by purpose`,
    db.kind === 'postgres'
      ? sql<{ state: string; n: number }[]>`
          select coalesce(state, 'unknown') as state, count(*)::int as n from pg_stat_activity
          where datname = current_database() and backend_type = 'client backend' group by 1 order by 1`
      : Promise.resolve([]),
  ])
  const pending = queue.filter((row) => row.status === 'pending')
  return [
    gauge('terarchitect_queue_jobs', 'Jobs pending or running now, by project and status', queue.map((row) => ({ labels: { project_id: row.project_id, status: row.status }, value: row.n }))),
    gauge('terarchitect_queue_oldest_pending_seconds', 'Age of the oldest pending job, by project', pending.map((row) => ({ labels: { project_id: row.project_id }, value: row.oldest }))),
    {
      name: 'terarchitect_jobs_finished_total', help: 'Jobs that ended, by kind and outcome (succeeded, failed, cancelled)', type: 'counter',
      samples: outcomes.map((row) => ({ labels: { kind: row.kind, status: row.status }, value: row.n })),
    },
    histogramFamily('terarchitect_job_duration_seconds', 'How long ended jobs ran (claim to end of the last attempt), by kind', DURATION_BUCKETS, labelled('kind', durations)),
    histogramFamily('terarchitect_job_claim_wait_seconds', 'How long jobs waited from creation to their (latest) claim, by kind', CLAIM_WAIT_BUCKETS, labelled('kind', waits)),
    {
      name: 'terarchitect_llm_tokens_total', help: 'Tokens relayed to LLM providers for agent jobs (llm_usage), by purpose and direction', type: 'counter',
      samples: usage.flatMap((row) => [
        { labels: { purpose: row.purpose, direction: 'input' }, value: row.input },
        { labels: { purpose: row.purpose, direction: 'output' }, value: row.output },
      ]),
    },
    {
      name: 'terarchitect_llm_calls_total', help: 'LLM calls relayed for agent jobs, by purpose', type: 'counter',
      samples: usage.map((row) => ({ labels: { purpose: row.purpose }, value: row.calls })),
    },
    ...(db.kind === 'postgres'
      ? [gauge('terarchitect_db_connections', 'Client connections to this database (all replicas), by state', connections.map((row) => ({ labels: { state: row.state }, value: row.n })))]
      : []),
  ]
}

function gauge(name: string, help: string, samples: Family['samples']): Family {
  return { name, help, type: 'gauge', samples }
}

interface HistogramRow {
  label: string
  counts: number[]
  sum: number
  count: number
}

/**
 * Cumulative bucket counts per label of a query's `(label, s)` rows, counted in the database (one
 * row per label and bucket), so the rows themselves never reach the app.
 */
async function sqlHistogram(sql: Sql, source: ReturnType<Sql>, buckets: readonly number[]): Promise<HistogramRow[]> {
  const rows = await sql<{ label: string; le: number; n: number; total: number; sum: number }[]>`
    with d as (${source})
    select d.label, b.le, count(*) filter (where d.s <= b.le)::int as n,
      count(*)::int as total, coalesce(sum(d.s), 0)::float8 as sum
    from d cross join unnest(${`{${buckets.join(',')}}`}::float8[]) as b(le)
    group by d.label, b.le order by d.label, b.le`
  const byLabel = new Map<string, HistogramRow>()
  for (const row of rows) {
    const entry = byLabel.get(row.label) ?? { label: row.label, counts: [], sum: row.sum, count: row.total }
    entry.counts.push(row.n)
    byLabel.set(row.label, entry)
  }
  return [...byLabel.values()]
}

function labelled(name: string, rows: HistogramRow[]) {
  return rows.map((row) => ({ labels: { [name]: row.label }, counts: row.counts, sum: row.sum, count: row.count }))
}
