/**
 * Runs a child process (git, the project's setup/test commands) with bounded output, a timeout and
 * an abort signal. The child gets its own process group and stdin closed; a timeout or abort kills
 * the whole group (a test runner's workers, a dev server), SIGTERM first, SIGKILL 2 s later.
 */
import { spawn } from 'node:child_process'

export interface RunOptions {
  cwd: string
  env: Record<string, string>
  timeoutMs?: number
  signal?: AbortSignal
  /** Bytes of stdout kept: the head for git's answers, the tail (`keep: 'tail'`) for test output. */
  maxBytes?: number
  keep?: 'head' | 'tail'
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout was longer than maxBytes (the rest was dropped). */
  truncated: boolean
  timedOut: boolean
  aborted: boolean
  ms: number
}

const STDERR_MAX = 16000

export function runProcess(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now()
  const max = options.maxBytes ?? 4 * 1024 * 1024
  const keepTail = options.keep === 'tail'
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = Buffer.alloc(0)
    let stderr = ''
    let truncated = false
    let timedOut = false
    let aborted = false
    child.stdout.on('data', (chunk: Buffer) => {
      if (keepTail) {
        stdout = Buffer.concat([stdout, chunk])
        if (stdout.length > max) (stdout = stdout.subarray(stdout.length - max)), (truncated = true)
      } else {
        const room = max - stdout.length
        if (chunk.length > room) truncated = true
        if (room > 0) stdout = Buffer.concat([stdout, chunk.subarray(0, room)])
      }
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_MAX)
    })
    let killTimer: NodeJS.Timeout | undefined
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {}
      killTimer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {}
      }, 2000)
      killTimer.unref()
    }
    const timer = options.timeoutMs ? setTimeout(() => ((timedOut = true), kill()), options.timeoutMs) : undefined
    const onAbort = () => ((aborted = true), kill())
    if (options.signal?.aborted) onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    child.once('error', (error) => {
      if (timer) clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      reject(error)
    })
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      if (killTimer) clearTimeout(killTimer)
      options.signal?.removeEventListener('abort', onAbort)
      resolve({
        code: code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : null),
        stdout: stdout.toString('utf8'),
        stderr,
        truncated,
        timedOut,
        aborted,
        ms: Date.now() - started,
      })
    })
  })
}
