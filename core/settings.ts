/**
 * Every app setting: its type, whether it is a secret, its default and what it does. This table is
 * the documentation (README) and drives validation, masking and the settings check. A setting left
 * unset in the app falls back to the app process's environment variable of the same name.
 */

import { CONTAINER_LIMIT_DEFAULTS, CONTAINER_LIMIT_DESCRIPTIONS, CONTAINER_LIMIT_KEYS, containerLimitProblem } from './container-limits.ts'

export type SettingType = 'string' | 'integer' | 'boolean' | 'url'

export interface SettingDefinition {
  key: string
  type: SettingType
  secret: boolean
  description: string
  default?: string
  /** Allowed values, for enumerations. */
  choices?: string[]
  /** `error`: Run is disabled while unset. `warning`: shown, Run still allowed. */
  required?: 'error' | 'warning'
  /** A check beyond the type's: the problem with a value, or null. */
  check?: (value: string) => string | null
}

export const WORKER_MODES = ['opencode', 'claude-code', 'codex', 'gemini', 'aider'] as const

/**
 * The forge kinds of the running app's plugins (`github`, `gitlab`, …), the choices of FORGE_KIND.
 * Filled by `startApp` from the forges the entrypoint passes.
 */
export const FORGE_KINDS: string[] = []

/** An issue label as the forges allow one, and as the intake can ask for it (no comma: lists are comma-separated). */
const labelProblem = (value: string) => (value.length <= 100 && !/[,\u0000-\u001f\u007f]/.test(value) ? null : 'must be one label name: at most 100 characters, no comma or control character')

