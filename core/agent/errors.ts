/**
 * Why an agent run ends other than in success, and the exit code each reason maps to. The flows
 * throw these; `runAgent` posts the message as the job's last event (with the reason people read,
 * `reasonOf`) and exits with the code.
 */
import { projectFix, settingFix, type FixTarget, type JobReason, type ReasonKind } from '../services/job-reason.ts'

export type AgentErrorCode =
  | 'config' // bad or missing configuration (settings, repo URL, worker CLI)
  | 'git' // clone, fetch, commit or push failed
  | 'github' // the REST API refused (PR, comment)
  | 'worker' // the worker's turn failed (exit code, timeout, denied tools, nothing changed)
  | 'director' // the Director endpoint failed or answered nonsense
  | 'nothing_to_push' // the job ends without a change to propose
  | 'budget' // a Director budget ran out
  | 'cancelled' // cancel requested or the process was signalled
  | 'app' // the app refused or could not be reached

/** Exit codes: 130 like a shell's SIGINT for a cancel; the coordinator only needs "0 or not". */
export const EXIT_CODES: Record<AgentErrorCode, number> = {
  config: 2,
  git: 1,
  github: 1,
  worker: 1,
  director: 1,
  nothing_to_push: 1,
  budget: 3,
  cancelled: 130,
  app: 1,
}

export class AgentError extends Error {
  readonly code: AgentErrorCode
  /** The job event step the failure is posted under. */
  readonly step: string
  /** The reason people read, when the thrower knows it better than `reasonOf` would guess. */
  readonly reason: JobReason | undefined

  constructor(code: AgentErrorCode, message: string, options: { step?: string; cause?: unknown; reason?: JobReason } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AgentError'
    this.code = code
    this.step = options.step ?? (code === 'cancelled' ? 'cancelled' : code === 'budget' ? 'budget' : 'error')
    this.reason = options.reason
  }

  get exitCode(): number {
    return EXIT_CODES[this.code]
  }
}

export const agentError = (code: AgentErrorCode, message: string, cause?: unknown) => new AgentError(code, message, { cause })
export const cancelled = (why = 'cancel requested') => new AgentError('cancelled', `cancelled: ${why}; nothing was pushed`)

/** Why an AbortSignal fired, as text (`cancel requested`, `stopped by SIGTERM`). */
export function abortReason(signal: AbortSignal): string {
  const reason = signal.reason
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted')
}

export function isAgentError(error: unknown, code?: AgentErrorCode): error is AgentError {
  return error instanceof AgentError && (code === undefined || error.code === code)
}

/** The reason class of each error code, before the message says better (REASON_RULES). */
const KIND_OF_CODE: Record<AgentErrorCode, ReasonKind> = {
  config: 'config',
  git: 'git',
  github: 'forge',
  worker: 'worker',
  director: 'worker',
  nothing_to_push: 'worker',
  budget: 'budget',
  cancelled: 'cancelled',
  app: 'internal',
}

/** The token setting a message names: FORGE_TOKEN, or GITHUB_TOKEN. */
const tokenNamed = (message: string) => (/\bFORGE_TOKEN\b/.test(message) ? 'FORGE_TOKEN' : 'GITHUB_TOKEN')

/**
 * Messages whose cause is known, in words for people, with where to fix it. The patterns match the
 * app's own git relay answers (core/services/git-relay.ts: "the repository was not found on the git
 * host", "the git host refused the forge token (403)"), the GitHub client's status hints and the
 * agent's own messages; first match wins.
 */
