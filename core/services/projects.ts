/**
 * Projects: create (with their empty graph and default board), read, edit, delete. What decides
 * what runs on a host — local execution, project_path, setup and test commands — is an admin's
 * call: a member creating or changing one of them gets a 403 naming the field. So is where the
 * forge token goes: a member names repo_url only when creating a project, and every repo_url set
 * must be on REPO_ALLOWLIST when that is set (repo-allowlist.ts).
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { badRequest, forbidden, notFound, type ErrorDetail } from '../errors.ts'
import type { Role } from '../http/router.ts'
import { APP_ACTOR, recordAudit, type Actor } from './audit.ts'
import { DEFAULT_COLUMNS, type Project, type ProjectCreate, type ProjectPatch } from '../types.ts'
import { isAbsolute } from 'node:path'
import { checkRepoUrlAllowed } from './repo-allowlist.ts'
import { PATH_CHECK_FIELDS, requestPathCheck } from './path-checks.ts'
import { checkProjectSetup } from './setup-checks/project.ts'
import { checkKeyFree, freeProjectKey, lockProjectKeys } from './project-keys.ts'

const COLUMNS = 'id, name, key, description, repo_url, default_branch, execution_mode, project_path, worker_mode, setup_command, test_command, created_at, updated_at'

export async function listProjects(ctx: AppContext): Promise<Project[]> {
  return (await ctx.sql.unsafe(`select ${COLUMNS} from projects order by id`)) as unknown as Project[]
}

export async function getProject(sql: Sql | TransactionSql, id: number): Promise<Project> {
  const [row] = await sql.unsafe(`select ${COLUMNS} from projects where id = $1`, [id])
  if (!row) throw notFound(`project ${id}`)
  return row as unknown as Project
}

/** Who is changing a project: their role (for the host fields) and the actor (for the audit trail). */
export interface ProjectEditor {
  role: Role
  actor: Actor
}
const ADMIN_EDITOR: ProjectEditor = { role: 'admin', actor: APP_ACTOR }

/** The fields that decide what runs on a host (module comment). */
const HOST_FIELDS = ['project_path', 'setup_command', 'test_command'] as const

/** 403 naming each host field a non-admin would set or change (`current` = the project before a patch). */
function checkHostFields(editor: ProjectEditor, fields: Record<string, unknown>, current?: Project): void {
  if (editor.role === 'admin') return
  const refused: ErrorDetail[] = []
  const mode = fields.execution_mode
  if (mode === 'local' && current?.execution_mode !== 'local') refused.push({ path: '/body/execution_mode', message: 'local execution is for admins' })
  for (const key of HOST_FIELDS) {
    const value = fields[key] ?? null
    if (fields[key] !== undefined && value !== (current ? current[key] ?? null : null)) refused.push({ path: `/body/${key}`, message: 'only admins set what runs on a host' })
  }
  if (current && fields.repo_url !== undefined && (fields.repo_url ?? null) !== (current.repo_url ?? null)) {
    refused.push({ path: '/body/repo_url', message: 'only admins change the repository of an existing project' })
  }
  if (refused.length) {
    throw forbidden(`only admins decide what runs on a host and which repository the forge token reaches: ${refused.map((detail) => detail.path.slice('/body/'.length)).join(', ')}`, refused)
  }
}

export async function createProject(ctx: AppContext, input: ProjectCreate, editor: ProjectEditor = ADMIN_EDITOR): Promise<Project> {
  const fields = normalize(input)
  checkHostFields(editor, fields)
  await checkAllowed(ctx, input, fields)
  const warnings = await checkProjectSetup(ctx, fields, repoField(input))
  const project = await write(ctx, async ({ tx, emit }) => {
    await lockProjectKeys(tx)
    if (fields.key === undefined) fields.key = await freeProjectKey(tx, String(fields.name))
    else await checkKeyFree(tx, String(fields.key))
    const [row] = await tx`
      insert into projects ${tx(fields as Record<string, unknown>)}
      returning id`
    const id = row!.id as number
    await tx`insert into graphs (project_id) values (${id})`
    await tx`insert into boards (project_id, columns) values (${id}, ${tx.json(DEFAULT_COLUMNS as never)})`
    const project = await getProject(tx, id)
    await requestPathCheck(tx, project)
    await recordAudit(tx, editor.actor, { action: 'project.create', target: { type: 'project', id }, projectId: id, details: { name: project.name } })
    await emit({ project_id: id, type: 'project.created', payload: { project } })
    return project
  })
  return withWarnings(project, warnings)
}

export async function updateProject(ctx: AppContext, id: number, patch: ProjectPatch, editor: ProjectEditor = ADMIN_EDITOR): Promise<Project> {
  const fields = normalize(patch)
  // Before the transaction: the settings read takes its own connection (one, on embedded PGlite).
  await checkAllowed(ctx, patch, fields, id)
  const warnings = await checkProjectSetup(ctx, fields, repoField(patch), id)
  const project = await write(ctx, async ({ tx, emit }) => {
    checkHostFields(editor, fields, await getProject(tx, id))
    if (typeof fields.key === 'string') {
      await lockProjectKeys(tx)
      await checkKeyFree(tx, fields.key, id)
    }
    await tx`update projects set ${tx(fields as Record<string, unknown>)}, updated_at = now() where id = ${id}`
    const project = await getProject(tx, id)
    if (PATH_CHECK_FIELDS.some((field) => field in fields)) await requestPathCheck(tx, project)
    await recordAudit(tx, editor.actor, { action: 'project.update', target: { type: 'project', id }, projectId: id, details: { changed: Object.keys(fields) } })
    await emit({ project_id: id, type: 'project.updated', payload: { project } })
    return project
  })
  return withWarnings(project, warnings)
}

