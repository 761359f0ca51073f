/**
 * The Executor plugin interface: how a coordinator runs one agent job somewhere (a container, the
 * host, a custom backend). A plugin implements `name`, `probe` and `run`; everything else is an
 * optional capability the coordinator probes for.
 */
import type { ContainerLimits } from './container-limits.ts'

/** Everything an executor needs to start the agent for one job. */
export interface JobSpec {
  jobId: number
  ticketId: number | null
  projectId: number
  kind: 'ticket' | 'review' | 'ci_fix'
  executionMode: 'docker' | 'local'
  /** Host directory the agent works in for execution mode `local`. */
  projectPath: string | null
  /**
   * The agent's environment (DESIGN.md §7.1). It carries secrets: an executor passes it to the
   * process or container and never logs it, prints it or puts it in argv.
   */
  env: Record<string, string>
  /** Labels an executor attaches to what it creates, so a restarted coordinator can find orphans. */
  labels: Record<string, string>
  /** Wall-clock limit; the executor kills the run when it is exceeded. 0 = none. */
  timeoutMs: number
  /**
   * Optional: container limits in force for this job (app settings, coordinator overrides); a
   * container executor applies them over its own options, others ignore them.
   */
  limits?: ContainerLimits
  /** Optional: host directories a container executor binds read-only (the git object cache); others ignore them. */
  readOnlyMounts?: { source: string; target: string }[]
  /**
   * Optional: a ready container this executor made with `prepare` (the warm pool). `run` hands the
   * job to it instead of creating one; when the hand-over fails it starts a cold one as usual.
   * Its settings (project, limits, mounts) match this spec: the coordinator's pool keys them.
   */
  warm?: WarmContainer
}

/** Label on every warm container; its value names the pool (one per coordinator process) that made it. */
export const POOL_LABEL = 'terarchitect.pool'

/**
 * What a warm container is made for: everything fixed at creation (mounts, limits), and nothing of
 * a job: no job id, no token, no ticket text. `labels` mark it as pooled for reconcile.
 */
export interface WarmSpec {
  projectId: number
  labels: Record<string, string>
  limits?: ContainerLimits
  readOnlyMounts?: { source: string; target: string }[]
}

/** A container started by `prepare`, waiting for one job. */
export interface WarmContainer {
  /** The executor's id for it (a container id). */
  readonly id: string
  /** Removes it unused (pool drained, image changed, coordinator stopping). Never throws. */
  discard(): Promise<void>
}

/** One piece of the agent's output, delivered while the run is going on. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr' | 'system'
  text: string
}

export type OutputSink = (chunk: OutputChunk) => void

/** A probe's answer: `ok: false` makes the coordinator fall through to the next candidate. */
export type ProbeResult = { ok: true; detail?: string } | { ok: false; reason: string }

export interface RunResult {
  exitCode: number
  /** Set when the run ended because the abort signal fired or the timeout hit. */
  stoppedBy?: 'abort' | 'timeout'
  /**
   * Set when the run ended because the place it ran is gone (its Swarm node down or disconnected,
   * its pod evicted or its node lost), not because of the agent; says what was seen, e.g. "its node
   * w1 is down". The coordinator asks the app to queue the job again. Set only once the run is seen
   * down (or its service/pod removed): the next attempt never runs beside it. What the agent pushed
   * stays on its branch.
   */
  lost?: string
}

export interface Executor {
  /** Literal plugin name, e.g. `docker-dind`, `docker-dood`, `local`. */
  readonly name: string
  /** Can this executor run jobs here and now? Never throws: failures are `{ ok: false }`. */
  probe(): Promise<ProbeResult>
  /**
   * Runs the agent for one job to its end. Output is streamed to `output` as it happens. When
   * `signal` aborts, the run is stopped (container stopped, process group killed) and `run` resolves
   * with `stoppedBy: 'abort'`. Rejects only when the job could not be started at all.
   */
  run(spec: JobSpec, output: OutputSink, signal: AbortSignal): Promise<RunResult>
  /**
   * Optional: removes what earlier runs left behind (labelled containers) for jobs not in `keep`,
   * and warm containers of any pool but `pool` (this coordinator's live pool, when it has one).
   * Returns the ids of what was removed.
   */
  reconcile?(coordinatorId: string, keep: ReadonlySet<number>, pool?: string): Promise<string[]>
  /**
   * Optional, the warm pool's capability: starts a container ready for one job of
   * `spec.projectId` (the agent waiting, its daemon up) with no job data or secret in it. The job
   * is delivered when `run` gets `spec.warm`: after start, never through argv, labels, the
   * environment or anything else in the container's spec. One warm container serves one job and
   * is removed after it like any other. Rejects when the container cannot be started.
   */
  prepare?(spec: WarmSpec): Promise<WarmContainer>
  /** Optional: releases long-lived resources (sockets, watchers). */
  close?(): Promise<void>
}

/** Picks the first executor whose probe says ok, with the reasons of those skipped. */
export async function selectExecutor(
  candidates: readonly Executor[],
): Promise<{ executor: Executor | null; skipped: { name: string; reason: string }[] }> {
  const skipped: { name: string; reason: string }[] = []
  for (const candidate of candidates) {
    const result = await candidate.probe().catch((error: unknown) => ({ ok: false as const, reason: String(error) }))
    if (result.ok) return { executor: candidate, skipped }
    skipped.push({ name: candidate.name, reason: result.reason })
  }
  return { executor: null, skipped }
}
