/**
 * A project's effective settings: its own value (project_settings), then the app's (app_settings,
 * then the app's environment, then the default). One rule on top: **a secret is sent only to a URL
 * set at the same level**. A project that points its forge (FORGE_KIND to another kind, FORGE_API_URL
 * or GITHUB_API_URL) or an LLM (WORKER_LLM_URL, AGENT_LLM_URL) somewhere of its own gets none of the
 * app's secrets for it: the secret must be set on the project too, else it is withheld and the
 * project cannot run (the problem says why). Otherwise anyone who may edit the URL could collect
 * the app's keys. And the FORGE_ names and their GITHUB_ aliases are one setting each (ALIAS_GROUPS):
 * a project that sets either name of a group inherits neither from the app.
 */
import type { AppContext } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { redact } from '../log.ts'
import { SETTINGS } from '../settings.ts'
import { ALIAS_GROUPS, appSettingSources, UNREADABLE_FIX, type SettingsProblem } from './settings.ts'

/** The settings a project may override (docs/forges.md "Per-project settings"). */
export const PROJECT_SETTING_KEYS = [
  'FORGE_KIND', 'FORGE_API_URL', 'FORGE_TOKEN', 'FORGE_WEBHOOK_SECRET', 'GITHUB_API_URL', 'GITHUB_TOKEN', 'GITHUB_WEBHOOK_SECRET',
  'WORKER_MODE', 'WORKER_MODEL', 'WORKER_LLM_URL', 'WORKER_API_KEY', 'WORKER_TIMEOUT_SEC',
  'AGENT_LLM_URL', 'AGENT_MODEL', 'AGENT_API_KEY', 'DIRECTOR_MAX_TURNS', 'DIRECTOR_MAX_MINUTES', 'DIRECTOR_MAX_TOKENS', 'DRAFT_PR_ON_BUDGET',
  'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'MAX_CONCURRENT_AGENTS',
  'INTAKE_LABEL', 'INTAKE_START_LABEL',
  'CI_FIX_MAX_ROUNDS', 'CI_FIX_START_TIMEOUT_SEC',
] as const

/** Where a project's value comes from; `coordinator`: a token a coordinator serving it handed over. */
export type ProjectSource = 'project' | 'app' | 'env' | 'coordinator' | 'default' | 'unset'

/** Destinations and the secrets sent to them: set a destination on a project, set its secrets there too. */
const SAME_LEVEL: { urls: string[]; secrets: string[]; what: string }[] = [
  { urls: ['FORGE_KIND', 'FORGE_API_URL', 'GITHUB_API_URL'], secrets: ['FORGE_TOKEN', 'GITHUB_TOKEN'], what: 'forge' },
  { urls: ['WORKER_LLM_URL'], secrets: ['WORKER_API_KEY'], what: 'worker LLM' },
  { urls: ['AGENT_LLM_URL'], secrets: ['AGENT_API_KEY'], what: 'Director LLM' },
]

export interface ResolvedProjectSettings {
  /** Effective values, secrets decrypted, withheld secrets absent. Only for the app's own use. */
  values: Record<string, string>
  sources: Record<string, ProjectSource>
  /** Keys whose stored secret no configured key decrypts (counted as unset). */
  unreadable: Set<string>
  /** Secrets withheld by the same-level rule, with the setting that moved their destination. */
  withheld: Map<string, string>
  /** The project points its forge somewhere of its own: no app or coordinator token goes there. */
  forgeMoved: boolean
  problems: SettingsProblem[]
}

type Row = { key: string; value: string; secret: boolean }

/** The project's own rows, secrets decrypted (null: unreadable). */
export async function projectRows(ctx: AppContext, projectId: number, sql: Sql | TransactionSql = ctx.sql): Promise<Map<string, string | null>> {
  const rows = await sql<Row[]>`select key, value, secret from project_settings where project_id = ${projectId}`
  return new Map(rows.map((row) => [row.key, ownValue(ctx, row)]))
}

