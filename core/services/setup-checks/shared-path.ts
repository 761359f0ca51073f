/** Projects sharing one local path: warned at save (project.ts), refused at run (run.ts). */
import type { Sql, TransactionSql } from '../../db/index.ts'

/** Projects other than `projectId` whose local path is `path`. */
export async function projectsSharingPath(sql: Sql | TransactionSql, path: string, projectId: number | null): Promise<{ id: number; name: string }[]> {
  const rows = await sql`select id, name from projects where project_path = ${path} and id <> ${projectId ?? 0} order by id`
  return rows.map((row) => ({ id: row.id as number, name: row.name as string }))
}
