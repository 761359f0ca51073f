/** Project notes, optionally linked to graph nodes and edges. */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import { notFound } from '../errors.ts'
import type { Sql } from '../db/index.ts'
import type { Note, NoteCreate, NotePatch } from '../types.ts'

const COLUMNS = 'id, project_id, title, content, associated_node_ids, associated_edge_ids, created_at, updated_at'

export async function listNotes(sql: Sql, projectId: number): Promise<Note[]> {
  return (await sql.unsafe(`select ${COLUMNS} from notes where project_id = $1 order by id`, [projectId])) as unknown as Note[]
}

export async function createNote(ctx: AppContext, projectId: number, input: NoteCreate): Promise<Note> {
  return write(ctx, async ({ tx, emit }) => {
    const [project] = await tx`select id from projects where id = ${projectId}`
    if (!project) throw notFound(`project ${projectId}`)
    const [row] = await tx.unsafe(
      `insert into notes (project_id, title, content, associated_node_ids, associated_edge_ids)
       values ($1, $2, $3, $4, $5) returning ${COLUMNS}`,
      [projectId, input.title, input.content ?? '', tx.json(input.associated_node_ids ?? []), tx.json(input.associated_edge_ids ?? [])],
    )
    await emit({ project_id: projectId, type: 'note.created', payload: { note: row } })
    return row as unknown as Note
  })
}

export async function updateNote(ctx: AppContext, projectId: number, noteId: number, patch: NotePatch): Promise<Note> {
  return write(ctx, async ({ tx, emit }) => {
    const values: Record<string, unknown> = { ...patch }
    if (patch.associated_node_ids) values.associated_node_ids = tx.json(patch.associated_node_ids)
    if (patch.associated_edge_ids) values.associated_edge_ids = tx.json(patch.associated_edge_ids)
    const [row] = await tx`
      update notes set ${tx(values)}, updated_at = now() where id = ${noteId} and project_id = ${projectId}
      returning ${tx.unsafe(COLUMNS)}`
    if (!row) throw notFound(`note ${noteId} in project ${projectId}`)
    await emit({ project_id: projectId, type: 'note.updated', payload: { note: row } })
    return row as unknown as Note
  })
}

export async function deleteNote(ctx: AppContext, projectId: number, noteId: number): Promise<void> {
  await write(ctx, async ({ tx, emit }) => {
    const [row] = await tx`delete from notes where id = ${noteId} and project_id = ${projectId} returning id`
    if (!row) throw notFound(`note ${noteId} in project ${projectId}`)
    await emit({ project_id: projectId, type: 'note.deleted', payload: { note_id: noteId } })
  })
}