export const SETTINGS: SettingDefinition[] = [
  { key: 'GITHUB_TOKEN', type: 'string', secret: true, required: 'warning', description: 'GitHub token for clone, push and pull requests, used by the app only (the git relay and forge actions); agents never receive it. FORGE_TOKEN, when set, wins' },
  { key: 'GITHUB_API_URL', type: 'url', secret: false, default: 'https://api.github.com', description: 'GitHub REST API base (GitHub Enterprise: https://host/api/v3); FORGE_API_URL, when set, wins' },
  { key: 'REPO_ALLOWLIST', type: 'string', secret: false, description: 'Comma-separated repository paths on the forge (owner/name, GitLab group/sub/name, or group/* for everything under a group; any case) projects may name and the forge token may be used for; unset = any repository the token reaches (then the token\'s scope is the boundary: use a fine-grained token)' },
  { key: 'GITHUB_WEBHOOK_SECRET', type: 'string', secret: true, description: 'HMAC secret of the GitHub webhook; FORGE_WEBHOOK_SECRET, when set, wins' },
  { key: 'FORGE_KIND', type: 'string', secret: false, default: 'github', choices: FORGE_KINDS, description: 'Which forge the repositories are on (a registered forge plugin: github, gitlab, gitea)' },
  { key: 'FORGE_API_URL', type: 'url', secret: false, description: 'API base of the forge (https://gitlab.example.com/api/v4, https://gitea.example.com/api/v1); unset = the forge\'s default (GitHub: GITHUB_API_URL, then https://api.github.com)' },
  { key: 'FORGE_TOKEN', type: 'string', secret: true, description: 'Token for clone, push and pull/merge requests on the forge, used by the app only; agents never receive it. For GitHub, GITHUB_TOKEN is read when this is unset' },
  { key: 'FORGE_WEBHOOK_SECRET', type: 'string', secret: true, description: 'Secret of the forge\'s webhook (HMAC key, or GitLab\'s X-Gitlab-Token); for GitHub, GITHUB_WEBHOOK_SECRET is read when this is unset' },
  { key: 'WORKER_MODE', type: 'string', secret: false, default: 'opencode', choices: [...WORKER_MODES], required: 'error', description: 'Coding-agent CLI the agent drives' },
  { key: 'WORKER_LLM_URL', type: 'url', secret: false, description: 'Base URL of the LLM the worker CLI talks to' },
  { key: 'WORKER_MODEL', type: 'string', secret: false, required: 'error', description: 'Model the worker CLI uses' },
  { key: 'WORKER_API_KEY', type: 'string', secret: true, description: 'API key of the worker LLM' },
  { key: 'WORKER_TIMEOUT_SEC', type: 'integer', secret: false, default: '1800', description: 'Longest single worker turn' },
  { key: 'AGENT_LLM_URL', type: 'url', secret: false, description: 'OpenAI-compatible endpoint of the Director; unset = single-shot mode' },
  { key: 'AGENT_MODEL', type: 'string', secret: false, description: 'Director model' },
  { key: 'AGENT_API_KEY', type: 'string', secret: true, description: 'Director API key' },
  { key: 'DIRECTOR_MAX_TURNS', type: 'integer', secret: false, default: '6', description: 'Worker turns per job before the Director gives up' },
  { key: 'DIRECTOR_MAX_MINUTES', type: 'integer', secret: false, default: '60', description: 'Wall-clock budget of one job' },
  { key: 'DIRECTOR_MAX_TOKENS', type: 'integer', secret: false, default: '2000000', description: 'Token budget of one job (Director and worker together)' },
  { key: 'DRAFT_PR_ON_BUDGET', type: 'boolean', secret: false, default: 'false', description: 'Open a draft PR when a budget runs out instead of none' },
  { key: 'GIT_AUTHOR_NAME', type: 'string', secret: false, description: 'Author and committer name of the agent\'s commits; unset = the agent\'s GIT_AUTHOR_NAME (default Terarchitect)' },
  { key: 'GIT_AUTHOR_EMAIL', type: 'string', secret: false, check: (value) => (/^[^\s<>@]+@[^\s<>@]+$/.test(value) ? null : 'must be an email address'), description: 'Author and committer email of the agent\'s commits; unset = the agent\'s GIT_AUTHOR_EMAIL' },
  { key: 'MAX_CONCURRENT_AGENTS', type: 'integer', secret: false, description: 'Agents per coordinator; overrides the coordinator\'s environment and is re-read while running. Set on a project: that project\'s cap on running jobs, across all coordinators' },
  ...CONTAINER_LIMIT_KEYS.map((key): SettingDefinition => ({
    key, type: key === 'AGENT_PIDS_LIMIT' ? 'integer' : 'string', secret: false, default: CONTAINER_LIMIT_DEFAULTS[key], check: containerLimitProblem(key),
    description: `${CONTAINER_LIMIT_DESCRIPTIONS[key]}. Re-read by coordinators while running; a coordinator's environment variable of the same name wins for it`,
  })),
  { key: 'EMBEDDING_SERVICE_URL', type: 'url', secret: false, description: 'OpenAI-compatible /v1/embeddings endpoint for project memory' },
  { key: 'EMBEDDING_API_KEY', type: 'string', secret: true, description: 'Embedding service key' },
  { key: 'MEMORY_EMBEDDING_MODEL', type: 'string', secret: false, description: 'Embedding model' },
  { key: 'REVIEW_POLL_INTERVAL_SEC', type: 'integer', secret: false, default: '60', description: 'How often open PRs are polled for new comments' },
  { key: 'REVIEW_ALLOWED_AUTHORS', type: 'string', secret: false, description: 'Comma-separated GitHub logins whose comments trigger review jobs besides writers' },
  { key: 'INTAKE_LABEL', type: 'string', secret: false, check: labelProblem, description: 'Issue intake (docs/issue-intake.md): an issue a person with write access gives this label becomes a Backlog ticket; unset = no intake. Best set per project' },
  { key: 'INTAKE_START_LABEL', type: 'string', secret: false, check: labelProblem, description: 'Issue intake: an issue a writer gives this label becomes a ticket moved straight to In Progress' },
  { key: 'CI_FIX_MAX_ROUNDS', type: 'integer', secret: false, default: '2', description: 'CI-fix jobs per pull request whose checks fail (docs/ci-fix.md); 0 = CI is followed and reported but never fixed' },
  { key: 'CI_FIX_START_TIMEOUT_SEC', type: 'integer', secret: false, default: '1800', description: 'Seconds a pull request\'s checks may stay queued (or absent) before the ticket is told they never started' },
]

export const SETTINGS_BY_KEY = new Map(SETTINGS.map((definition) => [definition.key, definition]))
