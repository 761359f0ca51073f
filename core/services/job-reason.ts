/**
 * Why a job ended other than in success, as people read it: a class, one plain sentence and, when
 * the cause has one, where to fix it. Shared by the agent (its classified error), the coordinator
 * (an agent that died without one, a run that could not start, a timeout) and the app (cancels,
 * expired leases); stored on the job by job-reason-store.ts. No imports beyond TypeBox: the agent
 * and the coordinator bundle it.
 */
import { Type, type Static } from '@sinclair/typebox'

/**
 * - `setup`: the project's path, checkout or setup command
 * - `worker`: the worker CLI failed or made no change
 * - `git`: clone, fetch or push failed
 * - `forge`: the repository, the token's rights, the pull request
 * - `budget`: a token, turn or time budget ran out
 * - `cancelled`: a person stopped it, or its coordinator went away
 * - `config`: a setting is missing or wrong
 * - `internal`: anything else (the log has the details)
 */
export const REASON_KINDS = ['setup', 'worker', 'git', 'forge', 'budget', 'cancelled', 'config', 'internal'] as const
export type ReasonKind = (typeof REASON_KINDS)[number]

export const FixTarget = Type.Union([
  Type.Object({ kind: Type.Literal('setting'), key: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Z][A-Z0-9_]*$' }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('project'), field: Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z][a-z0-9_]*$' }) }, { additionalProperties: false }),
])
export type FixTarget = Static<typeof FixTarget>

/** A reason as the agent's failure event and the coordinator's fail report carry it. */
export const JobReason = Type.Object(
  {
    kind: Type.Union(REASON_KINDS.map((kind) => Type.Literal(kind))),
    text: Type.String({ minLength: 1, maxLength: 2000 }),
    fix: Type.Optional(Type.Union([FixTarget, Type.Null()])),
  },
  { additionalProperties: false },
)
export type JobReason = Static<typeof JobReason>

/** The reason columns of a job, as the jobs API and `job.updated` carry them. */
export interface JobReasonFields {
  reason_kind: ReasonKind | null
  reason: string | null
  reason_event_id: number | null
  reason_fix: FixTarget | null
}

export const isReasonKind = (value: unknown): value is ReasonKind => REASON_KINDS.includes(value as ReasonKind)

export const settingFix = (key: string): FixTarget => ({ kind: 'setting', key })
export const projectFix = (field: string): FixTarget => ({ kind: 'project', field })

/**
 * A job taken back because its lease expired (its coordinator stopped heartbeating: it died, lost
 * the network, or its host slept): a cancel by circumstance, neutral like a person's Stop.
 * `status` is where the reaper left the job: `pending` again, or `failed` after its last attempt.
 */
export function leaseLostReason(status: 'pending' | 'failed', attempt: number, maxAttempts: number): JobReason {
  const lost = 'Its coordinator stopped answering (lease lost)'
  return status === 'pending'
    ? { kind: 'cancelled', text: `${lost}; queued again as attempt ${attempt} of ${maxAttempts}` }
    : { kind: 'cancelled', text: `${lost} on attempt ${attempt} of ${maxAttempts}; not retried` }
}

/**
 * A job whose run lost its place (the coordinator saw its node go down, its pod evicted): like a
 * lost lease, a cancel by circumstance. `lost` is the executor's words ("its node w1 is down").
 */
export function placeLostReason(lost: string, status: 'pending' | 'failed', attempt: number, maxAttempts: number): JobReason {
  const said = lostSentence(lost)
  return status === 'pending'
    ? { kind: 'cancelled', text: `${said}; queued again as attempt ${attempt} of ${maxAttempts}`.slice(0, 2000) }
    : { kind: 'cancelled', text: `${said} on attempt ${attempt} of ${maxAttempts}; not retried`.slice(0, 2000) }
}

/** The executor's words about a lost run as the start of a sentence. */
export const lostSentence = (lost: string) => lost.charAt(0).toUpperCase() + lost.slice(1)
