/**
 * The local path checked at save by a coordinator serving the project (sql/012 `path_checks`): the
 * app cannot see the coordinator's disk, so a save asks and a coordinator answers.
 * 1. A save of a local-mode project (create, or an update of its path, repository URL or mode)
 *    replaces the project's request with a pending one, in the save's transaction.
 * 2. Coordinators whose credential serves the project list pending requests (`pendingPathChecks`)
 *    every few seconds, run the check they run before a local run (setup-checks/local-checkout.ts)
 *    and answer (`answerPathCheck`); the first answer wins.
 * 3. The project API reads the result (`pathCheckOf`): pending, ok or the plain reason with the
 *    project path as the fix, and whether any coordinator serving the project is online, so the
 *    form can say "checked before the first run" instead of waiting for nobody.
 * Another project using the same path is the app's own knowledge: said at read time, whatever the
 * coordinator answered. A save is never blocked by any of this.
 */
import type { Sql, TransactionSql } from '../db/index.ts'
import { forbidden, notFound } from '../errors.ts'
import type { Project } from '../types.ts'
import { projectFix, type FixTarget } from './job-reason.ts'
import type { MachineCredential } from './coordinator-tokens.ts'
import { LOST_AFTER_REPORTS } from './coordinators.ts'
import { projectsSharingPath } from './setup-checks/shared-path.ts'

/** What a coordinator needs to check one project's path. */
export interface PathCheckRequest {
  id: number
  project_id: number
  project_path: string
  repo_url: string | null
}

export interface PathCheckResult {
  /** `none`: not a local-mode project with a path; nothing to check. */
  status: 'none' | 'pending' | 'ok' | 'problem'
  /** The plain reason (problem), or what happens next (pending). */
  text: string | null
  fix: FixTarget | null
  /** The host of the coordinator that answered. */
  checked_on: string | null
  checked_at: string | null
  /** Coordinators serving the project that reported recently (not lost, not stopped). */
  coordinators_online: number
}

/** Fields whose change asks for a new check. */
export const PATH_CHECK_FIELDS = ['project_path', 'repo_url', 'execution_mode'] as const

/** Replaces the project's request after a save (`project` as saved); none unless local mode with a path. */
export async function requestPathCheck(tx: TransactionSql, project: Project): Promise<void> {
  await tx`delete from path_checks where project_id = ${project.id}`
  if (project.execution_mode !== 'local' || !project.project_path) return
  await tx`insert into path_checks (project_id, project_path, repo_url) values (${project.id}, ${project.project_path}, ${project.repo_url ?? null})`
}

/**
 * Pending requests of the projects `credential` serves and the coordinator says it serves
 * (`served`: its PROJECT_IDS; null: every project its credential serves), oldest first (at most 20).
 */
export async function pendingPathChecks(sql: Sql, credential: MachineCredential, served: number[] | null = null): Promise<PathCheckRequest[]> {
  const rows = await sql`
    select c.id, c.project_id, c.project_path, c.repo_url from path_checks c join projects p on p.id = c.project_id
    where c.status = 'pending' and p.execution_mode = 'local'
      and (${credential.projectIds === null} or c.project_id = any(${credential.projectIds ?? []}::int[]))
      and (${served === null} or c.project_id = any(${served ?? []}::int[]))
    order by c.id limit 20`
  return rows as unknown as PathCheckRequest[]
}

/**
 * Records a coordinator's answer to request `id`: 404 for a request replaced by a later save (or
 * never made), 403 outside the credential's projects or the ones the coordinator says it serves
 * (`served`, its PROJECT_IDS: a host that never runs the project must not vouch for its path); an
 * answer to one already answered is ignored.
 */
export async function answerPathCheck(sql: Sql, credential: MachineCredential, id: number, answer: { host: string; problem: string | null; served?: number[] | null }): Promise<void> {
  const [row] = await sql`select project_id from path_checks where id = ${id}`
  if (!row) throw notFound(`path check ${id} (a later save replaced it)`)
  const projectId = row.project_id as number
  if (credential.projectIds && !credential.projectIds.includes(projectId)) throw forbidden(`path check ${id} is for a project this coordinator token does not serve`)
  if (answer.served && !answer.served.includes(projectId)) throw forbidden(`path check ${id} is for a project outside this coordinator's PROJECT_IDS`, [{ path: '/body/project_ids', message: 'does not include the project' }])
  await sql`
    update path_checks set status = ${answer.problem ? 'problem' : 'ok'}, problem = ${answer.problem}, checked_on = ${answer.host}, checked_at = now()
    where id = ${id} and status = 'pending'`
}

/** The project's path check as the project API and form show it. */
export async function pathCheckOf(sql: Sql, project: Project): Promise<PathCheckResult> {
  const online = await coordinatorsOnline(sql, project.id)
  const none: PathCheckResult = { status: 'none', text: null, fix: null, checked_on: null, checked_at: null, coordinators_online: online }
  if (project.execution_mode !== 'local' || !project.project_path) return none
  const sharing = await projectsSharingPath(sql, project.project_path, project.id)
  if (sharing.length) {
    const names = sharing.map((other) => other.name).join(', ')
    return { ...none, status: 'problem', text: `${names} already use${sharing.length === 1 ? 's' : ''} the path ${project.project_path}: give each project its own checkout`, fix: projectFix('project_path') }
  }
  const [row] = await sql`
    select status, problem, checked_on, checked_at from path_checks where project_id = ${project.id} and project_path = ${project.project_path}`
  if (!row || row.status === 'pending') {
    const text = online
      ? 'Waiting for a coordinator serving this project to check the path'
      : 'No coordinator serving this project is online: the path will be checked by a coordinator before the first run'
    return { ...none, status: 'pending', text }
  }
  const problem = row.status === 'problem' ? sentence(row.problem as string) : null
  return {
    status: row.status as 'ok' | 'problem', text: problem, fix: problem ? projectFix('project_path') : null,
    checked_on: row.checked_on as string, checked_at: row.checked_at as string, coordinators_online: online,
  }
}

/** Coordinators whose (unrevoked) credential serves `projectId` and that reported recently. */
async function coordinatorsOnline(sql: Sql, projectId: number): Promise<number> {
  const [row] = await sql`
    select count(*)::int as n from coordinators c
    left join coordinator_tokens t on c.credential = 'coordinator-token:' || t.id
    where c.stopped_at is null
      and c.last_seen_at >= now() - make_interval(secs => c.report_interval_sec * ${LOST_AFTER_REPORTS} + 5)
      and (c.credential = 'worker-key' or (t.id is not null and t.revoked_at is null and (t.project_ids is null or ${projectId} = any(t.project_ids))))`
  return row!.n as number
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)