/** A saved project with what its save checks found (setup-checks/project.ts), when they found anything. */
const withWarnings = (project: Project, warnings: string[]): Project & { warnings?: string[] } => (warnings.length ? { ...project, warnings } : project)

export async function deleteProject(ctx: AppContext, id: number, confirm: string, actor: Actor = APP_ACTOR): Promise<void> {
  await write(ctx, async ({ tx, emit }) => {
    const project = await getProject(tx, id)
    if (confirm !== project.name) {
      throw badRequest('to delete a project, pass its exact name as `confirm`', [
        { path: '/query/confirm', message: `must equal the project name "${project.name}"` },
      ])
    }
    await tx`delete from projects where id = ${id}`
    await recordAudit(tx, actor, { action: 'project.delete', target: { type: 'project', id }, details: { name: project.name } })
    await emit({ project_id: null, type: 'project.deleted', payload: { project_id: id } })
  })
}

/** The body field a request's repository came in: `github_url` when only the alias was sent. */
const repoField = (input: ProjectCreate | ProjectPatch) =>
  input.github_url !== undefined && input.repo_url === undefined ? 'github_url' : 'repo_url'

/** REPO_ALLOWLIST for a new repo_url; on update, its paths are read with the project's own forge settings. */
async function checkAllowed(ctx: AppContext, input: ProjectCreate | ProjectPatch, fields: Record<string, unknown>, projectId?: number): Promise<void> {
  if (typeof fields.repo_url === 'string') await checkRepoUrlAllowed(ctx, fields.repo_url, repoField(input), projectId)
}

/** Folds the `github_url` alias into `repo_url` and checks values the schema cannot. */
function normalize(input: ProjectCreate | ProjectPatch): Record<string, unknown> {
  const { github_url, ...rest } = input
  const fields: Record<string, unknown> = { ...rest }
  if (github_url !== undefined) {
    if (rest.repo_url !== undefined && rest.repo_url !== github_url) {
      throw badRequest('repo_url and its alias github_url disagree', [{ path: '/body/github_url', message: 'differs from repo_url' }])
    }
    fields.repo_url = github_url
  }
  for (const key of ['repo_url', 'project_path', 'default_branch', 'worker_mode', 'setup_command', 'test_command']) {
    if (typeof fields[key] === 'string' && (fields[key] as string).trim() === '') fields[key] = null
  }
  if (typeof fields.repo_url === 'string') checkRepoUrl(fields.repo_url, repoField(input))
  if (typeof fields.project_path === 'string' && !isAbsolute(fields.project_path)) {
    throw badRequest('project_path must be an absolute path', [{ path: '/body/project_path', message: 'not absolute' }])
  }
  return fields
}

/** `user@host:path` (scp-like ssh); neither part may start with `-` (it would reach ssh as an option). */
const SCP_LIKE = /^[A-Za-z0-9_][\w.-]*@[A-Za-z0-9][\w.-]*:(?!-)[\w./~-]+$/

/**
 * A repository URL git may be handed: https, http, ssh, or scp-like `git@host:path`. Refused with
 * 400 naming the field: anything starting with `-` (git would read it as an option, e.g. `-u…` as
 * `--upload-pack`), git's `<transport>::<address>` forms (`ext::` runs a command, `fd::`, `file::`),
 * other schemes (`file:`, `git:`, …), a host or user starting with `-`, and embedded credentials.
 */
function checkRepoUrl(url: string, field: 'repo_url' | 'github_url'): void {
  const refuse = (message: string, detail: string) => {
    throw badRequest(`${field} ${message}`, [{ path: `/body/${field}`, message: detail }])
  }
  if (url.startsWith('-')) refuse('must not start with "-"', 'starts with "-"')
  if (/^[A-Za-z0-9+.-]*::/.test(url)) refuse('must not use a git transport (`<transport>::…`)', 'git transport syntax')
  if (/[\s\x00-\x1f\x7f]/.test(url)) refuse('must not contain spaces or control characters', 'contains spaces or control characters')
  if (SCP_LIKE.test(url)) return
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {}
  if (!parsed || !['https:', 'http:', 'ssh:'].includes(parsed.protocol)) {
    refuse('must be an https, http or ssh URL, or git@host:path', 'not a repository URL')
  }
  if (parsed!.hostname === '' || parsed!.hostname.startsWith('-') || parsed!.username.startsWith('-')) refuse('names no usable host', 'bad host')
  if (parsed!.password || (parsed!.username && parsed!.protocol.startsWith('http'))) {
    refuse('must not carry credentials; set GITHUB_TOKEN in settings instead', 'contains credentials')
  }
}
