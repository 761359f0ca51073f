/**
 * Settings in words: a label per setting (the variable name stays visible, secondary) and, for the
 * worker's URL, key and model, what the chosen CLI wants (docs/clis.md, docs/workers.md).
 */

export const SETTING_LABELS: Record<string, string> = {
  FORGE_KIND: 'Forge (GitHub, GitLab, Gitea)',
  FORGE_API_URL: 'Forge API URL',
  FORGE_TOKEN: 'Forge token',
  FORGE_WEBHOOK_SECRET: 'Forge webhook secret',
  GITHUB_TOKEN: 'GitHub token',
  GITHUB_API_URL: 'GitHub API URL',
  REPO_ALLOWLIST: 'Allowed repositories',
  GITHUB_WEBHOOK_SECRET: 'GitHub webhook secret',
  WORKER_MODE: 'Coding-agent CLI',
  WORKER_LLM_URL: 'Worker LLM URL',
  WORKER_MODEL: 'Worker model',
  WORKER_API_KEY: 'Worker LLM API key',
  WORKER_TIMEOUT_SEC: 'Longest worker turn (seconds)',
  AGENT_LLM_URL: 'Director LLM URL',
  AGENT_MODEL: 'Director model',
  AGENT_API_KEY: 'Director API key',
  DIRECTOR_MAX_TURNS: 'Worker turns per job',
  DIRECTOR_MAX_MINUTES: 'Minutes per job',
  DIRECTOR_MAX_TOKENS: 'Tokens per job',
  DRAFT_PR_ON_BUDGET: 'Draft PR when a budget runs out',
  MAX_CONCURRENT_AGENTS: 'Agents per coordinator',
  AGENT_MEMORY: 'Agent container memory',
  AGENT_CPUS: 'Agent container CPUs',
  AGENT_PIDS_LIMIT: 'Agent container processes',
  EMBEDDING_SERVICE_URL: 'Embedding service URL',
  EMBEDDING_API_KEY: 'Embedding API key',
  MEMORY_EMBEDDING_MODEL: 'Embedding model',
  REVIEW_POLL_INTERVAL_SEC: 'PR polling interval (seconds)',
  REVIEW_ALLOWED_AUTHORS: 'Also trusted PR commenters',
  INTAKE_LABEL: 'Issue intake label',
  INTAKE_START_LABEL: 'Issue intake label that starts work',
  GIT_AUTHOR_NAME: 'Commit author name',
  GIT_AUTHOR_EMAIL: 'Commit author email',
}

/** The label of a setting; its variable name when it has none. */
export const settingLabel = (key: string) => SETTING_LABELS[key] ?? key

interface CliHints { url: string; key: string; model: string }

const CLI_HINTS: Record<string, CliHints> = {
  'claude-code': {
    url: 'Claude Code wants the Anthropic base URL without /v1, e.g. https://api.anthropic.com (it calls /v1/messages).',
    key: 'An Anthropic API key (sk-ant-…), sent as x-api-key.',
    model: 'An Anthropic model name, e.g. claude-sonnet-4-5.',
  },
  opencode: {
    url: 'OpenCode wants an OpenAI-compatible base URL ending in /v1, e.g. https://api.openai.com/v1 (a bare host gets /v1); it calls /chat/completions.',
    key: 'The provider\'s API key, sent as Authorization: Bearer.',
    model: 'The model name the provider knows, e.g. gpt-4.1 or qwen2.5-coder-32b.',
  },
  codex: {
    url: 'Codex wants an OpenAI-compatible base URL that serves the Responses API (/responses), e.g. https://api.openai.com/v1.',
    key: 'An OpenAI-style API key, sent as Authorization: Bearer.',
    model: 'A model the Responses API serves, e.g. gpt-5-codex.',
  },
  gemini: {
    url: 'Gemini CLI wants the Gemini base URL without /v1beta, e.g. https://generativelanguage.googleapis.com.',
    key: 'A Gemini API key, sent as x-goog-api-key.',
    model: 'A Gemini model name, e.g. gemini-2.5-pro.',
  },
  aider: {
    url: 'Aider wants an OpenAI-compatible base URL (a bare host gets /v1); it calls /chat/completions.',
    key: 'The provider\'s API key, sent as Authorization: Bearer.',
    model: 'The model name the provider knows.',
  },
}

const FIXED_HINTS: Record<string, string> = {
  AGENT_LLM_URL: 'An OpenAI-compatible URL; the Director calls /v1/chat/completions under it.',
  EMBEDDING_SERVICE_URL: 'An OpenAI-compatible URL; /v1/embeddings is called under it.',
  GITHUB_API_URL: 'https://api.github.com, or https://host/api/v3 on GitHub Enterprise.',
  GITHUB_TOKEN: 'A fine-grained token with Contents and Pull requests read and write on the project repositories (or a classic token with repo).',
  FORGE_KIND: 'github, gitlab or gitea (Gitea and Forgejo); the GITHUB_ settings are GitHub\'s names for the FORGE_ ones.',
  FORGE_API_URL: 'The forge\'s API base: https://gitlab.example.com/api/v4 (also under a path, /gitlab/api/v4), https://gitea.example.com/api/v1.',
  FORGE_TOKEN: 'GitLab: an access token with api and write_repository. Gitea: a token with repository and issue read and write (docs/forges.md).',
  GIT_AUTHOR_NAME: 'The name on the agent\'s commits (author and committer), e.g. Terarchitect Bot; unset: the agent\'s own default.',
  GIT_AUTHOR_EMAIL: 'The email on the agent\'s commits; use an address the forge links to the bot account (e.g. its noreply address) so commits show as the bot\'s.',
  REPO_ALLOWLIST: 'Repository paths as the forge names them, comma-separated: owner/name, group/subgroup/name, or group/* for everything under a group.',
}

/** What the CLI `workerMode` wants in a worker setting, or a fixed hint, or null. */
export function settingHint(key: string, workerMode: string): string | null {
  const cli = CLI_HINTS[workerMode] ?? CLI_HINTS.opencode!
  if (key === 'WORKER_LLM_URL') return cli.url
  if (key === 'WORKER_API_KEY') return cli.key
  if (key === 'WORKER_MODEL') return cli.model
  return FIXED_HINTS[key] ?? null
}
