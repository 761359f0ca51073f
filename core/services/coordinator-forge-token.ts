/**
 * A forge token a coordinator hands to the app (GITHUB_TOKEN in the coordinator's environment, the
 * runbook's way). Stored AES-256-GCM encrypted, one per coordinator credential (handing it again
 * replaces it), with the projects that coordinator serves. The app uses it for those projects when
 * its settings hold no GITHUB_TOKEN; it never reaches an agent.
 */
import type { AppContext } from '../context.ts'
import { redact } from '../log.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import type { CoordinatorInstance } from './queue.ts'
import { assertWithinProjects } from './coordinator-tokens.ts'
import { registerSecrets } from './settings.ts'

/** Stores the token a coordinator hands over; `projectIds` null = every project its credential may claim. */
export async function storeCoordinatorForgeToken(ctx: AppContext, holder: CoordinatorInstance, token: string, projectIds: number[] | null): Promise<void> {
  assertWithinProjects(holder.credential, projectIds)
  redact(token)
  const served = projectIds ? [...new Set(projectIds)] : holder.credential.projectIds
  await ctx.sql`
    insert into forge_tokens (credential, coordinator_id, token, project_ids, source)
    values (${holder.credential.id}, ${holder.coordinatorId}, ${ctx.secrets.encrypt(token)}, ${served}::int[], 'coordinator')
    on conflict (credential) do update set coordinator_id = excluded.coordinator_id, token = excluded.token,
      project_ids = excluded.project_ids, updated_at = now()`
}

/**
 * The newest coordinator-handed forge token serving `projectId`, or null. Callers prefer the app
 * setting GITHUB_TOKEN and fall back to this.
 */
export async function coordinatorForgeToken(ctx: AppContext, projectId: number): Promise<string | null> {
  const [row] = await ctx.sql`
    select token from forge_tokens where project_ids is null or ${projectId} = any(project_ids)
    order by updated_at desc limit 1`
  // One stored with another secret key counts as none (the start log names it; the coordinator hands it again at its start).
  const token = row ? ctx.secrets.tryDecrypt(row.token as string) : null
  redact(token)
  return token
}

/**
 * Registers every secret the app holds with the masking function (log.ts): secret settings and
 * coordinator-handed forge tokens, including those another replica stored. Called before storing
 * agent-produced text.
 */
export async function registerStoredSecrets(ctx: AppContext, sql: Sql | TransactionSql = ctx.sql): Promise<void> {
  await registerSecrets(ctx, sql)
  for (const row of await sql`select token from forge_tokens`) redact(ctx.secrets.tryDecrypt(row.token as string))
}
