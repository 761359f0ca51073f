/**
 * Job events as they happen. `step` and `worker` only queue (they never block the flow and never
 * throw); one POST is in flight at a time and carries whatever queued meanwhile, so events keep
 * their order and a chatty worker costs a handful of requests, not one per line. Everything sent is
 * passed through `redactText` first: a secret that a worker echoes never reaches the app.
 */
import type { JobEventInput } from '../types.ts'
import type { WorkerEvent } from '../worker.ts'
import { redactText, type Logger } from '../log.ts'
import { boundEvent, renderEvent } from './render.ts'

export interface Reporter {
  /** A flow step: `clone`, `branch`, `turn`, `push`, `pr`, `error`, … */
  step(step: string, summary: string, raw?: string, event?: Record<string, unknown> & { kind: string }): void
  /** A normalized worker event, posted with step `worker` and a one-line summary. */
  worker(event: WorkerEvent, turn: number): void
  /** Resolves once everything queued so far was posted (or given up on), or after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>
}

export interface ReporterOptions {
  post(events: JobEventInput[]): Promise<void>
  log: Logger
  /**
   * Also print each step as one line, for `docker logs` and the coordinator's own log. Each line
   * starts with STEP_LINE_MARK: the coordinator forwards the agent's stdout to the ticket log and
   * skips marked lines, as the step was already posted as a structured event.
   */
  print?: (line: string) => void
}

/** ASCII record separator: invisible in a terminal, marks a printed step (core/coordinator/output.ts). */
export const STEP_LINE_MARK = '\u001e'

const SUMMARY_MAX = 4000
const RAW_MAX = 60000
const BATCH_MAX = 200
const BATCH_BYTES = 512 * 1024

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 20)}… (${text.length - max + 20} more)` : text)

export function createReporter(options: ReporterOptions): Reporter {
  const queue: { event: JobEventInput; bytes: number }[] = []
  let sending: Promise<void> | undefined

  function enqueue(input: JobEventInput) {
    const event: JobEventInput = {
      step: input.step.slice(0, 100),
      summary: clip(redactText(input.summary ?? ''), SUMMARY_MAX),
      ...(input.raw_output ? { raw_output: clip(redactText(input.raw_output), RAW_MAX) } : {}),
      ...(input.event ? { event: JSON.parse(redactText(JSON.stringify(input.event))) } : {}),
    }
    queue.push({ event, bytes: JSON.stringify(event).length })
    kick()
  }

  function kick() {
    if (sending) return
    // An event queued after pump's last check but before this settles is picked up by the re-kick.
    sending = pump().finally(() => {
      sending = undefined
      if (queue.length) kick()
    })
  }

  async function pump() {
    while (queue.length) {
      let bytes = 0
      let count = 0
      while (count < queue.length && count < BATCH_MAX && (count === 0 || bytes + queue[count]!.bytes < BATCH_BYTES)) {
        bytes += queue[count]!.bytes
        count++
      }
      const batch = queue.slice(0, count).map((item) => item.event)
      try {
        await options.post(batch)
      } catch (error) {
        // The client already retried; losing log lines must not end the job.
        options.log.warn('job events could not be posted; dropped', { count, error: (error as Error).message })
      }
      queue.splice(0, count)
    }
  }

  return {
    step(step, summary, raw, event) {
      options.print?.(STEP_LINE_MARK + redactText(`[${step}] ${summary}`))
      enqueue({ step, summary, ...(raw ? { raw_output: raw } : {}), ...(event ? { event } : {}) })
    },
    worker(event, turn) {
      enqueue({ step: 'worker', summary: `turn ${turn}: ${renderEvent(event)}`, event: boundEvent(event) as JobEventInput['event'] })
    },
    async flush(timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs
      while (sending && Date.now() < deadline) {
        await Promise.race([sending, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())])
      }
    },
  }
}
