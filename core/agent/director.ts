/**
 * The work loop of one job (DESIGN.md §7.3). With a Director model: plan → worker turn → assess,
 * where each assessment sees the real `git diff` against the base and the project's test output,
 * and answers `{complete, next_prompt, summary}`; the loop ends when the Director calls the work
 * complete or a budget runs out. Without one (single-shot mode): one worker turn with the full
 * ticket prompt. A cancel surfaces as a thrown `cancelled` AgentError from the turn.
 */
import { redactText } from '../log.ts'
import type { Budget, Exhausted } from './budget.ts'
import type { CommandOutcome } from './checks.ts'
import { abortReason, agentError, cancelled } from './errors.ts'
import { createChatClient, extractJson, type ChatMessage } from './llm.ts'
import { DIRECTOR_SYSTEM, assessRequest, planRequest, turnPrompt, type WorkspaceFacts } from './prompt.ts'
import { runTurn, type TurnContext } from './turn.ts'

export type WorkOutcome =
  | { status: 'done'; summary: string; tests?: CommandOutcome }
  | { status: 'failed'; reason: string; summary: string }
  | { status: 'budget'; exhausted: Exhausted; summary: string }

export interface WorkContext {
  turn: TurnContext
  budget: Budget
  facts: WorkspaceFacts
  /** The ref the diff is taken against (the branch's merge base with the default branch). */
  base: string
  /** The whole job as one prompt (ticket or review), built by prompt.ts. */
  task: string
  /** Runs the project's test command; undefined when it has none. */
  runTests(): Promise<CommandOutcome | undefined>
  diffMaxBytes: number
}

export interface DirectorModel {
  url: string
  model: string
  apiKey: string
}

/** Single-shot mode: the worker once, with the full prompt. */
export async function runSingleShot(work: WorkContext): Promise<WorkOutcome> {
  const over = work.budget.exhausted({ nextTurn: true })
  if (over) return { status: 'budget', exhausted: over, summary: '' }
  const turn = await runTurn(work.turn, { turn: 1, prompt: work.task, expectChanges: true })
  const tests = await work.runTests()
  const summary = turn.message
  const after = work.budget.exhausted()
  // A turn the relay cut short for tokens ends as that budget, not as a worker failure.
  if (after && work.budget.refusedByRelay) return { status: 'budget', exhausted: after, summary }
  if (turn.failure) return { status: 'failed', reason: `worker turn 1 failed: ${turn.failure}`, summary }
  if (after) return { status: 'budget', exhausted: after, summary }
  return { status: 'done', summary, ...(tests ? { tests } : {}) }
}

interface Verdict {
  complete: boolean
  next_prompt: string
  summary: string
}

/** A Director whose plan was asked for as soon as the task was known (startDirector). */
export interface Director {
  ask: Ask
  planMessages: ChatMessage[]
  /** The plan's answer; awaited by runDirected, which ends a budget it exhausted as a budget. */
  plan: Promise<{ value: Record<string, unknown>; raw: string }>
}

/**
 * Asks the Director for its plan now. The plan needs only the task, not the workspace's state, so
 * the caller starts it before the project's setup command and the two run side by side
 * (docs/performance.md); `runDirected` takes it from there.
 */
export function startDirector(work: WorkContext, model: DirectorModel): Director {
  const ask = asker(work, model)
  const planMessages: ChatMessage[] = [{ role: 'system', content: DIRECTOR_SYSTEM }, { role: 'user', content: planRequest(work.task) }]
  const plan = ask(planMessages, ['prompt'])
  // Settled by runDirected; a setup command that throws first must not leave it unhandled.
  plan.catch(() => {})
  return { ask, planMessages, plan }
}

/** Director mode: the plan (started by startDirector), then turns until the Director calls it complete or a budget runs out. */
export async function runDirected(work: WorkContext, director: Director): Promise<WorkOutcome> {
  try {
    return await directorLoop(work, director)
  } catch (error) {
    // The wall clock ran out during a Director call: a budget ending like any other.
    if (error instanceof BudgetStop) return { status: 'budget', exhausted: error.exhausted, summary: '' }
    throw error
  }
}

