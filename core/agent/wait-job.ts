/**
 * The agent of a warm container (`node agent.js pooled`): started before its job exists, it warms
 * what it can without one (the worker CLIs' `--version`, read once, results kept for the job's
 * probe) and waits for the job file the coordinator uploads after start
 * (plugins/executors/docker/job-archive.ts), and clones the project's git mirror into its workspace
 * when one is mounted (prepared-workspace.ts). The file holds the job's kind and environment, secrets
 * included: it is read once and deleted at once; nothing of it is in the container's spec.
 */
import { readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Worker } from '../worker.ts'
import { MIRROR_PATH, prepareFromMirror, type PreparedWorkspace } from './prepared-workspace.ts'

/** The directory the job file is uploaded into (0700, the agent user's) and the file's name. */
export const JOB_DIR = '/run/terarchitect-job'
export const JOB_FILE = 'job.json'

/** What the coordinator hands a warm container. */
export interface HandedJob {
  kind: 'ticket' | 'review' | 'ci_fix'
  env: Record<string, string>
}

type ProbeResult = Awaited<ReturnType<NonNullable<Worker['probe']>>>

/** The worker modes whose CLIs a warm container reads while it waits. */
const WARM_MODES = ['claude-code', 'codex', 'opencode', 'gemini', 'aider']

export interface WaitOptions {
  /** Where the job file appears; default JOB_DIR/JOB_FILE. */
  path?: string
  /** Polling interval while no job is there; default 20 ms. */
  pollMs?: number
  workerFor(mode: string): Worker
  /** Told once the CLIs were read (READY_LINE …), unless the job came first. */
  print?: (line: string) => void
  /**
   * The job's workspace (AGENT_WORKSPACE): with the project's git mirror mounted at MIRROR_PATH,
   * cloned from it meanwhile (prepared-workspace.ts); a job arriving first stops that clone.
   */
  workspace?: string
}

/** How a warm container's output says its agent is ready (the bench waits for it). */
export const READY_LINE = 'agent: ready for a job'
/** How it says its workspace was cloned from the git mirror. */
export const PREPARED_LINE = 'agent: workspace cloned from the git cache'

/**
 * Resolves with the job once its file is there and whole, and the probe results gathered meanwhile
 * (by worker mode). The upload is not atomic: a file that does not parse yet is read again.
 */
export async function waitForJob(options: WaitOptions): Promise<{ job: HandedJob; probes: Map<string, ProbeResult>; prepared: PreparedWorkspace | null }> {
  const path = options.path ?? join(JOB_DIR, JOB_FILE)
  const probes = new Map<string, ProbeResult>()
  let arrived = false
  // One CLI at a time: a warm container should not compete with running jobs for the CPU. A job
  // arriving meanwhile stops the rest (the probe in flight finishes: measured up to 10 s for a
  // node-based CLI read for the first time on a loaded host).
  const started = Date.now()
  void (async () => {
    for (const mode of WARM_MODES) {
      if (arrived) return
      const probe = options.workerFor(mode).probe
      const result = await probe?.().catch((error: Error) => ({ ok: false as const, reason: error.message }))
      if (result?.ok) probes.set(mode, result)
    }
    if (!arrived) options.print?.(`${READY_LINE} (worker CLIs read in ${((Date.now() - started) / 1000).toFixed(1)} s: ${[...probes.keys()].join(', ') || 'none'})`)
  })()
  const stopPreparing = new AbortController()
  const preparing = options.workspace
    ? prepareFromMirror(MIRROR_PATH, options.workspace, { signal: stopPreparing.signal }).then((prepared) => {
      if (prepared && !arrived) options.print?.(`${PREPARED_LINE} in ${prepared.seconds.toFixed(1)} s`)
      return prepared
    })
    : Promise.resolve(null)
  let prepared: PreparedWorkspace | null = null
  void preparing.then((done) => (prepared = done))
  for (;;) {
    const job = await readFile(path, 'utf8').then(parseJob, () => null)
    if (job) {
      arrived = true
      await unlink(path).catch(() => {})
      // A clone still running is stopped (and its directory emptied): the job clones as without it.
      if (!prepared) stopPreparing.abort()
      return { job, probes, prepared: await preparing }
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 20))
  }
}

function parseJob(text: string): HandedJob | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  const job = value as Partial<HandedJob>
  if ((job.kind !== 'ticket' && job.kind !== 'review' && job.kind !== 'ci_fix') || typeof job.env !== 'object' || job.env === null) return null
  if (!Object.values(job.env).every((item) => typeof item === 'string')) return null
  return { kind: job.kind, env: job.env }
}

/** `worker` answering its probe from `probes` when the warm container already ran it (only successes are kept). */
export function withWarmProbe(worker: Worker, probes: Map<string, ProbeResult> | undefined, mode: string): Worker {
  const known = probes?.get(mode)
  return known ? { ...worker, probe: async () => known } : worker
}
