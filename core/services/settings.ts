/**
 * App settings: stored in `app_settings`, secrets AES-256-GCM encrypted. Reads for people never
 * carry a secret's value (only set/unset); `resolveSettings` with secrets is for the agent's
 * worker-context and the coordinator, over authenticated endpoints only.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { badRequest, type ErrorDetail } from '../errors.ts'
import { redact } from '../log.ts'
import { SETTINGS, SETTINGS_BY_KEY, type SettingDefinition } from '../settings.ts'
import { recordAudit, type Actor } from './audit.ts'

export interface SettingView {
  key: string
  type: string
  secret: boolean
  description: string
  choices?: string[]
  default: string | null
  /** The value for non-secrets; always null for secrets. */
  value: string | null
  set: boolean
  source: 'app' | 'env' | 'default' | 'unset'
  /** `unreadable`: a stored secret the secret key cannot decrypt; it counts as unset until set again. */
  status: 'set' | 'unset' | 'unreadable'
  /** What to do about an unreadable secret. */
  fix?: string
}

/** The fix shown for a secret stored with another key (a replaced secret.key or TERARCHITECT_SECRET_KEY). */
export const UNREADABLE_FIX = 'stored with another secret key: set it again (or start the app once with TERARCHITECT_SECRET_KEY_PREVIOUS set to the old key)'

export interface SettingsProblem {
  key: string
  severity: 'error' | 'warning'
  message: string
}

type Stored = Map<string, { value: string; secret: boolean }>

/**
 * One setting under two names, the FORGE_ name and GitHub's historical alias. The level (project,
 * app, environment) that sets either name sets the whole group: the other name's value at another
 * level is not inherited, so a token is never paired with another level's API URL (docs/forges.md).
 */
export const ALIAS_GROUPS: readonly (readonly string[])[] = [
  ['FORGE_TOKEN', 'GITHUB_TOKEN'], ['FORGE_API_URL', 'GITHUB_API_URL'], ['FORGE_WEBHOOK_SECRET', 'GITHUB_WEBHOOK_SECRET'],
]

/** The other names of `key`'s alias group (none for a setting without an alias). */
export function aliasPartners(key: string): readonly string[] {
  return ALIAS_GROUPS.find((group) => group.includes(key))?.filter((other) => other !== key) ?? []
}

async function loadStored(sql: Sql | TransactionSql): Promise<Stored> {
  const rows = await sql`select key, value, secret from app_settings`
  return new Map(rows.map((row) => [row.key as string, { value: row.value as string, secret: row.secret as boolean }]))
}

/** Effective values with secrets decrypted. Only for authenticated machine callers. */
export async function resolveSettings(ctx: AppContext): Promise<Record<string, string>> {
  const stored = await loadStored(ctx.sql)
  const out: Record<string, string> = {}
  for (const definition of SETTINGS) {
    const value = effective(ctx, definition, stored).value
    if (value !== null) out[definition.key] = value
  }
  return out
}

/** One setting's effective value (decrypted), read with `sql` (a transaction's, inside one). */
export async function settingValue(ctx: AppContext, key: string, sql: Sql | TransactionSql = ctx.sql): Promise<string | null> {
  const definition = SETTINGS_BY_KEY.get(key)
  return definition ? effective(ctx, definition, await loadStored(sql)).value : null
}

/**
 * Registers the effective value of every secret setting (stored, perhaps by another app replica, or
 * from the environment) with the log redactor. Called before storing agent output, which may echo
 * a secret this process has not decrypted yet.
 */
export async function registerSecrets(ctx: AppContext, sql: Sql | TransactionSql = ctx.sql): Promise<void> {
  const stored = await loadStored(sql)
  for (const definition of SETTINGS) if (definition.secret) effective(ctx, definition, stored)
}

/** Every setting's effective app-level value and source, read with `sql`. */
export async function appSettingSources(ctx: AppContext, sql: Sql | TransactionSql = ctx.sql): Promise<Map<string, ReturnType<typeof effective>>> {
  const stored = await loadStored(sql)
  return new Map(SETTINGS.map((definition) => [definition.key, effective(ctx, definition, stored)]))
}

