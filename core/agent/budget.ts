/**
 * The job's budgets (DESIGN.md §7.3): worker turns, wall-clock minutes and tokens (Director and
 * Worker together). The flow asks `exhausted()` before each turn and after each answer; the
 * wall-clock budget also bounds each worker turn and Director call through `deadlineSignal()`.
 *
 * Tokens are counted twice over: here from what the CLIs and the Director's answers report, and in
 * the app by the LLM relay from the provider's usage fields. The relay's count is the one enforced:
 * once the job's tokens reach DIRECTOR_MAX_TOKENS it refuses further calls, the CLI reports the
 * refusal, and `noteRelayRefusal` turns that text into this budget's DIRECTOR_MAX_TOKENS ending.
 */
import { BUDGET_MESSAGE } from '../services/llm-relay-budget.ts'

export interface BudgetLimits {
  maxTurns: number
  maxMinutes: number
  maxTokens: number
}

export interface Exhausted {
  /** The setting that ran out: DIRECTOR_MAX_TURNS | DIRECTOR_MAX_MINUTES | DIRECTOR_MAX_TOKENS. */
  name: 'DIRECTOR_MAX_TURNS' | 'DIRECTOR_MAX_MINUTES' | 'DIRECTOR_MAX_TOKENS'
  message: string
}

export interface Usage {
  input_tokens: number
  output_tokens: number
  cost_usd?: number
}

export type Budget = ReturnType<typeof createBudget>

export function createBudget(limits: BudgetLimits, now: () => number = Date.now) {
  const started = now()
  const deadline = started + limits.maxMinutes * 60_000
  const usage: Usage = { input_tokens: 0, output_tokens: 0 }
  let turns = 0
  let refused: string | undefined
  const tokens = () => usage.input_tokens + usage.output_tokens
  const minutes = () => (now() - started) / 60_000

  return {
    limits,
    usage,
    get turns() {
      return turns
    },
    /** Counts a worker turn about to start. */
    startTurn() {
      turns++
    },
    add(more: Partial<Usage>) {
      usage.input_tokens += more.input_tokens ?? 0
      usage.output_tokens += more.output_tokens ?? 0
      if (more.cost_usd !== undefined) usage.cost_usd = (usage.cost_usd ?? 0) + more.cost_usd
    },
    remainingMs: () => Math.max(0, deadline - now()),
    /** Aborts when the wall-clock budget ends (unref'd: never keeps the process alive). */
    deadlineSignal(): AbortSignal {
      return AbortSignal.timeout(Math.max(1, deadline - now()))
    },
    /**
     * Looks for the relay's budget refusal in what a CLI or the Director client reported (error
     * events, stderr, an error message); once seen, the token budget counts as exhausted.
     */
    noteRelayRefusal(...texts: (string | undefined)[]): boolean {
      for (const text of texts) {
        const match = text ? BUDGET_MESSAGE.exec(text) : null
        if (match) refused ??= match[0]
      }
      return refused !== undefined
    },
    /** True once the relay refused a call of this job for its token budget. */
    get refusedByRelay() {
      return refused !== undefined
    },
    /** The first budget that ran out; `nextTurn` also counts a turn that is about to start. */
    exhausted(options: { nextTurn?: boolean } = {}): Exhausted | null {
      if (refused) return { name: 'DIRECTOR_MAX_TOKENS', message: `the app's LLM relay refused further calls: ${refused}` }
      if (now() >= deadline) {
        return { name: 'DIRECTOR_MAX_MINUTES', message: `wall-clock budget of ${limits.maxMinutes} min used up (${minutes().toFixed(1)} min)` }
      }
      if (tokens() >= limits.maxTokens) {
        return { name: 'DIRECTOR_MAX_TOKENS', message: `token budget of ${limits.maxTokens} used up (${tokens()} tokens)` }
      }
      if (options.nextTurn && turns >= limits.maxTurns) {
        return { name: 'DIRECTOR_MAX_TURNS', message: `turn budget of ${limits.maxTurns} used up (${turns} worker turns)` }
      }
      return null
    },
    describeLeft(): string {
      return `${limits.maxTurns - turns} of ${limits.maxTurns} turns, ${(this.remainingMs() / 60_000).toFixed(1)} min, ${Math.max(0, limits.maxTokens - tokens())} tokens`
    },
  }
}
