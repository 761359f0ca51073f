/**
 * Small helpers the worker plugins share: JSON lines that may be garbage, paths relative to the
 * turn's cwd, base-URL spelling per wire protocol (core/services/llm-relay-urls.ts), and the
 * `--version` probe.
 */
import { spawn } from 'node:child_process'
import { isAbsolute, relative } from 'node:path'
import { AppError } from '../../core/errors.ts'
import type { Worker } from '../../core/worker.ts'

/** The object on a stdout line, or undefined for anything else (banners, blank lines, garbage). */
export function parseJsonLine(line: string): Record<string, any> | undefined {
  const text = line.trim()
  if (!text.startsWith('{')) return undefined
  try {
    const value = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** `path` relative to `cwd` when it lies inside it; otherwise unchanged. */
export function relativeTo(cwd: string, path: string): string {
  if (!isAbsolute(path)) return path
  const rel = relative(cwd, path)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path
}

/** Tool output as text: strings as they are, content-block arrays joined, anything else as JSON. */
export function outputText(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return value.map((part) => (typeof part?.text === 'string' ? part.text : outputText(part))).join('\n')
  return JSON.stringify(value)
}

export function numberOr(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}

export { hostBaseUrl, openAiBaseUrl } from '../../core/services/llm-relay-urls.ts'

/** A plugin option that cannot work (e.g. a read-only Codex sandbox): refused when the plugin is built. */
export const invalidWorkerOption = (message: string) => new AppError('invalid_worker_option', 422, message)

/**
 * A `probe()` that runs `<command> --version` (bounded in time) and reports its first line. The CLI
 * gets a minimal environment, never the agent's own (which holds the job token in a cold container):
 * PATH, HOME, LANG, plus `env` (switches that also shorten the CLI's start, never a secret).
 */
export function versionProbe(command: string, options: { timeoutMs?: number; env?: Record<string, string> } = {}): NonNullable<Worker['probe']> {
  const timeoutMs = options.timeoutMs ?? 30_000
  return () =>
    new Promise((resolve) => {
      let out = ''
      const env = { ...probeEnv(process.env), ...options.env }
      const child = spawn(command, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, env })
      child.stdout.on('data', (data) => (out += data))
      child.stderr.on('data', (data) => (out += data))
      child.once('error', (error) => resolve({ ok: false, reason: `${command}: ${error.message}` }))
      child.once('close', (code, signal) => {
        const version = out.trim().split('\n')[0]
        if (code === 0) resolve({ ok: true, version })
        else resolve({ ok: false, reason: `${command} --version ${signal ? `killed by ${signal}` : `exited ${code}`}: ${version ?? ''}` })
      })
    })
}

/** What of the agent's environment a `--version` probe keeps: enough to find and start the CLI. */
function probeEnv(from: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {}
  for (const key of ['PATH', 'HOME', 'LANG']) if (from[key] !== undefined) env[key] = from[key]!
  return env
}

/** Tool names (lower-cased) that run a shell command / write files, across the CLIs. */
export const SHELL_TOOLS = new Set(['bash', 'run_shell_command', 'shell', 'exec_command', 'shell_command'])
export const FILE_TOOLS = new Set(['write', 'edit', 'multiedit', 'notebookedit', 'write_file', 'replace', 'patch', 'apply_patch'])
