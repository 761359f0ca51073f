/**
 * Where an agent's time goes before the worker's first LLM request, for the agent benches: the
 * agent prints every job step as one marked line (core/agent/reporter.ts), and the bench's output
 * sink stamps each line as it arrives, on the same clock as "ticket moved" and the fake LLM's first
 * request. A step's share is the time from the mark before it to its own line. The clone runs
 * beside the memory and context fetches (core/agent/job.ts): its share is what it took beyond them
 * (negative when it finished first).
 */
import { STEP_LINE_MARK } from '../../core/agent/reporter.ts'

/**
 * The marks of one run, in the order a ticket job passes them before its first turn: the ticket
 * moved (the run request), the agent ready for it (cold: its container started; warm: its job file
 * handed over; host: its process spawned), then the steps the agent prints.
 */
export const MARKS = ['moved', 'ready', 'start', 'memory', 'context', 'clone', 'probe', 'branch', 'turn', 'first LLM request'] as const
export type Mark = (typeof MARKS)[number]

export interface StepClock {
  /** Feeds the agent's output (any chunking); stamps the first line of each step. */
  feed(text: string): void
  mark(name: Mark, at?: number): void
  /** Milliseconds from the mark before each mark (by MARKS order) to it; NaN where one is missing. */
  shares(): Map<Mark, number>
}

export function stepClock(): StepClock {
  const at = new Map<string, number>()
  let partial = ''
  return {
    feed(text) {
      const lines = (partial + text).split('\n')
      partial = lines.pop()!
      const now = Date.now()
      for (const line of lines) {
        const step = line.startsWith(STEP_LINE_MARK) ? /^\[([\w-]+)\]/.exec(line.slice(STEP_LINE_MARK.length))?.[1] : undefined
        if (step && !at.has(step)) at.set(step, now)
      }
    },
    mark(name, time = Date.now()) {
      if (!at.has(name)) at.set(name, time)
    },
    shares() {
      const out = new Map<Mark, number>()
      // A step an agent did not print (a memory that could not be reached…) leaves the next one's share
      // counted from the last mark it did print.
      let previous = at.get(MARKS[0])
      for (const name of MARKS.slice(1)) {
        const time = at.get(name)
        out.set(name, time !== undefined && previous !== undefined ? time - previous : NaN)
        if (time !== undefined) previous = time
      }
      return out
    },
  }
}

/** A p50 row of step shares over runs, e.g. `start 120 ms · context 40 ms · …`. */
export function sharesLine(runs: Map<Mark, number>[]): string {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
  return MARKS.slice(1).map((name) => {
    const values = runs.map((run) => run.get(name)).filter((value): value is number => Number.isFinite(value))
    return `${name} ${values.length ? `${Math.round(median(values))} ms` : 'n/a'}`
  }).join(' · ')
}
