/** The Kanban board's columns. Behaviour keys off a column's role, never its id or title. */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import { badRequest, conflict, notFound, type ErrorDetail } from '../errors.ts'
import type { Board, BoardPut, Column, ColumnRole } from '../types.ts'
import type { Sql, TransactionSql } from '../db/index.ts'

/** Roles a board must have exactly once: the job lifecycle moves tickets between them. */
const REQUIRED_ROLES: ColumnRole[] = ['backlog', 'in_progress', 'in_review', 'done']

export async function getBoard(sql: Sql | TransactionSql, projectId: number): Promise<Board> {
  const [row] = await sql`select columns, version from boards where project_id = ${projectId}`
  if (!row) throw notFound(`project ${projectId}`)
  const columns = (row.columns as Column[]).slice().sort((a, b) => a.order - b.order)
  return { columns, version: row.version as number }
}

export function columnWithRole(board: Board, role: ColumnRole): Column | undefined {
  return board.columns.find((column) => column.role === role)
}

export async function putBoard(ctx: AppContext, projectId: number, input: BoardPut): Promise<Board> {
  checkColumns(input.columns)
  return write(ctx, async ({ tx, emit }) => {
    const current = await getBoard(tx, projectId)
    if (input.version !== undefined && input.version !== current.version) {
      throw conflict(`the board changed since version ${input.version} (now ${current.version})`, [
        { path: '/body/version', message: `stale; current version is ${current.version}` },
      ])
    }
    const kept = new Set(input.columns.map((column) => column.id))
    const removed = current.columns.filter((column) => !kept.has(column.id)).map((column) => column.id)
    if (removed.length) {
      const busy = await tx`
        select column_id, count(*)::int as n from tickets
        where project_id = ${projectId} and column_id in ${tx(removed)} group by column_id`
      if (busy.length) {
        throw conflict(`column "${busy[0]!.column_id}" still holds ${busy[0]!.n} ticket(s); move them first`)
      }
    }
    const [row] = await tx`
      update boards set columns = ${tx.json(input.columns as never)}, version = version + 1, updated_at = now()
      where project_id = ${projectId} returning version`
    const board = { columns: input.columns.slice().sort((a, b) => a.order - b.order), version: row!.version as number }
    await emit({ project_id: projectId, type: 'board.updated', payload: { board } })
    return board
  })
}

function checkColumns(columns: Column[]): void {
  const details: ErrorDetail[] = []
  const ids = new Set<string>()
  columns.forEach((column, i) => {
    if (ids.has(column.id)) details.push({ path: `/body/columns/${i}/id`, message: `duplicate column id "${column.id}"` })
    ids.add(column.id)
  })
  for (const role of REQUIRED_ROLES) {
    const count = columns.filter((column) => column.role === role).length
    if (count !== 1) details.push({ path: '/body/columns', message: `needs exactly one column with role "${role}" (has ${count})` })
  }
  if (details.length) throw badRequest(`invalid board: ${details[0]!.message}`, details)
}
