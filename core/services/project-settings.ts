/**
 * Per-project settings: read (each value with its source, secrets only set/unset), written by
 * admins (all or nothing, audited), and the project's check (what stops it from running).
 * Resolution and the same-level rule for secrets: project-settings-resolve.ts.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { redact } from '../log.ts'
import { SETTINGS_BY_KEY } from '../settings.ts'
import { recordAudit, type Actor } from './audit.ts'
import { getProject } from './projects.ts'
import { PROJECT_SETTING_KEYS, resolveProjectSettings, withheldMessage, type ProjectSource } from './project-settings-resolve.ts'
import { settingChanges, UNREADABLE_FIX, type SettingsProblem, type SettingView } from './settings.ts'

export type ProjectSettingView = Omit<SettingView, 'source' | 'status'> & {
  source: ProjectSource
  status: SettingView['status'] | 'withheld'
}

const OVERRIDABLE = new Set<string>(PROJECT_SETTING_KEYS)

export async function listProjectSettings(ctx: AppContext, projectId: number, sql: Sql | TransactionSql = ctx.sql): Promise<ProjectSettingView[]> {
  await getProject(sql, projectId)
  const resolved = await resolveProjectSettings(ctx, projectId, sql)
  const handed = await coordinatorHandsToken(sql, projectId)
  return PROJECT_SETTING_KEYS.map((key) => {
    const definition = SETTINGS_BY_KEY.get(key)!
    const value = resolved.values[key] ?? null
    const withheld = resolved.withheld.get(key)
    const unreadable = resolved.unreadable.has(key)
    let source = resolved.sources[key]!
    if (key === 'GITHUB_TOKEN' && value === null && !resolved.forgeMoved && handed && (resolved.values.FORGE_KIND || 'github') === 'github' && !resolved.values.FORGE_TOKEN) source = 'coordinator'
    // The project-level cap is the project's own only: the app's MAX_CONCURRENT_AGENTS is per coordinator.
    if (key === 'MAX_CONCURRENT_AGENTS' && source !== 'project') source = 'unset'
    const effective = key === 'MAX_CONCURRENT_AGENTS' && source === 'unset' ? null : value
    return {
      key,
      type: definition.type,
      secret: definition.secret,
      description: definition.description,
      ...(definition.choices ? { choices: definition.choices } : {}),
      default: definition.default ?? null,
      value: definition.secret ? null : effective,
      set: effective !== null || source === 'coordinator',
      source: withheld ? 'unset' : source,
      status: unreadable ? 'unreadable' : withheld ? 'withheld' : effective !== null || source === 'coordinator' ? 'set' : 'unset',
      ...(unreadable ? { fix: UNREADABLE_FIX } : withheld ? { fix: withheldMessage(key, withheld) } : {}),
    }
  })
}

/** Sets or (with null or '') clears a project's own values, all or nothing; a cleared key inherits again. */
export async function updateProjectSettings(ctx: AppContext, projectId: number, values: Record<string, string | number | boolean | null>, actor: Actor): Promise<ProjectSettingView[]> {
  const changes = settingChanges(values, (key, value) =>
    !OVERRIDABLE.has(key) ? 'not a setting a project may override' : key === 'MAX_CONCURRENT_AGENTS' && value === '0' ? 'must be at least 1' : null)
  await getProject(ctx.sql, projectId)
  await write(ctx, async ({ tx, emit }) => {
    // Locks the project: a concurrent delete either waits for this write or makes it a 404.
    const [project] = await tx`select id from projects where id = ${projectId} for update`
    if (!project) await getProject(tx, projectId)
    for (const change of changes) {
      if (change.value === null) {
        await tx`delete from project_settings where project_id = ${projectId} and key = ${change.key}`
        continue
      }
      if (change.secret) redact(change.value)
      const stored = change.secret ? ctx.secrets.encrypt(change.value) : change.value
      await tx`
        insert into project_settings (project_id, key, value, secret) values (${projectId}, ${change.key}, ${stored}, ${change.secret})
        on conflict (project_id, key) do update set value = excluded.value, secret = excluded.secret, updated_at = now()`
    }
    const keys = changes.map((change) => change.key)
    await recordAudit(tx, actor, { action: 'project.settings.update', details: { project_id: projectId, keys } })
    await emit({ project_id: projectId, type: 'settings.updated', payload: { keys } })
  })
  return listProjectSettings(ctx, projectId)
}

async function coordinatorHandsToken(sql: Sql | TransactionSql, projectId: number): Promise<boolean> {
  return (await sql`select 1 from forge_tokens where project_ids is null or ${projectId} = any(project_ids) limit 1`).length > 0
}

/**
 * What stops `projectId` from running (errors) or makes it run worse (warnings), with the reason:
 * unreadable secrets, required settings unset, no forge token (or one withheld by the same-level
 * rule), an LLM key withheld by it. The run refusal (setup-checks/run.ts) reads the errors.
 */
export async function checkProjectSettings(ctx: AppContext, projectId: number, sql: Sql | TransactionSql = ctx.sql): Promise<{ ok: boolean; problems: SettingsProblem[] }> {
  await getProject(sql, projectId)
  const resolved = await resolveProjectSettings(ctx, projectId, sql)
  const { values, withheld } = resolved
  const problems = [...resolved.problems]
  for (const key of ['WORKER_MODE', 'WORKER_MODEL']) {
    if (values[key] === undefined && !resolved.unreadable.has(key)) problems.push({ key, severity: 'error', message: `${key} is not set: ${SETTINGS_BY_KEY.get(key)!.description}` })
  }
  const kind = values.FORGE_KIND || 'github'
  const token = values.FORGE_TOKEN || (kind === 'github' ? values.GITHUB_TOKEN : undefined)
  const tokenKey = kind === 'github' && !withheld.has('FORGE_TOKEN') ? 'GITHUB_TOKEN' : 'FORGE_TOKEN'
  if (!token && !resolved.unreadable.has(tokenKey)) {
    const movedBy = withheld.get('FORGE_TOKEN') ?? withheld.get('GITHUB_TOKEN')
    if (movedBy) problems.push({ key: 'FORGE_TOKEN', severity: 'error', message: `${withheldMessage('FORGE_TOKEN', movedBy)}; agents clone and push through the app, which needs a token for this project's forge` })
    else if (kind !== 'github' || resolved.forgeMoved || !(await coordinatorHandsToken(sql, projectId))) {
      problems.push({ key: tokenKey, severity: 'error', message: `${tokenKey} is not set${kind === 'github' ? ' (and no coordinator serving this project handed one)' : ''}: agents clone and push through the app, which needs a forge token` })
    }
  }
  for (const key of ['WORKER_API_KEY', 'AGENT_API_KEY']) {
    const movedBy = withheld.get(key)
    if (movedBy) problems.push({ key, severity: 'error', message: withheldMessage(key, movedBy) })
  }
  if (Boolean(values.AGENT_LLM_URL) !== Boolean(values.AGENT_MODEL)) {
    problems.push({ key: values.AGENT_LLM_URL ? 'AGENT_MODEL' : 'AGENT_LLM_URL', severity: 'warning', message: 'the Director needs both AGENT_LLM_URL and AGENT_MODEL; agents run single-shot until both are set' })
  }
  return { ok: !problems.some((problem) => problem.severity === 'error'), problems }
}