function effective(ctx: AppContext, definition: SettingDefinition, stored: Stored): { value: string | null; source: SettingView['source']; unreadable?: true } {
  const row = stored.get(definition.key)
  if (row) {
    const value = row.secret ? ctx.secrets.tryDecrypt(row.value) : row.value
    if (value === null) {
      warnUnreadable(ctx, definition.key, row.value)
      return { value: null, source: 'app', unreadable: true }
    }
    if (row.secret) redact(value)
    return { value, source: 'app' }
  }
  const partners = aliasPartners(definition.key)
  if (partners.some((key) => stored.has(key))) return { value: null, source: 'unset' }
  const fromEnv = ctx.config.settingsEnv[definition.key]
  if (!fromEnv && partners.some((key) => ctx.config.settingsEnv[key])) return { value: null, source: 'unset' }
  if (fromEnv) {
    if (definition.secret) redact(fromEnv)
    return { value: fromEnv, source: 'env' }
  }
  if (definition.default !== undefined) return { value: definition.default, source: 'default' }
  return { value: null, source: 'unset' }
}

const warned = new WeakMap<AppContext, Set<string>>()

/** Logs once per stored value (per app) that a secret setting cannot be decrypted, naming it. */
function warnUnreadable(ctx: AppContext, key: string, storedValue: string): void {
  const seen = warned.get(ctx) ?? new Set<string>()
  warned.set(ctx, seen)
  if (seen.has(key + storedValue)) return
  seen.add(key + storedValue)
  ctx.log.warn(`secret setting ${key} cannot be decrypted with the secret key and counts as unset: ${UNREADABLE_FIX}`, { key })
}

export async function listSettings(ctx: AppContext): Promise<SettingView[]> {
  const stored = await loadStored(ctx.sql)
  return SETTINGS.map((definition) => {
    const { value, source, unreadable } = effective(ctx, definition, stored)
    return {
      key: definition.key,
      type: definition.type,
      secret: definition.secret,
      description: definition.description,
      ...(definition.choices ? { choices: definition.choices } : {}),
      default: definition.default ?? null,
      value: definition.secret ? null : value,
      set: value !== null,
      source,
      status: unreadable ? 'unreadable' : value !== null ? 'set' : 'unset',
      ...(unreadable ? { fix: UNREADABLE_FIX } : {}),
    }
  })
}

export interface SettingChange { key: string; value: string | null; secret: boolean }

/**
 * `values` of a PUT as changes (a null or '' value: unset), checked against the table and `refuse`
 * (a refusal beyond the table's, for a key and its value); a 400 naming every bad key otherwise.
 */
export function settingChanges(values: Record<string, string | number | boolean | null>, refuse?: (key: string, value: string | null) => string | null): SettingChange[] {
  const details: ErrorDetail[] = []
  const changes: SettingChange[] = []
  for (const [key, raw] of Object.entries(values)) {
    const definition = SETTINGS_BY_KEY.get(key)
    const value = raw === null || raw === '' ? null : String(raw)
    const problem = !definition ? 'unknown setting' : refuse?.(key, value) ?? (value === null ? null : checkValue(definition, value))
    if (problem) details.push({ path: `/body/values/${key}`, message: problem })
    else changes.push({ key, value, secret: definition!.secret })
  }
  if (details.length) throw badRequest(`invalid settings: ${details[0]!.path} ${details[0]!.message}`, details)
  return changes
}

/** Sets or (with null or '') unsets settings, all or nothing. */
export async function updateSettings(ctx: AppContext, values: Record<string, string | number | boolean | null>, actor: Actor): Promise<SettingView[]> {
  const changes = settingChanges(values)
  await write(ctx, async ({ tx, emit }) => {
    for (const change of changes) {
      if (change.value === null) {
        await tx`delete from app_settings where key = ${change.key}`
        continue
      }
      if (change.secret) redact(change.value)
      const stored = change.secret ? ctx.secrets.encrypt(change.value) : change.value
      await tx`
        insert into app_settings (key, value, secret) values (${change.key}, ${stored}, ${change.secret})
        on conflict (key) do update set value = excluded.value, secret = excluded.secret, updated_at = now()`
    }
    const keys = changes.map((change) => change.key)
    await recordAudit(tx, actor, { action: 'settings.update', details: { keys } })
    await emit({ project_id: null, type: 'settings.updated', payload: { keys } })
  })
  return listSettings(ctx)
}

