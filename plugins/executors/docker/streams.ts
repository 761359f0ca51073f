/**
 * Stream framing of the Engine API: the multiplexed log/attach stream and the JSON-lines progress
 * stream of build and import.
 */
import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { DockerError } from './errors.ts'

export interface LogFrame {
  stream: 'stdout' | 'stderr'
  data: Buffer
}

/**
 * Demultiplexes the log stream of a container created without a TTY. The daemon sends frames:
 *
 *     byte 0      stream type: 0 stdin (treated as stdout), 1 stdout, 2 stderr
 *     bytes 1–3   zero padding
 *     bytes 4–7   payload length, big-endian uint32
 *     then        `length` bytes of payload
 *
 * HTTP chunk boundaries are unrelated to frame boundaries: a chunk may hold several frames, or end
 * inside a header or a payload. `push` keeps the unfinished tail and returns only whole frames.
 * (With `Tty: true` there is no framing at all: the body is the raw terminal output.)
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): LogFrame[] {
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const frames: LogFrame[] = []
    while (buffer.length >= 8) {
      const length = buffer.readUInt32BE(4)
      if (buffer.length < 8 + length) break
      const stream = buffer[0] === 2 ? 'stderr' : 'stdout'
      // subarray shares memory with the chunk: copy so the frame outlives later chunks untouched.
      frames.push({ stream, data: Buffer.from(buffer.subarray(8, 8 + length)) })
      buffer = buffer.subarray(8 + length)
    }
    this.pending = buffer
    return frames
  }

  /** Bytes held back waiting for the rest of a frame (non-zero at the end = truncated stream). */
  get pendingBytes(): number {
    return this.pending.length
  }
}

/** One message of a build/import/pull progress stream. */
export interface JsonMessage {
  stream?: string
  status?: string
  id?: string
  aux?: { ID?: string } & Record<string, unknown>
  error?: string
  errorDetail?: { code?: number; message?: string }
  [key: string]: unknown
}

/**
 * Reads a JSON-lines progress stream (build, import) to its end and returns its messages.
 * These endpoints answer HTTP 200 as soon as they start, so a failure (a RUN step exiting non-zero,
 * a bad tar) arrives as a line `{"errorDetail":{"message":…},"error":…}` inside the 200 body:
 * the first such line rejects with a `docker_stream_error`. Lines split across chunks are joined.
 */
export async function readJsonLines(
  body: Readable,
  onMessage?: (message: JsonMessage) => void,
): Promise<JsonMessage[]> {
  const decoder = new StringDecoder('utf8')
  const messages: JsonMessage[] = []
  let carry = ''
  const take = (line: string) => {
    const text = line.trim()
    if (text === '') return
    let message: JsonMessage
    try {
      message = JSON.parse(text) as JsonMessage
    } catch (error) {
      throw new DockerError('docker_stream_error', 200, `unparseable progress line: ${text.slice(0, 200)}`, error)
    }
    if (message.error !== undefined || message.errorDetail !== undefined) {
      const reason = message.errorDetail?.message ?? message.error ?? 'unknown error'
      throw new DockerError('docker_stream_error', 200, reason)
    }
    messages.push(message)
    onMessage?.(message)
  }
  try {
    for await (const chunk of body) {
      const lines = (carry + decoder.write(chunk as Buffer)).split('\n')
      carry = lines.pop() ?? ''
      for (const line of lines) take(line)
    }
    take(carry + decoder.end())
  } finally {
    // An error line ends our interest; drop the rest rather than leave the socket half-read.
    if (!body.readableEnded) body.destroy()
  }
  return messages
}
