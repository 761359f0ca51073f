/**
 * Streams one job's output to its ticket log while the agent runs: complete lines are redacted
 * (every secret registered with `redact`, plus the job's own token), batched, and posted every `flushMs` as `agent_output`
 * events. A line still unterminated after `partialAfterMs` is sent as it is. The last `tailBytes`
 * are kept for the complete/fail report. Posting never blocks the agent: when the app is slow or
 * away, batches queue up to `maxPendingBytes`, then the oldest are dropped and a note says so.
 */
import type { OutputChunk } from '../executor.ts'
import { redactText, type Logger } from '../log.ts'
import { STEP_LINE_MARK } from '../agent/reporter.ts'
import type { OutputEvent } from './client.ts'

export interface JobOutputOptions {
  post(events: OutputEvent[]): Promise<void>
  /** Secrets of this job only (its agent token), masked like the registered ones. */
  secrets?: string[]
  log: Logger
  flushMs?: number
  partialAfterMs?: number
  tailBytes?: number
  maxPendingBytes?: number
}

export interface JobOutput {
  /** The executor's output sink. */
  write(chunk: OutputChunk): void
  /** A coordinator note on the ticket log (step `coordinator`). */
  note(summary: string, raw?: string): void
  /** The last bytes of output, redacted. */
  tail(): string
  /** Sends what is left; resolves when the queue is empty or `timeoutMs` passed. */
  close(timeoutMs?: number): Promise<void>
}

const RAW_MAX = 60000 // the app keeps 64 KiB of raw_output per event
const SUMMARY_MAX = 300

export function createJobOutput(options: JobOutputOptions): JobOutput {
  const flushMs = options.flushMs ?? 250
  const partialAfterMs = options.partialAfterMs ?? 1000
  const tailBytes = options.tailBytes ?? 4096
  const maxPendingBytes = options.maxPendingBytes ?? 1 << 20
  const partial: Record<string, { text: string; since: number }> = {}
  let lines: { stream: string; text: string }[] = []
  const queue: { event: OutputEvent; bytes: number }[] = []
  let queuedBytes = 0
  let dropped = 0
  let tail = ''
  let timer: NodeJS.Timeout | undefined
  let posting: Promise<void> | undefined
  let failures = 0
  let closed = false

  const schedule = () => {
    if (closed) return
    timer ??= setTimeout(() => {
      timer = undefined
      void flush()
    }, flushMs)
  }

  const jobSecrets = (options.secrets ?? []).filter((secret) => secret.length >= 4)
  const mask = (text: string) => {
    let out = redactText(text)
    for (const secret of jobSecrets) if (out.includes(secret)) out = out.split(secret).join('***')
    return out
  }

  // A step the agent printed (STEP_LINE_MARK) was posted by the agent as a structured event: it
  // stays in the tail (the failure report) but is not forwarded to the log a second time.
  const addLine = (stream: string, text: string) => {
    const step = text.startsWith(STEP_LINE_MARK)
    const clean = mask(step ? text.slice(STEP_LINE_MARK.length) : text)
    if (!step) lines.push({ stream, text: clean })
    tail = (tail + clean).slice(-tailBytes)
  }

  const enqueue = (event: OutputEvent) => {
    const bytes = (event.raw_output?.length ?? 0) + event.summary.length
    queue.push({ event, bytes })
    queuedBytes += bytes
    while (queuedBytes > maxPendingBytes && queue.length > 1) {
      const oldest = queue.shift()!
      queuedBytes -= oldest.bytes
      dropped += oldest.bytes
    }
  }

  /** Moves buffered lines (and stale partial lines) into the queue as events, one per stream and ≤ RAW_MAX. */
  const batch = (force: boolean) => {
    const now = Date.now()
    for (const [stream, buffered] of Object.entries(partial)) {
      if (buffered.text !== '' && (force || now - buffered.since >= partialAfterMs)) {
        addLine(stream, buffered.text)
        delete partial[stream]
      }
    }
    const byStream = new Map<string, string>()
    for (const line of lines) byStream.set(line.stream, (byStream.get(line.stream) ?? '') + line.text)
    lines = []
    for (const [stream, text] of byStream) {
      for (let start = 0; start < text.length; start += RAW_MAX) {
        const raw = text.slice(start, start + RAW_MAX)
        enqueue({ step: 'agent_output', summary: summarize(stream, raw), raw_output: raw })
      }
    }
  }

  const flush = async (force = false): Promise<void> => {
    batch(force)
    if (posting) return posting
    if (dropped > 0) {
      queue.unshift({ event: { step: 'coordinator', summary: `${dropped} bytes of agent output were dropped: the app did not accept them in time` }, bytes: 0 })
      dropped = 0
    }
    if (queue.length === 0) {
      if (Object.values(partial).some((buffered) => buffered.text !== '')) schedule()
      return
    }
    const sending = queue.splice(0, 200)
    const bytes = sending.reduce((sum, item) => sum + item.bytes, 0)
    queuedBytes -= bytes
    posting = options.post(sending.map((item) => item.event)).then(
      () => {
        failures = 0
      },
      (error: unknown) => {
        failures++
        // Put the batch back in front; the byte cap above bounds how much we hold.
        queue.unshift(...sending)
        queuedBytes += bytes
        if (failures === 1 || failures % 20 === 0) options.log.warn('posting agent output failed; will retry', { failures, error: (error as Error).message })
      },
    ).finally(() => {
      posting = undefined
      if (queue.length || lines.length || Object.keys(partial).length) schedule()
    })
    return posting
  }

  return {
    write(chunk) {
      const buffered = partial[chunk.stream] ?? { text: '', since: Date.now() }
      if (buffered.text === '') buffered.since = Date.now()
      let text = buffered.text + chunk.text
      let newline = text.indexOf('\n')
      while (newline !== -1) {
        addLine(chunk.stream, text.slice(0, newline + 1))
        text = text.slice(newline + 1)
        newline = text.indexOf('\n')
      }
      buffered.text = text
      partial[chunk.stream] = buffered
      schedule()
    },
    note(summary, raw) {
      enqueue({ step: 'coordinator', summary: mask(summary).slice(0, 4000), ...(raw ? { raw_output: mask(raw).slice(-RAW_MAX) } : {}) })
      schedule()
    },
    tail: () => tail,
    async close(timeoutMs = 10000) {
      closed = true
      if (timer) clearTimeout(timer)
      timer = undefined
      const deadline = Date.now() + timeoutMs
      batch(true)
      while ((queue.length || posting) && Date.now() < deadline) {
        await Promise.race([flush(true), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))])
        if (failures > 0 && queue.length) await new Promise((resolve) => setTimeout(resolve, Math.min(500, Math.max(0, deadline - Date.now()))))
      }
      if (timer) clearTimeout(timer)
      timer = undefined
      if (queue.length) options.log.warn('agent output not delivered before the job ended', { events: queue.length })
    },
  }
}

function summarize(stream: string, text: string): string {
  const all = text.split('\n').filter((line) => line.trim() !== '')
  const first = (all[0] ?? '').trim()
  const more = all.length > 1 ? ` (+${all.length - 1} lines)` : ''
  const prefix = stream === 'stdout' ? '' : `${stream}: `
  const head = first.length > SUMMARY_MAX ? first.slice(0, SUMMARY_MAX) + '…' : first
  return `${prefix}${head}${more}`
}
