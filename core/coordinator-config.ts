/**
 * The coordinator's configuration, resolved once from the environment by
 * `resolveCoordinatorConfig`. The schema's defaults and descriptions are the documentation
 * (docs/coordinator.md); the runbook's variable names are kept exactly (DESIGN.md §6).
 */
import { Type, type Static } from '@sinclair/typebox'
import { homedir, hostname } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { configurationError, readEnv } from './env.ts'
import { badRequest } from './errors.ts'
import { CONTAINER_LIMIT_DESCRIPTIONS, DEFAULT_CONTAINER_LIMITS, parseContainerLimit, parseContainerLimits, type ContainerLimitKey, type ContainerLimits } from './container-limits.ts'
import type { LogLevel } from './log.ts'
import { resolveAgentLocalUser, type LocalUser } from './agent/local-user.ts'
import { isLoopbackUrl } from './coordinator/reachability.ts'

export const CoordinatorEnv = Type.Object({
  TERARCHITECT_API_URL: Type.String({ default: 'http://127.0.0.1:5010', pattern: '^https?://', description: 'Base URL of the app; also given to agents (loopback URLs are rewritten to host.docker.internal for containers)' }),
  PROJECT_ID: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, description: 'Claim jobs of this project only' })),
  PROJECT_IDS: Type.Optional(Type.String({ pattern: '^\\s*\\d+(\\s*,\\s*\\d+)*\\s*$', description: 'Comma-separated project ids to claim from; unset (and no PROJECT_ID) = all projects' })),
  GITHUB_TOKEN: Type.Optional(Type.String({ pattern: '^\\S+$', description: 'Handed to the app once at start (stored encrypted, used for this coordinator\'s projects when the app has no GITHUB_TOKEN setting); never given to agents' })),
  TERARCHITECT_WORKER_API_KEY: Type.Optional(Type.String({ pattern: '^\\S+$', description: 'The app\'s worker key (its TERARCHITECT_WORKER_API_KEY, or the generated <data dir>/worker.key); never given to agents (they get a job token)' })),
  TERARCHITECT_COORDINATOR_TOKEN: Type.Optional(Type.String({ pattern: '^tco_\\S+$', description: 'A coordinator token an admin created (POST /api/coordinators/tokens); wins over the worker key; never given to agents' })),
  TERARCHITECT_WORKER_KEY_FILE: Type.Optional(Type.String({ description: 'A file holding the worker key (npm start points it at the app\'s generated <data dir>/worker.key); read once at start' })),
  AGENT_IMAGE: Type.String({ default: 'terarchitect-agent', minLength: 1, description: 'Agent image (a reference or an image id); project_images.json in the state dir overrides it per project, and records the image a project last succeeded with' }),
  MAX_CONCURRENT_AGENTS: Type.Integer({ default: 1, minimum: 1, maximum: 256, description: 'Agents run at once; the app setting of the same name wins and is re-read while running' }),
  POLL_INTERVAL_SEC: Type.Number({ default: 10, minimum: 0.05, maximum: 3600, description: 'Seconds between claims when long-poll is unavailable or erroring' }),
  CLAIM_WAIT_SEC: Type.Number({ default: 25, minimum: 0, maximum: 60, description: 'Long-poll: how long one claim waits at the app for a job (0 = plain polling)' }),
  AGENT_WARM_POOL: Type.Integer({ default: 0, minimum: 0, maximum: 32, description: 'Docker mode: the most agent containers kept started and waiting per (project, image), sized from recent claims, so a claimed job skips the container start (docs/coordinator.md "Warm pool"); 0 (default) disables; the coordinator service units set 2' }),
  AGENT_CACHE_VOLUME: Type.String({ default: 'terarchitect-agent-cache', description: 'Prefix of the cache volumes mounted at /cache in agent containers, one per project (<prefix>-p<project id>); set it empty to disable' }),
  AGENT_DOCKER_MODE: Type.Optional(Type.Union([Type.Literal('dind'), Type.Literal('dood'), Type.Literal('kubernetes'), Type.Literal('swarm')], { description: 'dind (default): a dockerd per job container; dood: the host daemon through its socket (one agent at a time only); kubernetes: one Kubernetes Job per agent job (KUBERNETES_*; docs/scaling.md); swarm: one one-shot Swarm service per agent job, DOCKER_HOST a manager (SWARM_*; docs/scaling.md). Default dood when AGENT_MOUNT_DOCKER_SOCKET=true' })),
  AGENT_MOUNT_DOCKER_SOCKET: Type.Optional(Type.Boolean({ description: 'dood: mount the daemon socket into agent containers (default true); false passes DOCKER_HOST instead (a sidecar daemon)' })),
  DOCKER_HOST: Type.Optional(Type.String({ description: 'Docker daemon: unix:///path or tcp://host:port (default unix:///var/run/docker.sock)' })),
  KUBERNETES_KUBECONFIG: Type.Optional(Type.String({ minLength: 1, description: 'kubernetes mode: a kubeconfig file (token or client certificate, and the CA); unset = the pod\'s own service account (in-cluster)' })),
  KUBERNETES_CONTEXT: Type.Optional(Type.String({ minLength: 1, description: 'kubernetes mode: the kubeconfig context to use (default its current-context)' })),
  KUBERNETES_NAMESPACE: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'kubernetes mode: the namespace agent Jobs run in (default the context\'s, else the service account\'s)' })),
  KUBERNETES_SERVICE_HOST: Type.Optional(Type.String({ description: 'Set by Kubernetes in every pod: the API server for in-cluster mode' })),
  KUBERNETES_SERVICE_PORT: Type.Optional(Type.String({ pattern: '^\\d{1,5}$', description: 'Set by Kubernetes in every pod: the API server\'s port' })),
  KUBERNETES_CPU_REQUEST: Type.String({ default: '500m', pattern: '^\\d+(\\.\\d+)?m?$', description: 'kubernetes mode: CPU the scheduler reserves per agent pod (capped at AGENT_CPUS)' }),
  KUBERNETES_MEMORY_REQUEST: Type.String({ default: '1Gi', pattern: '^\\d+(\\.\\d+)?(k|M|G|T|Ki|Mi|Gi|Ti)?$', description: 'kubernetes mode: memory the scheduler reserves per agent pod (capped at AGENT_MEMORY)' }),
  KUBERNETES_SERVICE_ACCOUNT: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$', description: 'kubernetes mode: service account of agent pods; unset = no API token is mounted into them' })),
  KUBERNETES_START_TIMEOUT_SEC: Type.Integer({ default: 600, minimum: 1, maximum: 86400, description: 'kubernetes mode: how long an agent pod may take to start (scheduling, image pull) before its job fails with the reason' }),
  SWARM_CONSTRAINTS: Type.Optional(Type.String({ description: 'swarm mode: placement constraints of agent services, comma-separated, e.g. node.labels.agents==true' })),
  SWARM_CPU_RESERVATION: Type.Number({ default: 0.5, minimum: 0, maximum: 1024, description: 'swarm mode: CPUs the scheduler reserves per agent task (capped at AGENT_CPUS); 0 = none' }),
  SWARM_MEMORY_RESERVATION: Type.String({ default: '1g', description: 'swarm mode: memory the scheduler reserves per agent task, as AGENT_MEMORY (capped at it); 0 = none' }),
  SWARM_START_TIMEOUT_SEC: Type.Integer({ default: 600, minimum: 1, maximum: 86400, description: 'swarm mode: how long an agent task may take to start (scheduling, image pull) before its job fails with the reason' }),
  COORDINATOR_STATE_DIR: Type.String({ default: join(homedir(), '.terarchitect', 'coordinator'), description: 'Holds coordinator_id, the lock and project_images.json (no secrets)' }),
  AGENT_GIT_CACHE: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'Docker mode: keep a bare mirror per repository on this host, refreshed through the git relay with each job\'s own token and mounted read-only into its container, so clones copy only what the mirror lacks (docs/coordinator.md "Git object cache"); off with a remote tcp:// DOCKER_HOST' }),
  AGENT_GIT_CACHE_MAX_MB: Type.Integer({ default: 5120, minimum: 1, maximum: 10485760, description: 'Size budget of the git object cache; least recently used mirrors no job is using are removed beyond it' }),
  AGENT_GIT_CACHE_DIR: Type.Optional(Type.String({ minLength: 1, pattern: '^/', description: 'Where the git object cache lives (default <COORDINATOR_STATE_DIR>/git-cache); the Docker daemon must see the same path (a coordinator in a container mounts it at the same path); one coordinator per directory' })),
  COORDINATOR_REPO_ROOT: Type.Optional(Type.String({ description: 'Where host-fallback runs get their fresh working directory (default <COORDINATOR_STATE_DIR>/work)' })),
  COORDINATOR_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:@-]{1,200}$', description: 'Stable id of this coordinator; default: kept in the state dir, first generated as hostname-pid-random' })),
  AGENT_HOST_COMMAND: Type.Optional(Type.String({ description: 'JSON array: the command that runs the agent on the host (local mode, fallback); the job kind is appended. Default node dist/agent.js' })),
  AGENT_LOCAL_USER: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]*\\$?$', maxLength: 64, description: 'Run local agents (local mode, host fallback) as this OS user, in directories of its own, so the code they run cannot read the coordinator\'s environment or the app\'s data; the coordinator must run as root. Unset: agents run as the coordinator\'s user' })),
  AGENT_FALLBACK_TO_HOST: Type.Boolean({ default: false, description: 'Opt-in: run a docker-mode agent on the host (with TERARCHITECT_DOCKER_RUN_ERROR) when its container cannot start. Off by default: the host has none of the container\'s confinement, so the job fails with the container error instead' }),
  JOB_TIMEOUT_SEC: Type.Integer({ default: 7200, minimum: 0, maximum: 604800, description: 'Wall-clock limit of one agent run; 0 = none' }),
  // Unset: the app setting of the same name (default 4g, 2, 4096), re-read while running.
  AGENT_MEMORY: Type.Optional(Type.String({ description: `${CONTAINER_LIMIT_DESCRIPTIONS.AGENT_MEMORY}. Set: wins over the app setting for this coordinator` })),
  AGENT_CPUS: Type.Optional(Type.String({ description: `${CONTAINER_LIMIT_DESCRIPTIONS.AGENT_CPUS}. Set: wins over the app setting for this coordinator` })),
  AGENT_PIDS_LIMIT: Type.Optional(Type.String({ description: `${CONTAINER_LIMIT_DESCRIPTIONS.AGENT_PIDS_LIMIT}. Set: wins over the app setting for this coordinator` })),
  AGENT_RUNTIME: Type.Optional(Type.String({ description: 'Container runtime of agent containers (HostConfig.Runtime), e.g. sysbox-runc: dind containers then run without privileges; unset = the daemon default' })),
  AGENT_STOP_TIMEOUT_SEC: Type.Integer({ default: 2, minimum: 0, maximum: 60, description: 'Seconds between SIGTERM and SIGKILL when an agent is stopped (cancel, timeout, shutdown)' }),
  HEARTBEAT_MAX_SEC: Type.Number({ default: 2, minimum: 0.1, maximum: 60, description: 'Heartbeats go every lease_sec/3, at most this far apart; a cancel is noticed within this time' }),
  SETTINGS_REFRESH_SEC: Type.Number({ default: 30, minimum: 0.1, maximum: 3600, description: 'How often the app settings MAX_CONCURRENT_AGENTS, AGENT_MEMORY, AGENT_CPUS and AGENT_PIDS_LIMIT are re-read' }),
  DOCKER_CHECK_SEC: Type.Number({ default: 15, minimum: 0.1, maximum: 3600, description: 'How often Docker availability is checked' }),
  COORDINATOR_REPORT_SEC: Type.Integer({ default: 15, minimum: 1, maximum: 3600, description: 'How often this coordinator reports to the app\'s registry (the Coordinators page); three missed reports show it as lost' }),
  SHUTDOWN_GRACE_SEC: Type.Number({ default: 30, minimum: 0, maximum: 3600, description: 'On SIGTERM: how long running jobs may finish before they are stopped and handed back' }),
  LOG_LEVEL: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')], { default: 'info', description: 'debug | info | warn | error' }),
  COORDINATOR_HEALTH_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Serve GET /health (probes) and GET /metrics (Prometheus) on this port; unset = no health server' })),
  COORDINATOR_HEALTH_HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address of the health server; off loopback, /metrics requires METRICS_TOKEN' }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'Bearer credential for the health server\'s GET /metrics; never given to agents' })),
})

