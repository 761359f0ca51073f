/**
 * The agent's configuration, resolved once from the environment by `resolveAgentConfig`
 * (DESIGN.md §7.1). The schema's defaults and descriptions are the documentation (docs/agent.md).
 * The coordinator sets the job variables; the app settings (WORKER_*, AGENT_*, DIRECTOR_*) arrive
 * with worker-context, and an environment variable of the same name wins over them (an operator's
 * override on a host run). The forge token is not among them: the app clones, pushes and opens pull
 * requests for the agent (the git relay and the forge actions), so the agent never holds it.
 */
import { Type, type Static } from '@sinclair/typebox'
import { readEnv } from './env.ts'
import { badRequest } from './errors.ts'
import type { LogLevel } from './log.ts'
import { SETTINGS_BY_KEY } from './settings.ts'
import { relayBaseUrl } from './services/llm-relay-urls.ts'

const Url = (description: string) => Type.Optional(Type.String({ pattern: '^https?://', description }))

export const AgentEnv = Type.Object({
  TERARCHITECT_API_URL: Type.String({ pattern: '^https?://', description: 'Base URL of the app (set by the coordinator)' }),
  PROJECT_ID: Type.Integer({ minimum: 1, description: 'Project of the job' }),
  TICKET_ID: Type.Integer({ minimum: 1, description: 'Ticket of the job' }),
  JOB_ID: Type.Optional(Type.Integer({ minimum: 1, description: 'The job; implied by the job token when unset' })),
  JOB_KIND: Type.Optional(Type.Union([Type.Literal('ticket'), Type.Literal('review'), Type.Literal('ci_fix')], { description: '`ticket` | `review` | `ci_fix`; the command-line argument wins' })),
  JOB_ATTEMPT: Type.Optional(Type.Integer({ minimum: 1, description: 'Attempt number, shown in the first job event' })),
  JOB_LEASE_SEC: Type.Optional(Type.Number({ minimum: 0, description: "The job's lease at its claim (set by the coordinator): until the app first confirms the lease, the agent counts it from its own start" })),
  TERARCHITECT_AGENT_TOKEN: Type.Optional(Type.String({ minLength: 8, description: 'Job-scoped token for the ticket endpoints (sent as Authorization: Bearer)' })),
  TERARCHITECT_WORKER_API_KEY: Type.Optional(Type.String({ minLength: 8, description: 'The worker key, accepted instead of a job token (manual runs)' })),
  DEFAULT_BRANCH: Type.Optional(Type.String({ minLength: 1, description: "Base branch; default the project's, else detected from the remote's HEAD" })),
  PR_NUMBER: Type.Optional(Type.Integer({ minimum: 1, description: 'Review and CI-fix jobs: the pull request' })),
  COMMENT_BODY: Type.Optional(Type.String({ description: 'Review jobs: the comment to address' })),
  GITHUB_COMMENT_ID: Type.Optional(Type.Integer({ minimum: 1, description: 'Review jobs: id of the comment' })),
  EXECUTION_MODE: Type.Union([Type.Literal('docker'), Type.Literal('local')], { default: 'docker', description: '`local`: work in PROJECT_PATH' }),
  PROJECT_PATH: Type.Optional(Type.String({ description: 'Local mode: the checkout to work in (must be clean), or an empty directory to clone into' })),
  AGENT_WORKSPACE: Type.Optional(Type.String({ description: 'Where to clone (the agent image sets /workspace); default PROJECT_PATH in local mode, else a fresh temp dir removed afterwards' })),
  AGENT_GIT_MIRROR: Type.Optional(Type.String({ pattern: '^/', description: 'Set by the coordinator (git object cache): a read-only bare mirror of the repository whose objects the clone borrows while the job runs (--reference-if-able, through alternates); refs still come from the git relay' })),
  TERARCHITECT_DOCKER_RUN_ERROR: Type.Optional(Type.String({ description: 'Set by the coordinator when the container could not start; logged on the ticket first' })),
  GIT_AUTHOR_NAME: Type.String({ default: 'Terarchitect', minLength: 1, description: "Author and committer name of the agent's commits" }),
  GIT_AUTHOR_EMAIL: Type.String({ default: 'terarchitect@users.noreply.github.com', minLength: 3, description: "Author and committer email of the agent's commits" }),
  CANCEL_POLL_SEC: Type.Number({ default: 5, minimum: 0.05, description: 'How often cancel-requested is polled (also confirms the lease; at most a sixth of the lease apart)' }),
  LEASE_MARGIN_SEC: Type.Number({ default: 10, minimum: 0, description: "The agent stops this long before its job's lease runs out when it cannot confirm the lease (at most a quarter of the lease); keep it below the app's JOB_LEASE_GRACE_SEC" }),
  DIFF_MAX_BYTES: Type.Integer({ default: 40000, minimum: 1000, description: 'Largest git diff shown to the Director per assessment' }),
  TEST_OUTPUT_MAX_BYTES: Type.Integer({ default: 8000, minimum: 500, description: "Tail of the test command's output kept for the Director and the log" }),
  TEST_TIMEOUT_SEC: Type.Integer({ default: 900, minimum: 1, description: "Longest run of the project's setup or test command" }),
  CODEX_SANDBOX: Type.Optional(Type.Union([Type.Literal('workspace-write'), Type.Literal('danger-full-access')], {
    description: "Codex's sandbox (default workspace-write). The agent image sets danger-full-access: the container is the sandbox, and Codex's own (bubblewrap user namespaces) is refused under Docker's default seccomp profile",
  })),
  LOG_LEVEL: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')], { default: 'info', description: 'debug | info | warn | error (stderr)' }),
  // App settings an environment variable may override (defaults: core/settings.ts).
  WORKER_MODE: Type.Optional(Type.String({ description: 'Override: the worker CLI (project worker_mode, then the app setting, otherwise)' })),
  WORKER_MODEL: Type.Optional(Type.String({ description: 'Override: the worker model' })),
  WORKER_TIMEOUT_SEC: Type.Optional(Type.Integer({ minimum: 1, description: 'Override: longest worker turn' })),
  AGENT_MODEL: Type.Optional(Type.String({ description: 'Override: the Director model' })),
  DIRECTOR_MAX_TURNS: Type.Optional(Type.Integer({ minimum: 1, description: 'Override: worker turns per job' })),
  DIRECTOR_MAX_MINUTES: Type.Optional(Type.Number({ minimum: 0.01, description: 'Override: wall-clock minutes per job' })),
  DIRECTOR_MAX_TOKENS: Type.Optional(Type.Integer({ minimum: 1, description: 'Override: tokens per job (Director + worker)' })),
  DRAFT_PR_ON_BUDGET: Type.Optional(Type.Boolean({ description: 'Override: open a draft PR when a budget runs out' })),
})

