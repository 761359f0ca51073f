/**
 * The app's configuration, resolved once from the environment by `resolveAppConfig`. The schema's
 * defaults and descriptions are the documentation; nothing else in the app reads `process.env`.
 */
import { Type, type Static } from '@sinclair/typebox'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { readEnv } from './env.ts'
import type { LogLevel } from './log.ts'

export const AppEnv = Type.Object({
  PORT: Type.Integer({ default: 5010, minimum: 0, maximum: 65535, description: 'HTTP port of the API and UI' }),
  HOST: Type.String({ default: '127.0.0.1', description: 'Bind address; a non-loopback address requires PUBLIC_URL or ALLOWED_HOSTS, and TERARCHITECT_ADMIN_TOKEN until the first account exists' }),
  DATABASE_URL: Type.Optional(Type.String({ description: 'PostgreSQL URL; unset = embedded PGlite in TERARCHITECT_DATA_DIR' })),
  TERARCHITECT_DATA_DIR: Type.String({ default: join(homedir(), '.terarchitect', 'data'), description: 'Embedded database, its lock and the generated secret key' }),
  DB_POOL_SIZE: Type.Integer({ default: 10, minimum: 1, maximum: 200, description: 'Database connections held by the app' }),
  TERARCHITECT_SECRET_KEY: Type.Optional(Type.String({ minLength: 16, description: 'Key for secrets at rest (AES-256-GCM) and job tokens; unset = <data dir>/secret.key (mode 0600), generated when missing (with DATABASE_URL only with a warning: the key must travel with the database)' })),
  TERARCHITECT_SECRET_KEY_PREVIOUS: Type.Optional(Type.String({ minLength: 16, description: 'Key rotation: the key secrets were stored with before; at start they are re-encrypted with the current key (docs/RUNBOOK.md "Key rotation"), and job tokens it signed stay valid' })),
  TERARCHITECT_WORKER_API_KEY: Type.Optional(Type.String({ minLength: 8, description: 'Bearer key required on the worker API (coordinators)' })),
  TERARCHITECT_ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 8, description: 'An admin bearer credential for the people API; when set, no request counts as local' })),
  SESSION_MAX_AGE_HOURS: Type.Number({ default: 168, minimum: 0.01, description: 'A sign-in session ends this long after it began, however active' }),
  SESSION_IDLE_HOURS: Type.Number({ default: 24, minimum: 0.01, description: 'A sign-in session ends after this long without a request' }),
  PUBLIC_URL: Type.Optional(Type.String({ description: 'The URL people open (e.g. https://terarchitect.example.com): its host is accepted in Host headers, its origin in Origin; https makes cookies Secure. When set, no request counts as local' })),
  ALLOWED_HOSTS: Type.Optional(Type.String({ description: 'Comma-separated host[:port] names the app answers to besides PUBLIC_URL\'s (no port = any port); a request naming another Host gets 421. Off loopback, PUBLIC_URL or ALLOWED_HOSTS is required' })),
  TRUST_PROXY: Type.Optional(Type.String({ description: 'Comma-separated proxy addresses or CIDRs (or `loopback`) whose forwarded client address (the header TRUST_PROXY_HEADER names) is believed for throttling and audit; unset = the socket address' })),
  TRUST_PROXY_HEADER: Type.Union([Type.Literal('x-forwarded-for'), Type.Literal('forwarded'), Type.Literal('x-real-ip')], { default: 'x-forwarded-for', description: 'The one header the TRUST_PROXY proxies set the client address in: x-forwarded-for | forwarded | x-real-ip; the others are ignored' }),
  JOB_LEASE_SEC: Type.Integer({ default: 60, minimum: 1, description: 'A claimed job is handed back when not heartbeated for this long' }),
  JOB_LEASE_GRACE_SEC: Type.Number({ default: 20, minimum: 0, description: "An expired lease is requeued only this long after it ran out, by when its agent has stopped itself (agents stop LEASE_MARGIN_SEC before expiry when they cannot confirm the lease): two attempts never overlap" }),
  JOB_MAX_ATTEMPTS: Type.Integer({ default: 3, minimum: 1, description: 'Attempts before a job whose lease keeps expiring is failed' }),
  CLAIM_RECHECK_SEC: Type.Number({ default: 1, minimum: 0.05, maximum: 60, description: 'A coordinator waiting for a job (wait_ms) re-checks the queue this often, the guarantee against a lost wake-up; an enqueue wakes it at once' }),
  REAPER_INTERVAL_SEC: Type.Number({ default: 5, minimum: 0.05, description: 'How often expired leases are looked for' }),
  JOB_TOKEN_TTL_SEC: Type.Integer({ default: 86400, minimum: 60, description: 'Lifetime of the job-scoped token given to an agent' }),
  MAX_BODY_BYTES: Type.Integer({ default: 1048576, minimum: 1024, description: 'Largest accepted request body (413 above)' }),
  NOTIFY_RETRY_DELAYS_SEC: Type.String({ default: '10,60,300,1800,7200', pattern: '^\\s*\\d+(\\.\\d+)?(\\s*,\\s*\\d+(\\.\\d+)?)*\\s*$', description: 'Outgoing webhooks: seconds to wait before each retry of a failed delivery, comma-separated; a delivery is tried once plus once per delay, then marked failed' }),
  NOTIFY_TIMEOUT_SEC: Type.Number({ default: 10, minimum: 0.1, maximum: 120, description: 'Outgoing webhooks: an endpoint that has not answered within this long counts as a failed attempt' }),
  NOTIFY_POLL_SEC: Type.Number({ default: 5, minimum: 0.05, description: 'Outgoing webhooks: how often due deliveries are looked for (new events wake the sender at once)' }),
  EVENT_RETENTION_HOURS: Type.Integer({ default: 72, minimum: 1, description: 'Live-update events kept for SSE resume' }),
  ALLOW_INSECURE_GIT_HOSTS: Type.String({ default: '', description: "Comma-separated git hosts (`host` or `host:port`) the git relay may reach over plain http; every other project repository must be https" }),
  STATIC_DIR: Type.Optional(Type.String({ description: 'Directory of the built UI (default: dist/public next to the server bundle)' })),
  LOG_LEVEL: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')], { default: 'info', description: 'debug | info | warn | error' }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'Bearer credential that may read GET /metrics (Prometheus) and nothing else; admins may read it too. Unset = admins only' })),
  // Single sign-on (docs/RUNBOOK.md "Single sign-on"); validated at start by services/sso/config.ts.
  OIDC_ISSUER: Type.Optional(Type.String({ description: 'OpenID Connect issuer URL (https, or http on a loopback address); set with OIDC_CLIENT_ID and OIDC_CLIENT_SECRET to offer "Sign in with OpenID Connect"' })),
  OIDC_CLIENT_ID: Type.Optional(Type.String({ description: 'Client id registered at the issuer; its redirect URI is <PUBLIC_URL>/api/auth/oidc/callback' })),
  OIDC_CLIENT_SECRET: Type.Optional(Type.String({ description: 'Client secret registered at the issuer (never logged)' })),
  OIDC_SCOPES: Type.String({ default: 'openid email profile', description: 'Scopes requested (space-separated; must include openid)' }),
  OIDC_ALLOWED_EMAILS: Type.Optional(Type.String({ description: 'Comma-separated email addresses admitted; with the domain and group lists, a person matching any list enters. No list set = everyone the issuer signs in' })),
  OIDC_ALLOWED_DOMAINS: Type.Optional(Type.String({ description: 'Comma-separated email domains admitted (example.com admits alice@example.com)' })),
  OIDC_GROUPS_CLAIM: Type.String({ default: 'groups', description: 'Claim (ID token or userinfo) that lists the person\'s groups' }),
  OIDC_ALLOWED_GROUPS: Type.Optional(Type.String({ description: 'Comma-separated groups admitted' })),
  OIDC_ADMIN_GROUPS: Type.Optional(Type.String({ description: 'Comma-separated groups whose members get the admin role on their first sign-in' })),
  OIDC_MEMBER_GROUPS: Type.Optional(Type.String({ description: 'Comma-separated groups whose members get the member role on their first sign-in' })),
  OIDC_DEFAULT_ROLE: Type.Union([Type.Literal('viewer'), Type.Literal('member'), Type.Literal('admin')], { default: 'viewer', description: 'Role of a new OIDC user in none of the admin or member groups' }),
  GITHUB_OAUTH_CLIENT_ID: Type.Optional(Type.String({ description: 'Client id of a GitHub OAuth app; set with GITHUB_OAUTH_CLIENT_SECRET to offer "Sign in with GitHub" (callback URL <PUBLIC_URL>/api/auth/github/callback)' })),
  GITHUB_OAUTH_CLIENT_SECRET: Type.Optional(Type.String({ description: 'Client secret of the GitHub OAuth app (never logged)' })),
  GITHUB_OAUTH_ALLOWED_ORGS: Type.Optional(Type.String({ description: 'Comma-separated GitHub organizations whose members may sign in; this or GITHUB_OAUTH_ALLOWED_USERS is required' })),
  GITHUB_OAUTH_ALLOWED_USERS: Type.Optional(Type.String({ description: 'Comma-separated GitHub logins that may sign in' })),
  GITHUB_OAUTH_DEFAULT_ROLE: Type.Union([Type.Literal('viewer'), Type.Literal('member'), Type.Literal('admin')], { default: 'viewer', description: 'Role of a new GitHub user' }),
  GITHUB_OAUTH_URL: Type.Optional(Type.String({ description: 'GitHub web base for the OAuth pages; unset = derived from the GITHUB_API_URL setting (https://api.github.com → https://github.com, https://host/api/v3 → https://host)' })),
})

export type AppConfig = Static<typeof AppEnv> & {
  LOG_LEVEL: LogLevel
  /** The environment settings fall back to (WORKER_MODEL, GITHUB_TOKEN, …) when unset in the app. */
  settingsEnv: Record<string, string | undefined>
}

export function resolveAppConfig(env: Record<string, string | undefined>): AppConfig {
  return { ...readEnv(AppEnv, env), settingsEnv: env }
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