type Env = Static<typeof CoordinatorEnv>

export interface CoordinatorConfig extends Omit<Env, 'PROJECT_ID' | 'PROJECT_IDS' | 'AGENT_DOCKER_MODE' | 'AGENT_HOST_COMMAND' | 'COORDINATOR_REPO_ROOT' | 'AGENT_MOUNT_DOCKER_SOCKET' | ContainerLimitKey> {
  /** The worker API credential: TERARCHITECT_COORDINATOR_TOKEN, TERARCHITECT_WORKER_API_KEY or the key file's content. */
  workerCredential: string
  /** The limits AGENT_MEMORY, AGENT_CPUS and AGENT_PIDS_LIMIT set in the environment: they win over the app settings. */
  containerLimitOverrides: Partial<ContainerLimits>
  /** The overrides over the defaults: what applies while the app's settings cannot be read. */
  containerLimits: ContainerLimits
  LOG_LEVEL: LogLevel
  /** PROJECT_ID / PROJECT_IDS merged; null = all projects. */
  projectIds: number[] | null
  AGENT_DOCKER_MODE: 'dind' | 'dood' | 'kubernetes' | 'swarm'
  /** SWARM_CONSTRAINTS split at commas. */
  swarmConstraints: string[]
  /** SWARM_MEMORY_RESERVATION in bytes. */
  swarmMemoryReservation: number
  AGENT_MOUNT_DOCKER_SOCKET: boolean
  COORDINATOR_REPO_ROOT: string
  /** Parsed AGENT_HOST_COMMAND; undefined = the local executor's default. */
  hostCommand: string[] | undefined
  /** AGENT_LOCAL_USER's passwd entry, checked at start; undefined = the coordinator's user. */
  agentLocalUser: LocalUser | undefined
}