const REASON_RULES: { codes: AgentErrorCode[]; match: RegExp; kind: ReasonKind; text: string | ((message: string) => string); fix?: FixTarget | ((message: string) => FixTarget) }[] = [
  { codes: ['git'], match: /^(push to |git push failed).*refused the forge token \(40[13]\)/s, kind: 'forge', text: 'The GitHub token may not push to the repository (refused with 403): give it write access to the repository', fix: settingFix('GITHUB_TOKEN') },
  { codes: ['git', 'app'], match: /refused the forge token/, kind: 'forge', text: 'GitHub refused the token: check the GitHub token', fix: settingFix('GITHUB_TOKEN') },
  { codes: ['git', 'app'], match: /repository was not found|repository '[^']*' not found/, kind: 'forge', text: 'The repository was not found on GitHub (or the token cannot see it): check the project\'s repository URL', fix: projectFix('repo_url') },
  // The app names the token setting of the project's forge kind (forge-token.ts tokenSetting).
  { codes: ['git', 'app'], match: /\b(GITHUB|FORGE)_TOKEN is not set/, kind: 'config', text: (m) => `No forge token is set (${tokenNamed(m)}): the app cannot reach the repository`, fix: (m) => settingFix(tokenNamed(m)) },
  { codes: ['git', 'app'], match: /cannot be reached|could not resolve host|connection refused/i, kind: 'forge', text: (m) => `The repository's host could not be reached: ${m}`, fix: projectFix('repo_url') },
  { codes: ['github'], match: /not found on GitHub|\b404\b/, kind: 'forge', text: 'GitHub: the repository or pull request was not found (or the token cannot see it)', fix: projectFix('repo_url') },
  { codes: ['github'], match: /\b403\b|permission/i, kind: 'forge', text: 'GitHub refused the pull request: the token lacks the permission', fix: settingFix('GITHUB_TOKEN') },
  { codes: ['config'], match: /^PROJECT_PATH .* is neither a git checkout nor empty/, kind: 'setup', text: (m) => `The project path is not a git checkout: ${m.replace(/^PROJECT_PATH /, '')}`, fix: projectFix('project_path') },
  { codes: ['git'], match: /cannot add a worktree of/, kind: 'setup', text: 'The project\'s checkout has no commit to start from', fix: projectFix('project_path') },
  { codes: ['config'], match: /has no repo_url/, kind: 'config', text: 'The project has no repository URL', fix: projectFix('repo_url') },
  { codes: ['config'], match: /WORKER_MODEL is not set/, kind: 'config', text: 'No worker model is set', fix: settingFix('WORKER_MODEL') },
  { codes: ['config'], match: /unknown worker mode|cannot run here/, kind: 'config', text: (m) => `The worker CLI cannot run: ${m}`, fix: settingFix('WORKER_MODE') },
  { codes: ['worker'], match: /exited 0 but changed nothing/, kind: 'worker', text: 'The worker finished without changing anything' },
  { codes: ['worker'], match: /WORKER_LLM_URL unreachable from the app/, kind: 'config', text: 'The worker LLM could not be reached from the app: check its URL', fix: settingFix('WORKER_LLM_URL') },
  // The relay passes the provider's refusal through; its own 401 (a bad job token) names the job token.
  { codes: ['worker'], match: /^(?!.*job token).*(\b401\b|unauthori[sz]ed|invalid[ _-]?(x-)?api[ _-]?key|authentication_error)/is, kind: 'config', text: 'The worker LLM refused the API key', fix: settingFix('WORKER_API_KEY') },
  { codes: ['nothing_to_push'], match: /./, kind: 'worker', text: 'No change was made: there is nothing to propose' },
  { codes: ['budget'], match: /budget exhausted: (DIRECTOR_MAX_\w+)/, kind: 'budget', text: (m) => `The budget ran out: ${m.replace(/^budget exhausted: /, '')}`, fix: (m) => settingFix(/DIRECTOR_MAX_\w+/.exec(m)![0]) },
  { codes: ['director'], match: /answered 40[13]/, kind: 'config', text: 'The Director LLM refused the key', fix: settingFix('AGENT_API_KEY') },
  { codes: ['director'], match: /unreachable/, kind: 'config', text: (m) => `The Director LLM could not be reached: ${m}`, fix: settingFix('AGENT_LLM_URL') },
]

const sentence = (text: string) => (text.charAt(0).toUpperCase() + text.slice(1)).slice(0, 2000)

/** The reason people read for an agent error: the thrower's, a known cause, or the message itself. */
export function reasonOf(error: AgentError): JobReason {
  if (error.reason) return error.reason
  for (const rule of REASON_RULES) {
    if (!rule.codes.includes(error.code) || !rule.match.test(error.message)) continue
    const fix = typeof rule.fix === 'function' ? rule.fix(error.message) : rule.fix ?? null
    return { kind: rule.kind, text: sentence(typeof rule.text === 'string' ? rule.text : rule.text(error.message)), fix }
  }
  return { kind: KIND_OF_CODE[error.code], text: sentence(error.message), fix: null }
}
