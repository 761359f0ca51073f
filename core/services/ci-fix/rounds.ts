/**
 * The CI records of a ticket's requests (sql/019 `ci_rounds`): one per request and head commit the
 * follower looked at, read by the ticket's CI view (`GET …/tickets/:tid/ci`) and written under the
 * request row's lock (record.ts).
 */
import type { Sql, TransactionSql } from '../../db/index.ts'
import type { FailingCheck } from './excerpt.ts'

export type CiOutcome = 'waiting' | 'passed' | 'fixing' | 'fixed' | 'fix_failed' | 'exhausted' | 'not_started' | 'skipped'

export interface CiRound {
  id: number
  pr_id: number
  project_id: number
  ticket_id: number
  sha: string
  /** Set when the record queued a ci_fix job (1, 2, …). */
  round: number | null
  outcome: CiOutcome
  reason: string | null
  job_id: number | null
  failing: FailingCheck[]
  created_at: string
  updated_at: string
}

export const ROUND_COLUMNS = 'id, pr_id, project_id, ticket_id, sha, round, outcome, reason, job_id, failing, created_at, updated_at'

/** The live-update event of a changed record (the ticket view re-reads its CI panel). */
export function roundEvent(row: CiRound) {
  const { failing: _failing, ...round } = row
  return { project_id: row.project_id, type: 'ci.updated', payload: { ticket_id: row.ticket_id, round } }
}

/** The rounds used on a request so far (records that queued a job). */
export async function roundsUsed(tx: Sql | TransactionSql, prId: number): Promise<number> {
  const [row] = await tx`select count(*)::int as n from ci_rounds where pr_id = ${prId} and round is not null`
  return row!.n as number
}

/**
 * `GET …/tickets/:tid/ci`: the ticket's records, newest first, with each job's status, and the cap
 * in force. Excerpts are left out (they are the agent's prompt, not a page); names and summaries stay.
 */
export async function ticketCi(sql: Sql, ticketId: number, maxRounds: number) {
  const rows = await sql.unsafe(
    `select ${ROUND_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}, p.number as pr_number, j.status as job_status
     from ci_rounds r join prs p on p.id = r.pr_id left join agent_jobs j on j.id = r.job_id
     where r.ticket_id = $1 order by r.id desc limit 200`,
    [ticketId],
  )
  const rounds = (rows as unknown as (CiRound & { pr_number: number; job_status: string | null })[]).map((row) => ({
    ...row,
    failing: (row.failing ?? []).map(({ excerpt: _excerpt, ...check }) => check),
  }))
  const used = new Map<number, number>()
  for (const row of rounds) if (row.round !== null) used.set(row.pr_id, Math.max(used.get(row.pr_id) ?? 0, row.round))
  const latest = rounds[0]
  return {
    ticket_id: ticketId,
    max_rounds: maxRounds,
    rounds_used: latest ? used.get(latest.pr_id) ?? 0 : 0,
    exhausted: rounds.some((row) => row.outcome === 'exhausted' && row.pr_id === latest?.pr_id),
    rounds,
  }
}