/** Resolves the coordinator's configuration from `env`; throws a 400-style AppError naming bad variables. */
export function resolveCoordinatorConfig(env: Record<string, string | undefined>): CoordinatorConfig {
  refuseTrailingComments(env)
  const raw = readEnv(CoordinatorEnv, env)
  const { PROJECT_ID, PROJECT_IDS, AGENT_DOCKER_MODE, AGENT_HOST_COMMAND, COORDINATOR_REPO_ROOT, AGENT_MOUNT_DOCKER_SOCKET, ...rest } = raw
  const ids = [...(PROJECT_ID !== undefined ? [PROJECT_ID] : []), ...(PROJECT_IDS ?? '').split(',').map((id) => id.trim()).filter(Boolean).map(Number)]
  let hostCommand: string[] | undefined
  if (AGENT_HOST_COMMAND !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(AGENT_HOST_COMMAND)
    } catch {}
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((part) => typeof part === 'string')) {
      throw badRequest('invalid configuration: AGENT_HOST_COMMAND: expected a JSON array of strings', [{ path: 'AGENT_HOST_COMMAND', message: 'expected a JSON array of strings' }])
    }
    hostCommand = parsed as string[]
  }
  const containerLimitOverrides = checkValues(env, rest)
  return {
    ...rest,
    TERARCHITECT_API_URL: rest.TERARCHITECT_API_URL.replace(/\/+$/, ''),
    // readEnv treats an empty value as unset; for the cache volume empty means "disabled".
    AGENT_CACHE_VOLUME: env.AGENT_CACHE_VOLUME === '' ? '' : rest.AGENT_CACHE_VOLUME,
    projectIds: ids.length ? [...new Set(ids)] : null,
    AGENT_DOCKER_MODE: AGENT_DOCKER_MODE ?? (AGENT_MOUNT_DOCKER_SOCKET === true ? 'dood' : 'dind'),
    AGENT_MOUNT_DOCKER_SOCKET: AGENT_MOUNT_DOCKER_SOCKET ?? true,
    COORDINATOR_REPO_ROOT: COORDINATOR_REPO_ROOT ?? join(rest.COORDINATOR_STATE_DIR, 'work'),
    hostCommand,
    agentLocalUser: resolveAgentLocalUser(rest.AGENT_LOCAL_USER),
    containerLimitOverrides,
    containerLimits: { ...DEFAULT_CONTAINER_LIMITS, ...containerLimitOverrides },
    swarmConstraints: (rest.SWARM_CONSTRAINTS ?? '').split(',').map((constraint) => constraint.trim()).filter(Boolean),
    swarmMemoryReservation: (parseContainerLimit('AGENT_MEMORY', rest.SWARM_MEMORY_RESERVATION) as { value?: number }).value ?? 0,
    workerCredential: workerCredential(rest),
  }
}