function checkValue(definition: SettingDefinition, value: string): string | null {
  if (value.length > 10000) return 'longer than 10000 characters'
  if (definition.choices && !definition.choices.includes(value)) return `must be one of ${definition.choices.join(', ')}`
  if (definition.type === 'integer' && !/^\d{1,9}$/.test(value)) return 'must be a non-negative integer'
  if (definition.type === 'boolean' && !/^(true|false)$/.test(value)) return 'must be true or false'
  if (definition.check) {
    const problem = definition.check(value)
    if (problem) return problem
  }
  if (definition.type === 'url') {
    try {
      const url = new URL(value)
      if (!['http:', 'https:'].includes(url.protocol)) return 'must be an http(s) URL'
      if (url.username || url.password) return 'must not carry credentials'
    } catch {
      return 'must be a URL'
    }
  }
  return null
}

/** What stops agents from running, or makes them run worse, with the reason. */
export async function checkSettings(ctx: AppContext, sql: Sql | TransactionSql = ctx.sql): Promise<{ ok: boolean; problems: SettingsProblem[] }> {
  const stored = await loadStored(sql)
  const problems: SettingsProblem[] = []
  for (const definition of SETTINGS) {
    // An unreadable secret stops runs whether required or not: an agent would otherwise run without it.
    if (effective(ctx, definition, stored).unreadable) {
      problems.push({ key: definition.key, severity: 'error', message: `${definition.key} is unreadable (${UNREADABLE_FIX})` })
      continue
    }
    if (!definition.required) continue
    if (effective(ctx, definition, stored).value === null) {
      problems.push({ key: definition.key, severity: definition.required, message: `${definition.key} is not set: ${definition.description}` })
    }
  }
  // Every job clones and pushes through the git relay: with no forge token at all (the setting or
  // one a coordinator handed over) no run can work, so Run is disabled (setup-checks/run.ts per project).
  // FORGE_TOKEN is the forge-neutral name of the token: for GitHub either one set is enough; another
  // forge reads FORGE_TOKEN only (a GitHub token is never sent to it).
  const kind = effective(ctx, SETTINGS_BY_KEY.get('FORGE_KIND')!, stored).value ?? 'github'
  if (kind !== 'github' || effective(ctx, SETTINGS_BY_KEY.get('FORGE_TOKEN')!, stored).value !== null) {
    const unset = problems.findIndex((problem) => problem.key === 'GITHUB_TOKEN' && problem.severity === 'warning')
    if (unset >= 0) problems.splice(unset, 1)
  }
  if (kind !== 'github' && effective(ctx, SETTINGS_BY_KEY.get('FORGE_TOKEN')!, stored).value === null) {
    problems.push({ key: 'FORGE_TOKEN', severity: 'error', message: `FORGE_TOKEN is not set: agents clone and push through the app, which needs a token for the ${kind} forge` })
  }
  const forge = problems.find((problem) => problem.key === 'GITHUB_TOKEN' && problem.severity === 'warning')
  if (forge && !(await sql`select 1 from forge_tokens limit 1`).length) {
    forge.severity = 'error'
    forge.message = 'GITHUB_TOKEN is not set: agents clone and push through the app, which needs a forge token (or a coordinator that hands one over)'
  }
  const director = ['AGENT_LLM_URL', 'AGENT_MODEL'].map((key) => effective(ctx, SETTINGS_BY_KEY.get(key)!, stored).value)
  if ((director[0] === null) !== (director[1] === null)) {
    problems.push({ key: director[0] === null ? 'AGENT_LLM_URL' : 'AGENT_MODEL', severity: 'warning', message: 'the Director needs both AGENT_LLM_URL and AGENT_MODEL; agents run single-shot until both are set' })
  }
  return { ok: !problems.some((problem) => problem.severity === 'error'), problems }
}
