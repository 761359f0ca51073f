/**
 * The Worker plugin interface: a coding-agent CLI (OpenCode, Claude Code, Codex, Gemini CLI, Aider
 * or a custom one) driven for one turn at a time. A plugin builds the invocation and parses the
 * CLI's machine output into normalized events; spawning, timeouts and streaming live in core, so a
 * plugin stays a pure description of its CLI.
 */

/** Normalized events every worker's output is turned into (DESIGN.md §7.4). */
export type WorkerEvent =
  | { kind: 'message'; text: string }
  | { kind: 'tool_call'; name: string; input: unknown; status: 'started' | 'ok' | 'error' | 'denied'; output?: string }
  | { kind: 'command'; cmd: string; exit: number | null; output: string }
  | { kind: 'file_change'; path: string; change: 'add' | 'modify' | 'delete'; diff?: string }
  | { kind: 'error'; message: string }
  | { kind: 'usage'; input_tokens: number; output_tokens: number; cost_usd?: number }

/** Settings a worker is configured from (WORKER_* in app settings or the agent's env). */
export interface WorkerSettings {
  /** Base URL of the LLM endpoint the CLI talks to. */
  llmUrl: string
  model: string
  /** Secret: goes into the CLI's environment or config file, never into argv. */
  apiKey: string
  timeoutSec: number
}

/** One turn: what to ask and where. */
export interface WorkerTurn {
  prompt: string
  cwd: string
  /** Session id from an earlier turn, for CLIs that can resume. */
  sessionId?: string
}

/** How to start the CLI for one turn. */
export interface Invocation {
  command: string
  args: string[]
  /** Added to a minimal base environment (PATH, HOME); the GitHub token is never here. */
  env: Record<string, string>
  /** Config files to write before spawning, paths relative to `HOME` of the turn. */
  files?: { path: string; content: string }[]
}

/** Per-turn parsing state a plugin may keep (partial lines are handled by core). */
export interface ParseState {
  sessionId?: string
  [key: string]: unknown
}

export interface Worker {
  /** Literal plugin name, e.g. `opencode`, `claude-code`, `codex`, `gemini`, `aider`. */
  readonly name: string
  /** Builds the command line, environment and config files for one turn. */
  invocation(turn: WorkerTurn, settings: WorkerSettings): Invocation
  /** Turns one line of the CLI's stdout into normalized events (zero or more). */
  parseLine(line: string, state: ParseState): WorkerEvent[]
  /** Optional: is the CLI installed and runnable here? */
  probe?(): Promise<{ ok: true; version?: string } | { ok: false; reason: string }>
}