/** The worker API is never anonymous: a coordinator without a credential refuses to start. */
function workerCredential(values: Env): string {
  if (values.TERARCHITECT_COORDINATOR_TOKEN) return values.TERARCHITECT_COORDINATOR_TOKEN
  if (values.TERARCHITECT_WORKER_API_KEY) return values.TERARCHITECT_WORKER_API_KEY
  const file = values.TERARCHITECT_WORKER_KEY_FILE
  let key = ''
  try {
    key = file ? readFileSync(file, 'utf8').trim() : ''
  } catch (error) {
    throw badRequest(`invalid configuration: TERARCHITECT_WORKER_KEY_FILE: cannot read ${file}: ${(error as Error).message}`, [{ path: 'TERARCHITECT_WORKER_KEY_FILE', message: 'unreadable' }])
  }
  if (key) return key
  throw badRequest('invalid configuration: the worker API needs a credential: set TERARCHITECT_COORDINATOR_TOKEN, TERARCHITECT_WORKER_API_KEY or TERARCHITECT_WORKER_KEY_FILE', [
    { path: 'TERARCHITECT_COORDINATOR_TOKEN', message: 'none of the worker API credentials is set' },
  ])
}

/** What `coordinator reset-image` reads: the state dir, AGENT_IMAGE and the daemon; no worker credential. */
export function resolveResetImageConfig(env: Record<string, string | undefined>) {
  const values = readEnv(Type.Pick(CoordinatorEnv, ['COORDINATOR_STATE_DIR', 'AGENT_IMAGE', 'DOCKER_HOST']), env)
  if (!IMAGE_REFERENCE.test(values.AGENT_IMAGE)) throw badRequest(`invalid configuration: AGENT_IMAGE: not an image reference or id: ${JSON.stringify(values.AGENT_IMAGE)}`, [{ path: 'AGENT_IMAGE', message: 'not an image reference or id' }])
  return values
}

