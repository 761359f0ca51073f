/**
 * The Worker plugin interface: a coding-agent CLI (OpenCode, Claude Code, Codex, Gemini CLI, Aider
 * or a custom one) driven for one turn at a time. A plugin builds the invocation and parses the
 * CLI's machine output into normalized events; spawning, timeouts and streaming live in core
 * (`core/agent/run-worker.ts`), so a plugin stays a pure description of its CLI.
 *
 * Event conventions every plugin follows: each tool the CLI runs yields a `tool_call` (a `started`
 * one when the CLI announces the call, then one with the final status); a shell tool also yields a
 * `command`, a file tool a `file_change`. A call refused by the CLI's permission system ends as
 * `status: 'denied'`.
 */

/** Normalized events every worker's output is turned into (DESIGN.md §7.4). */
export type WorkerEvent =
  | { kind: 'message'; text: string }
  | { kind: 'tool_call'; name: string; input: unknown; status: 'started' | 'ok' | 'error' | 'denied'; output?: string }
  | { kind: 'command'; cmd: string; exit: number | null; output: string }
  /** `path` is relative to the turn's cwd when it lies inside it. */
  | { kind: 'file_change'; path: string; change: 'add' | 'modify' | 'delete'; diff?: string }
  /** `warning`: the CLI carries on (a retry, a fallback); not by itself a failure of the turn. */
  | { kind: 'error'; message: string; warning?: boolean }
  /**
   * Tokens (and cost where the CLI reports one). `cumulative`: the figures are the session's running
   * total (Codex); `runWorkerTurn` turns them into this turn's share before anyone sees them.
   */
  | { kind: 'usage'; input_tokens: number; output_tokens: number; cost_usd?: number; cumulative?: boolean }

/** Settings a worker is configured from (WORKER_* in app settings or the agent's env). */
export interface WorkerSettings {
  /** Base URL of the LLM endpoint the CLI talks to. */
  llmUrl: string
  model: string
  /** Secret: goes into the CLI's environment, never into argv or a prompt. */
  apiKey: string
  /** Longest single turn; 0 = no limit. */
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
  /** Added to a minimal base environment (PATH, HOME, LANG, TMPDIR); the GitHub token is never here. */
  env: Record<string, string>
  /** Config files to write before spawning, paths relative to `HOME` of the turn. */
  files?: { path: string; content: string }[]
  /** Written to the CLI's stdin, which is then closed. Absent: stdin is closed from the start. */
  stdin?: string
  /** Session id the plugin chose itself (a CLI without ids of its own); a parsed id wins. */
  sessionId?: string
}

/** Per-turn parsing state a plugin may keep (partial lines are handled by core). */
export interface ParseState {
  /** The turn's working directory, to report paths relative to it. */
  readonly cwd: string
  sessionId?: string
  [key: string]: unknown
}

export interface Worker {
  /** Literal plugin name, e.g. `opencode`, `claude-code`, `codex`, `gemini`, `aider`. */
  readonly name: string
  /**
   * Builds the command line, environment and config files for one turn. `home` is the absolute
   * HOME the CLI will run with (where `files` land; session state lives there between turns).
   */
  invocation(turn: WorkerTurn, settings: WorkerSettings, home: string): Invocation
  /** Turns one line of the CLI's stdout into normalized events (zero or more). Never throws. */
  parseLine(line: string, state: ParseState): WorkerEvent[]
  /** Optional: events still buffered when the output ends (e.g. a message sent in fragments). */
  end?(state: ParseState): WorkerEvent[]
  /** Optional: is the CLI installed and runnable here? */
  probe?(): Promise<{ ok: true; version?: string } | { ok: false; reason: string }>
}