/** Every project's own rows of `keys`, secrets decrypted (null: unreadable), by project id. */
export async function projectRowsOf(ctx: AppContext, keys: readonly string[]): Promise<Map<number, Map<string, string | null>>> {
  const rows = await ctx.sql<(Row & { project_id: number })[]>`select project_id, key, value, secret from project_settings where key = any(${keys as string[]}::text[])`
  const byProject = new Map<number, Map<string, string | null>>()
  for (const row of rows) byProject.set(row.project_id, (byProject.get(row.project_id) ?? new Map()).set(row.key, ownValue(ctx, row)))
  return byProject
}

function ownValue(ctx: AppContext, row: Row): string | null {
  const value = row.secret ? ctx.secrets.tryDecrypt(row.value) : row.value
  if (row.secret && value !== null) redact(value)
  return value
}

export async function resolveProjectSettings(ctx: AppContext, projectId: number, sql: Sql | TransactionSql = ctx.sql): Promise<ResolvedProjectSettings> {
  const [own, app, [project]] = await Promise.all([
    projectRows(ctx, projectId, sql),
    appSettingSources(ctx, sql),
    sql<{ worker_mode: string | null }[]>`select worker_mode from projects where id = ${projectId}`,
  ])
  return resolveFrom(own, app, project?.worker_mode ?? null)
}

/** The app's settings as projects inherit them (appSettingSources), read once for resolving many projects. */
export type AppSources = Awaited<ReturnType<typeof appSettingSources>>

/**
 * The resolution of resolveProjectSettings from rows already read: the project's own (`own`, as
 * projectRows gives them), the app's (`app`) and the project form's Worker CLI (`workerMode`).
 */
export function resolveFrom(own: Map<string, string | null>, app: AppSources, workerMode: string | null): ResolvedProjectSettings {
  const values: Record<string, string> = {}
  const sources: Record<string, ProjectSource> = {}
  const unreadable = new Set<string>()
  for (const definition of SETTINGS) {
    const key = definition.key
    if (own.has(key)) {
      const value = own.get(key)!
      sources[key] = 'project'
      if (value === null) unreadable.add(key)
      else values[key] = value
      continue
    }
    // The project form's Worker CLI (projects.worker_mode) is the project's WORKER_MODE when no setting names one.
    if (key === 'WORKER_MODE' && workerMode) {
      values[key] = workerMode
      sources[key] = 'project'
      continue
    }
    const effective = app.get(key)!
    sources[key] = effective.source
    if (effective.unreadable) unreadable.add(key)
    if (effective.value !== null) values[key] = effective.value
  }
  // An alias group set on the project is the project's whole: the app's other name is not inherited.
  for (const group of ALIAS_GROUPS) {
    if (!group.some((key) => own.has(key))) continue
    for (const key of group.filter((key) => !own.has(key))) {
      delete values[key]
      sources[key] = 'unset'
      unreadable.delete(key)
    }
  }
  const problems: SettingsProblem[] = []
  const withheld = new Map<string, string>()
  let forgeMoved = false
  for (const group of SAME_LEVEL) {
    const moved = group.urls.find((key) => own.has(key) && (key !== 'FORGE_KIND' || (own.get(key) ?? 'github') !== (app.get(key)!.value ?? 'github')))
    if (!moved) continue
    if (group.what === 'forge') forgeMoved = true
    for (const key of group.secrets) {
      if (sources[key] === 'project' || values[key] === undefined) continue
      delete values[key]
      withheld.set(key, moved)
    }
  }
  for (const key of unreadable) problems.push({ key, severity: 'error', message: `${key} is unreadable (${UNREADABLE_FIX})` })
  return { values, sources, unreadable, withheld, forgeMoved, problems }
}

/** The message for a secret the same-level rule withholds. */
export function withheldMessage(key: string, movedBy: string): string {
  return `${movedBy} is set on this project, so ${key} must be set on the project too: the app's ${key} is never sent to a destination a project sets`
}