export type AgentKind = 'ticket' | 'review' | 'ci_fix'

export type AgentConfig = Static<typeof AgentEnv> & {
  kind: AgentKind
  LOG_LEVEL: LogLevel
  /**
   * Non-secret variables of the agent's own environment that child processes (git, the setup and
   * test commands) may inherit. Job secrets and tokens are never in here.
   */
  baseEnv: Record<string, string>
}

/** Host variables passed on to child processes; everything else (tokens, keys) stays in the agent. */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'USER', 'SHELL', 'TERM', 'TZ', 'SSH_AUTH_SOCK', 'GIT_SSH_COMMAND',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'DOCKER_HOST']

/** Resolves the configuration for `node agent.js <kind>`; throws a 400-style AppError naming bad variables. */
export function resolveAgentConfig(env: Record<string, string | undefined>, argvKind?: string): AgentConfig {
  const raw = readEnv(AgentEnv, env)
  const kind = argvKind ?? raw.JOB_KIND
  if (kind !== 'ticket' && kind !== 'review' && kind !== 'ci_fix') {
    throw badRequest(`usage: agent ticket|review|ci_fix (got ${JSON.stringify(kind ?? '')})`, [{ path: 'JOB_KIND', message: 'expected ticket, review or ci_fix' }])
  }
  if (!raw.TERARCHITECT_AGENT_TOKEN && !raw.TERARCHITECT_WORKER_API_KEY) {
    throw badRequest('invalid configuration: TERARCHITECT_AGENT_TOKEN (or TERARCHITECT_WORKER_API_KEY) is required', [
      { path: 'TERARCHITECT_AGENT_TOKEN', message: 'required' },
    ])
  }
  if (kind === 'review' && (!raw.PR_NUMBER || !raw.COMMENT_BODY)) {
    throw badRequest('invalid configuration: a review job needs PR_NUMBER and COMMENT_BODY', [
      { path: raw.PR_NUMBER ? 'COMMENT_BODY' : 'PR_NUMBER', message: 'required for review jobs' },
    ])
  }
  if (kind === 'ci_fix' && !raw.PR_NUMBER) {
    throw badRequest('invalid configuration: a ci_fix job needs PR_NUMBER', [{ path: 'PR_NUMBER', message: 'required for ci_fix jobs' }])
  }
  const baseEnv: Record<string, string> = {}
  for (const key of INHERITED) if (env[key]) baseEnv[key] = env[key]!
  baseEnv.PATH ??= '/usr/local/bin:/usr/bin:/bin'
  return { ...raw, kind, LOG_LEVEL: raw.LOG_LEVEL as LogLevel, baseEnv }
}