/**
 * A Docker image reference (`name[:tag][@digest]`, lowercase path components, an optional
 * registry host) or an image id. Anything else, e.g. a value with a trailing `# comment` or a
 * space, is refused at start rather than at the first container create.
 */
const IMAGE_REFERENCE = /^(?:(?:sha256:)?[a-f0-9]{64}|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?)$/
/** Docker's volume name rule; `-p<project id>` is appended per project. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** `unix:///path` (or a bare path) or `tcp://host[:port]`: what plugins/executors/docker/transport.ts speaks. */
const DOCKER_HOST_VALUE = /^(?:unix:\/\/(?:\/\S*)?|\/\S*|(?:tcp|http):\/\/(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?\/?)$/

/**
 * A value with ` #` in it is a comment an environment file kept: systemd's EnvironmentFile and
 * `docker --env-file` take everything after `=`. Refused for every variable (AGENT_HOST_COMMAND, a
 * JSON array, aside), before any is read, so no value carrying one reaches the daemon.
 */
function refuseTrailingComments(env: Record<string, string | undefined>): void {
  const details = Object.keys(CoordinatorEnv.properties)
    .filter((name) => name !== 'AGENT_HOST_COMMAND' && /\s#/.test(env[name] ?? ''))
    // The value is not quoted: it may be a credential, and this message goes to the journal.
    .map((name) => ({ path: name, message: `has a trailing comment (" #…" after the value): environment files keep everything after '=', so put the comment on a line of its own` }))
  if (details.length) throw configurationError(details)
}

/** The app's URL: http(s), no credentials (the worker credential travels in a header), no query or fragment. */
function apiUrlProblem(value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `not a URL: ${JSON.stringify(value)}`
  }
  if (!['http:', 'https:'].includes(url.protocol) || /\s/.test(value)) return `must be an http(s) URL without spaces: ${JSON.stringify(value)}`
  if (url.username || url.password) return 'must not carry credentials (set TERARCHITECT_COORDINATOR_TOKEN instead)'
  if (url.search || url.hash) return `must not carry a query or fragment: ${JSON.stringify(value)}`
  return null
}

/** Validates what TypeBox cannot express (image and volume names, URLs, the daemon address, limits); returns the limits set. */
function checkValues(env: Record<string, string | undefined>, values: Env): Partial<ContainerLimits> {
  const details: { path: string; message: string }[] = []
  const apiUrl = apiUrlProblem(values.TERARCHITECT_API_URL)
  if (apiUrl) details.push({ path: 'TERARCHITECT_API_URL', message: apiUrl })
  // Pods cannot reach the coordinator's loopback, and no forwarder runs for them.
  else if (env.AGENT_DOCKER_MODE === 'kubernetes' && isLoopbackUrl(values.TERARCHITECT_API_URL)) {
    details.push({ path: 'TERARCHITECT_API_URL', message: 'AGENT_DOCKER_MODE=kubernetes: must be an address agent pods can reach (e.g. the app\'s Service, http://terarchitect.terarchitect.svc:5010), not loopback' })
  } else if (env.AGENT_DOCKER_MODE === 'swarm' && isLoopbackUrl(values.TERARCHITECT_API_URL)) {
    details.push({ path: 'TERARCHITECT_API_URL', message: 'AGENT_DOCKER_MODE=swarm: must be an address every swarm node\'s agents can reach, not loopback' })
  }
  const reservation = parseContainerLimit('AGENT_MEMORY', values.SWARM_MEMORY_RESERVATION)
  if ('problem' in reservation) details.push({ path: 'SWARM_MEMORY_RESERVATION', message: reservation.problem })
  for (const constraint of (values.SWARM_CONSTRAINTS ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    if (!/^[A-Za-z0-9_.-]+\s*(==|!=)\s*\S+$/.test(constraint)) details.push({ path: 'SWARM_CONSTRAINTS', message: `expected name==value or name!=value, e.g. node.labels.agents==true: ${JSON.stringify(constraint)}` })
  }
  if (values.DOCKER_HOST !== undefined && !DOCKER_HOST_VALUE.test(values.DOCKER_HOST)) {
    details.push({ path: 'DOCKER_HOST', message: `must be unix:///path/to/docker.sock or tcp://host:port (TLS and npipe are not supported): ${JSON.stringify(values.DOCKER_HOST)}` })
  }
  if (!IMAGE_REFERENCE.test(values.AGENT_IMAGE) || values.AGENT_IMAGE.length > 255) {
    details.push({ path: 'AGENT_IMAGE', message: `not an image reference (name[:tag][@digest], e.g. terarchitect-agent, registry.example/team/agent:3) or image id: ${JSON.stringify(values.AGENT_IMAGE)}` })
  }
  if (env.AGENT_CACHE_VOLUME && (!VOLUME_NAME.test(values.AGENT_CACHE_VOLUME) || values.AGENT_CACHE_VOLUME.length > 200)) {
    details.push({ path: 'AGENT_CACHE_VOLUME', message: `not a volume name (letters, digits, _ . -; empty disables): ${JSON.stringify(values.AGENT_CACHE_VOLUME)}` })
  }
  if (values.AGENT_RUNTIME !== undefined && !VOLUME_NAME.test(values.AGENT_RUNTIME)) {
    details.push({ path: 'AGENT_RUNTIME', message: `not a runtime name (e.g. sysbox-runc): ${JSON.stringify(values.AGENT_RUNTIME)}` })
  }
  if (env.AGENT_MEMORY_MB !== undefined) details.push({ path: 'AGENT_MEMORY_MB', message: 'replaced by AGENT_MEMORY (e.g. 4g or 4096m)' })
  const { limits, problems } = parseContainerLimits(values)
  details.push(...problems)
  if (details.length) throw configurationError(details)
  return limits
}

/** A fresh coordinator id: `hostname-pid-random`, trimmed to the characters the worker API accepts. */
export function generateCoordinatorId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100) || 'host'
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`
}
