/**
 * The audit trail: who did what, when, from where, to what. Rows are written in the transaction of
 * the change they describe (nothing half-recorded) and read by admins through `GET /api/audit`.
 */
import type { AppContext } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import type { Caller, Role } from '../http/router.ts'

/** Who acted: a person with an account, or a label for the local admin, the admin token or the app. */
export interface Actor {
  userId: number | null
  label: string
  address: string | null
  /** A person's role in this request; absent for the app, coordinators and agents. */
  role?: Role
}

/** The app itself (background loops, agents' completions). */
export const APP_ACTOR: Actor = { userId: null, label: 'app', address: null }

/** The actor behind an authenticated request. */
export function actorOf(caller: Caller): Actor {
  const label = caller.user?.login ?? caller.via ?? caller.kind
  return { userId: caller.user?.id ?? null, label, address: caller.address ?? null, ...(caller.role ? { role: caller.role } : {}) }
}

export interface AuditEntry {
  action: string
  target?: { type: string; id: string | number }
  projectId?: number | null
  details?: Record<string, unknown>
}

export async function recordAudit(sql: Sql | TransactionSql, actor: Actor, entry: AuditEntry): Promise<void> {
  await sql`
    insert into audit (actor_user_id, actor_label, address, action, target_type, target_id, project_id, details)
    values (${actor.userId}, ${actor.label}, ${actor.address}, ${entry.action}, ${entry.target?.type ?? null},
      ${entry.target === undefined ? null : String(entry.target.id)}, ${entry.projectId ?? null},
      ${entry.details === undefined ? null : sql.json(entry.details as never)})`
}

export interface AuditFilter {
  /** A login or label (case-insensitive). */
  actor?: string
  action?: string
  projectId?: number
  /** Entries with a smaller id than this (the previous page's `next_before`). */
  before?: number
  limit: number
}

/** Newest first; `next_before` is the cursor of the next page, null on the last one. */
export async function listAudit(ctx: AppContext, filter: AuditFilter) {
  const rows = await ctx.sql`
    select id, at, actor_user_id, actor_label, address, action, target_type, target_id, project_id, details
    from audit
    where (${filter.actor ?? null}::text is null or lower(actor_label) = lower(${filter.actor ?? null}::text))
      and (${filter.action ?? null}::text is null or action = ${filter.action ?? null}::text)
      and (${filter.projectId ?? null}::int is null or project_id = ${filter.projectId ?? null}::int)
      and (${filter.before ?? null}::bigint is null or id < ${filter.before ?? null}::bigint)
    order by id desc
    limit ${filter.limit + 1}`
  const entries = rows.slice(0, filter.limit)
  const more = rows.length > filter.limit
  return { entries, next_before: more ? (entries[entries.length - 1]!.id as number) : null }
}
