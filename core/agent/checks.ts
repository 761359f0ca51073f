/**
 * The project's own commands, run by the agent in the workspace: `setup_command` once after the
 * checkout, `test_command` after every worker turn. Their real output is what the Director judges,
 * so a worker cannot talk its way past failing tests. They run with the agent's base environment
 * and the worker's HOME: no GitHub token, no LLM keys.
 */
import { runProcess } from './process.ts'

export interface CommandOutcome {
  command: string
  exitCode: number | null
  /** The tail of stdout and stderr, interleaved as `2>&1` gives them. */
  output: string
  timedOut: boolean
  seconds: number
}

export interface CommandOptions {
  cwd: string
  env: Record<string, string>
  timeoutMs: number
  maxBytes: number
  signal?: AbortSignal
}

export async function runProjectCommand(command: string, options: CommandOptions): Promise<CommandOutcome> {
  // `exec 2>&1` merges the streams inside the shell, so the tail keeps their real order.
  const result = await runProcess('sh', ['-c', `exec 2>&1\n${command}`], {
    cwd: options.cwd,
    env: options.env,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    maxBytes: options.maxBytes,
    keep: 'tail',
  })
  return {
    command,
    exitCode: result.code,
    output: (result.truncated ? '… (earlier output left out)\n' : '') + result.stdout,
    timedOut: result.timedOut,
    seconds: result.ms / 1000,
  }
}
