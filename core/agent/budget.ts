/**
 * The job's budgets (DESIGN.md §7.3): worker turns, wall-clock minutes and tokens (Director and
 * Worker together). The flow asks `exhausted()` before each turn and after each answer; the
 * wall-clock budget also bounds each worker turn and Director call through `deadlineSignal()`.
 */

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
    /** The first budget that ran out; `nextTurn` also counts a turn that is about to start. */
    exhausted(options: { nextTurn?: boolean } = {}): Exhausted | null {
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