/** What the agent runs with once the app settings are known: env overrides, then settings, then defaults. */
export interface AgentSettings {
  workerMode: string
  /**
   * `llmUrl` is the app's LLM relay (`<TERARCHITECT_API_URL>/api/relay/llm/worker`) and `apiKey` the
   * job token: the relay swaps it for WORKER_API_KEY and calls WORKER_LLM_URL from the app's host.
   */
  worker: { llmUrl: string; model: string; apiKey: string; timeoutSec: number }
  /** Undefined = single-shot mode. Otherwise the relay's `director` base and the job token, as for the worker. */
  director: { url: string; model: string; apiKey: string } | undefined
  budget: { maxTurns: number; maxMinutes: number; maxTokens: number }
  draftPrOnBudget: boolean
}

const defaultOf = (key: string) => SETTINGS_BY_KEY.get(key)?.default

/** Merges the environment overrides with the settings served by worker-context. */
export function resolveAgentSettings(config: AgentConfig, settings: Record<string, string>, projectWorkerMode?: string | null): AgentSettings {
  const text = (key: keyof AgentConfig & string): string | undefined => {
    const fromEnv = config[key]
    if (fromEnv !== undefined && fromEnv !== '') return String(fromEnv)
    return settings[key] ?? defaultOf(key)
  }
  const number = (key: keyof AgentConfig & string): number => {
    const value = Number(text(key))
    if (!Number.isFinite(value) || value <= 0) throw badRequest(`setting ${key} is not a positive number: ${JSON.stringify(text(key))}`)
    return value
  }
  // The agent holds no LLM key and no LLM URL: both LLMs are reached through the app's relay.
  const jobToken = config.TERARCHITECT_AGENT_TOKEN ?? ''
  const directorModel = settings.DIRECTOR_ENABLED === 'true' ? text('AGENT_MODEL') : undefined
  return {
    // The project's own worker mode wins over the app-wide setting, an env override over both.
    workerMode: config.WORKER_MODE || projectWorkerMode || settings.WORKER_MODE || defaultOf('WORKER_MODE') || 'opencode',
    worker: {
      llmUrl: relayBaseUrl(config.TERARCHITECT_API_URL, 'worker'),
      model: text('WORKER_MODEL') ?? '',
      apiKey: jobToken,
      timeoutSec: number('WORKER_TIMEOUT_SEC'),
    },
    director: directorModel ? { url: relayBaseUrl(config.TERARCHITECT_API_URL, 'director'), model: directorModel, apiKey: jobToken } : undefined,
    budget: { maxTurns: number('DIRECTOR_MAX_TURNS'), maxMinutes: number('DIRECTOR_MAX_MINUTES'), maxTokens: number('DIRECTOR_MAX_TOKENS') },
    draftPrOnBudget: /^(1|true|yes)$/i.test(text('DRAFT_PR_ON_BUDGET') ?? 'false'),
  }
}
