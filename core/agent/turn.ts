/**
 * One worker turn and its verdict. The turn's events stream to the ticket log as they happen. Exit 0
 * proves nothing (docs/clis.md): a turn counts as failed when the CLI exited non-zero or timed out,
 * when it had tool calls denied, or when a change was asked and git sees none.
 */
import type { Worker, WorkerEvent, WorkerSettings } from '../worker.ts'
import { redactText } from '../log.ts'
import { runWorkerTurn, type TurnResult } from './run-worker.ts'
import type { Budget } from './budget.ts'
import { abortReason, cancelled } from './errors.ts'
import type { Git } from './git.ts'
import type { Reporter } from './reporter.ts'

export interface TurnContext {
  worker: Worker
  settings: WorkerSettings
  cwd: string
  /** The worker's HOME for the whole job (sessions resume from it); outside the repository. */
  home: string
  git: Git
  reporter: Reporter
  budget: Budget
  /** Aborts on cancel. */
  signal: AbortSignal
}

export interface TurnOutcome {
  result: TurnResult
  changed: boolean
  /** Why the turn counts as failed; undefined when it did its job. */
  failure?: string
  /** The worker's last words (its self-report). */
  message: string
  sessionId?: string
}

export async function runTurn(ctx: TurnContext, input: { turn: number; prompt: string; sessionId?: string; expectChanges: boolean }): Promise<TurnOutcome> {
  const { reporter, budget } = ctx
  const turn = input.turn
  const before = await ctx.git.fingerprint()
  budget.startTurn()
  reporter.step('turn', `turn ${turn}: ${ctx.worker.name} started${input.sessionId ? ' (resumed session)' : ''}`, input.prompt, { kind: 'turn_started', turn, worker: ctx.worker.name })
  const deadline = budget.deadlineSignal()
  const started = Date.now()
  const result = await runWorkerTurn(
    ctx.worker,
    { prompt: redactText(input.prompt), cwd: ctx.cwd, ...(input.sessionId ? { sessionId: input.sessionId } : {}) },
    ctx.settings,
    { onEvent: (event) => reporter.worker(event, turn), signal: AbortSignal.any([ctx.signal, deadline]), home: ctx.home },
  )
  budget.add(result.usage)
  budget.noteRelayRefusal(result.stderrTail, ...result.events.map((event) => (event.kind === 'error' ? event.message : undefined)))
  if (ctx.signal.aborted) throw cancelled(`${abortReason(ctx.signal)} during worker turn ${turn}`)
  const changed = (await ctx.git.fingerprint()) !== before
  const failure = judge(result, changed, input.expectChanges, deadline.aborted, budget.refusedByRelay)
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  const tokens = result.usage.input_tokens + result.usage.output_tokens
  const summary = failure
    ? `turn ${turn} failed after ${seconds} s: ${failure}`
    : `turn ${turn} done in ${seconds} s: ${changed ? 'files changed' : 'no changes'}, ${tokens} tokens`
  reporter.step('turn', summary, result.stderrTail || undefined, {
    kind: 'turn_finished', turn, exit_code: result.exitCode, timed_out: result.timedOut, changed, denied: result.denied, usage: result.usage,
    ...(failure ? { failure } : {}),
  })
  return { result, changed, failure, message: lastMessage(result.events), sessionId: result.sessionId ?? input.sessionId }
}

function judge(result: TurnResult, changed: boolean, expectChanges: boolean, outOfTime: boolean, refusedByRelay: boolean): string | undefined {
  if (outOfTime) return 'stopped: the job ran out of wall-clock budget'
  if (refusedByRelay) return 'stopped: the LLM relay refused further calls (token budget exhausted)'
  if (result.timedOut) return 'the worker timed out (WORKER_TIMEOUT_SEC)'
  if (result.exitCode !== 0) {
    const lastLine = result.stderrTail.trim().split('\n').at(-1) ?? ''
    return `the worker exited ${result.exitCode ?? 'by a signal'}${lastLine ? `: ${lastLine.slice(0, 300)}` : ''}`
  }
  if (result.denied.length) return `tool calls were denied: ${result.denied.join(', ').slice(0, 300)}`
  if (expectChanges && !changed) return 'the worker exited 0 but changed nothing'
  return undefined
}

/** The text of the last message events (after the last tool call), i.e. the worker's final answer. */
export function lastMessage(events: WorkerEvent[]): string {
  const parts: string[] = []
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!
    if (event.kind === 'message') parts.unshift(event.text)
    else if (event.kind === 'tool_call' || event.kind === 'command' || event.kind === 'file_change') if (parts.length) break
  }
  return parts.join('').trim()
}
