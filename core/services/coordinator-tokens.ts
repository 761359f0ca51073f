/**
 * Machine credentials of the worker API: the worker key (worker-key.ts) and named coordinator
 * tokens (`tco_` + 256 random bits) that admins create, see once, and revoke. Tokens are stored as
 * sha256 only; a token limited to projects claims only their jobs. Every use is one indexed read,
 * so a revocation takes effect on the next request on every replica.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import type { Sql } from '../db/index.ts'
import { AppError, badRequest, notFound } from '../errors.ts'
import { generateToken, hashToken } from '../secrets.ts'
import { APP_ACTOR, recordAudit, type Actor } from './audit.ts'

/** Who is calling the worker API: `worker-key` or `coordinator-token:<id>`, and what it may claim. */
export interface MachineCredential {
  id: string
  /** null = every project. */
  projectIds: number[] | null
}

export const WORKER_KEY_CREDENTIAL: MachineCredential = { id: 'worker-key', projectIds: null }

/** 403 naming `/body/project_ids/<i>` when `asked` names a project the credential may not claim. */
export function assertWithinProjects(credential: MachineCredential, asked: number[] | null): void {
  const allowed = credential.projectIds
  const outside = allowed && asked ? asked.findIndex((id) => !allowed.includes(id)) : -1
  if (outside >= 0) {
    throw new AppError('forbidden', 403, `project ${asked![outside]} is not one this coordinator token may claim`, [
      { path: `/body/project_ids/${outside}`, message: 'outside the token\'s projects' },
    ])
  }
}
export const COORDINATOR_TOKEN_PREFIX = 'tco_'

export interface CoordinatorToken {
  id: number
  name: string
  prefix: string
  project_ids: number[] | null
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

const COLUMNS = 'id, name, prefix, project_ids, created_at, last_used_at, revoked_at'

/** Creates a token (audited); the clear value is in the answer only (`token`), never stored. */
export async function createCoordinatorToken(
  ctx: AppContext,
  input: { name: string; project_ids?: number[] | null },
  actor: Actor = APP_ACTOR,
): Promise<CoordinatorToken & { token: string }> {
  const token = generateToken(COORDINATOR_TOKEN_PREFIX)
  const projectIds = input.project_ids ? [...new Set(input.project_ids)] : null
  return write(ctx, async ({ tx }) => {
    if (projectIds) {
      const found = new Set((await tx`select id from projects where id = any(${projectIds}::int[])`).map((row) => row.id as number))
      const missing = projectIds.findIndex((id) => !found.has(id))
      if (missing >= 0) throw badRequest(`project ${projectIds[missing]} does not exist`, [{ path: `/body/project_ids/${missing}`, message: 'no such project' }])
    }
    const [row] = await tx.unsafe(
      `insert into coordinator_tokens (name, token_hash, prefix, project_ids) values ($1, $2, $3, $4::int[]) returning ${COLUMNS}`,
      [input.name, hashToken(token), token.slice(0, COORDINATOR_TOKEN_PREFIX.length + 6), projectIds] as never[],
    )
    await recordAudit(tx, actor, { action: 'coordinator_token.create', target: { type: 'coordinator_token', id: row!.id as number }, details: { name: input.name, project_ids: projectIds } })
    return { ...(row as unknown as CoordinatorToken), token }
  })
}

export async function listCoordinatorTokens(sql: Sql): Promise<CoordinatorToken[]> {
  return (await sql.unsafe(`select ${COLUMNS} from coordinator_tokens order by id`)) as unknown as CoordinatorToken[]
}

/** Revokes a token at once (idempotent, audited) with the forge token it handed over; 404 when it never existed. */
export async function revokeCoordinatorToken(ctx: AppContext, id: number, actor: Actor = APP_ACTOR): Promise<CoordinatorToken> {
  return write(ctx, async ({ tx }) => {
    const [row] = await tx.unsafe(
      `update coordinator_tokens set revoked_at = coalesce(revoked_at, now()) where id = $1 returning ${COLUMNS}`, [id])
    if (!row) throw notFound(`coordinator token ${id}`)
    // A revoked coordinator serves no project any more: its GITHUB_TOKEN is no longer used.
    await tx`delete from forge_tokens where credential = ${`coordinator-token:${id}`}`
    await recordAudit(tx, actor, { action: 'coordinator_token.revoke', target: { type: 'coordinator_token', id } })
    return row as unknown as CoordinatorToken
  })
}

/** The credential a live coordinator token stands for, or null (unknown or revoked). */
export async function findCoordinatorToken(sql: Sql, token: string): Promise<MachineCredential | null> {
  const [row] = await sql`
    select id, project_ids, last_used_at > now() - interval '1 minute' as fresh
    from coordinator_tokens where token_hash = ${hashToken(token)} and revoked_at is null`
  if (!row) return null
  // last_used_at is for the admin's list: written at most once a minute, not on every heartbeat.
  if (!row.fresh) await sql`update coordinator_tokens set last_used_at = now() where id = ${row.id}`
  return { id: `coordinator-token:${row.id}`, projectIds: (row.project_ids as number[] | null) ?? null }
}