/** One question to the Director: its answer as JSON with the required keys (asked twice at most). */
function asker(work: WorkContext, model: DirectorModel): Ask {
  const llm = createChatClient(model)
  const signal = work.turn.signal
  return async function ask(messages, required) {
    for (let attempt = 1; attempt <= 2; attempt++) {
      const callSignal = AbortSignal.any([signal, work.budget.deadlineSignal()])
      let answer
      try {
        answer = await llm.chat(messages, { signal: callSignal })
      } catch (error) {
        if (signal.aborted) throw cancelled(`${abortReason(signal)} while the Director was thinking`)
        work.budget.noteRelayRefusal((error as Error)?.message)
        const over = work.budget.exhausted()
        if (over) throw new BudgetStop(over)
        throw error
      }
      work.budget.add(answer.usage)
      const value = extractJson(answer.text)
      if (value && required.every((key) => key in value)) return { value, raw: answer.text }
      messages = [...messages, { role: 'assistant', content: answer.text }, { role: 'user', content: `Answer with one JSON object with the keys ${required.join(', ')}, and nothing else.` }]
    }
    throw agentError('director', `the Director did not answer with JSON holding ${required.join(', ')}`)
  }
}

type Ask = (messages: ChatMessage[], required: string[]) => Promise<{ value: Record<string, unknown>; raw: string }>

class BudgetStop extends Error {
  constructor(readonly exhausted: Exhausted) {
    super(exhausted.message)
  }
}

async function directorLoop(work: WorkContext, director: Director): Promise<WorkOutcome> {
  const { reporter } = work.turn
  const { ask, planMessages } = director
  const plan = await director.plan
  const planText = String(plan.value.plan ?? '').trim()
  reporter.step('plan', `Director plan: ${firstLine(planText) || '(none)'}`, redactText(plan.raw), { kind: 'director_plan', plan: planText })
  const history: ChatMessage[] = [...planMessages, { role: 'assistant', content: plan.raw }]

  let instructions = String(plan.value.prompt || '').trim() || work.task
  let sessionId: string | undefined
  let summary = ''
  for (let turnNumber = 1; ; turnNumber++) {
    const before = work.budget.exhausted({ nextTurn: true })
    if (before) return { status: 'budget', exhausted: before, summary }
    // The task goes with the first prompt, and again whenever there is no session to resume.
    const prompt = turnPrompt(instructions, work.facts, turnNumber === 1 || !sessionId ? { task: work.task } : undefined)
    const turn = await runTurn(work.turn, { turn: turnNumber, prompt, sessionId, expectChanges: true })
    sessionId = turn.sessionId
    const tests = await work.runTests()
    const diff = await work.turn.git.diffAgainst(work.base, work.diffMaxBytes)
    const after = work.budget.exhausted()
    if (after) return { status: 'budget', exhausted: after, summary: summary || turn.message }

    const report = assessRequest({
      turn: turnNumber,
      failure: turn.failure,
      workerMessage: turn.message,
      denied: turn.result.denied,
      diff,
      base: work.facts.base,
      tests: tests && { command: tests.command, exitCode: tests.exitCode, output: tests.output, timedOut: tests.timedOut },
      budgetLeft: work.budget.describeLeft(),
    })
    const answer = await ask([...history, { role: 'user', content: report }], ['complete'])
    const verdict: Verdict = {
      complete: answer.value.complete === true,
      next_prompt: String(answer.value.next_prompt ?? '').trim(),
      summary: String(answer.value.summary ?? '').trim(),
    }
    summary = verdict.summary || summary
    reporter.step('assess', `Director on turn ${turnNumber}: ${verdict.complete ? 'complete' : 'not complete'}${verdict.summary ? ` (${firstLine(verdict.summary)})` : ''}`,
      verdict.complete ? undefined : verdict.next_prompt, { kind: 'director_verdict', turn: turnNumber, ...verdict })
    // Earlier turns stay in the history only as a stat line and the verdict, so it stays small.
    history.push({ role: 'user', content: `Worker turn ${turnNumber}: ${turn.failure ? `failed (${turn.failure})` : 'ended normally'}; changes so far:\n${diff.stat || '(none)'}` })
    history.push({ role: 'assistant', content: answer.raw })
    if (verdict.complete) {
      if (diff.empty) return { status: 'failed', reason: 'the Director called the work complete, but nothing changed in the repository', summary }
      return { status: 'done', summary: summary || turn.message, ...(tests ? { tests } : {}) }
    }
    instructions = verdict.next_prompt || 'The work is not complete yet: continue with the task and fix what the diff and the tests show is missing.'
  }
}

const firstLine = (text: string) => (text.split('\n').find((line) => line.trim()) ?? '').trim().slice(0, 200)
