/**
 * A job's token budget in the LLM relay: reserve before forwarding, settle when the answer ends,
 * each one statement on the job's `llm_budget` row (sql/006_llm_budget.sql).
 *
 * A generating call may start while the job's spent plus reserved tokens are below the limit; it
 * then reserves its whole estimate (llm-relay-request.ts). The check and the reservation are one
 * `insert … on conflict do update … where`, so the row lock orders parallel calls: once the
 * reservations of calls in flight reach the limit, the next call is refused, however many arrive
 * together. As before, the last call admitted may take the job past its limit by what it uses
 * beyond what was left; no call starts after that.
 */
import type { AppContext } from '../context.ts'
import { AppError } from '../errors.ts'
import type { TokenCounts } from './llm-relay-protocols.ts'
import type { RelayPurpose } from './llm-relay-urls.ts'
import { BUDGET_STATUS, budgetMessage } from './llm-relay-budget.ts'

/** The job's limit from DIRECTOR_MAX_TOKENS; undefined (no budget) when unset or 0. */
export function tokenLimit(settings: Record<string, string>): number | undefined {
  const limit = Number(settings.DIRECTOR_MAX_TOKENS)
  return Number.isFinite(limit) && limit > 0 ? limit : undefined
}

/**
 * Reserves `estimate` tokens for one call of the job, or refuses with the budget's 402. Returns
 * the tokens reserved (0 without a limit: nothing to hold back), to be passed to `settleTokens`.
 */
export async function reserveTokens(ctx: AppContext, jobId: number, estimate: number, limit: number | undefined): Promise<number> {
  if (limit === undefined) return 0
  const [row] = await ctx.sql`
    insert into llm_budget as b (job_id, reserved) values (${jobId}, ${estimate})
    on conflict (job_id) do update set reserved = b.reserved + excluded.reserved, updated_at = now()
      where b.used + b.reserved < ${limit}
    returning b.used`
  if (row) return estimate
  // Refused: the cold path reads the figures for the message.
  const [current] = await ctx.sql<{ used: string; reserved: string }[]>`select used::text, reserved::text from llm_budget where job_id = ${jobId}`
  throw new AppError('token_budget_exhausted', BUDGET_STATUS, budgetMessage(jobId, Number(current?.used ?? 0), limit, Number(current?.reserved ?? 0)))
}

/**
 * Ends one call's reservation: `charged` tokens move to the job's spend (and its `llm_usage` row
 * for the purpose, one more call), or, when the call cost nothing (the upstream refused or was not
 * reached), the reservation is only released.
 */
export async function settleTokens(ctx: AppContext, jobId: number, purpose: RelayPurpose, reserved: number, charged: Required<TokenCounts> | undefined): Promise<void> {
  if (!charged) {
    if (reserved > 0) await ctx.sql`update llm_budget set reserved = greatest(reserved - ${reserved}, 0), updated_at = now() where job_id = ${jobId}`
    return
  }
  await ctx.sql`
    with budget as (
      insert into llm_budget as b (job_id, used) values (${jobId}, ${charged.input + charged.output})
      on conflict (job_id) do update set used = b.used + excluded.used, reserved = greatest(b.reserved - ${reserved}, 0), updated_at = now()
    )
    insert into llm_usage (job_id, purpose, input_tokens, output_tokens, calls)
    values (${jobId}, ${purpose}, ${charged.input}, ${charged.output}, 1)
    on conflict (job_id, purpose) do update set
      input_tokens = llm_usage.input_tokens + excluded.input_tokens,
      output_tokens = llm_usage.output_tokens + excluded.output_tokens,
      calls = llm_usage.calls + 1,
      updated_at = now()`
}
