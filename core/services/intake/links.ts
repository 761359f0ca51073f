/**
 * The link between a ticket and the forge issue it came from (sql/020_issue_intake.sql), as ticket
 * reads carry it and as the intake reads and changes it. This module holds no service imports, so
 * tickets.ts can read its column without a cycle.
 */
import type { Sql, TransactionSql } from '../../db/index.ts'

/** A ticket read adds `issue`: its forge issue, or null. */
export const ISSUE_COLUMN = `(select jsonb_build_object('number', i.issue_number, 'url', i.issue_url, 'repo', i.repo, 'state', i.state,
      'imported_by', i.imported_by, 'ignored_edit', i.ignored_edit) from ticket_issues i where i.ticket_id = t.id order by i.id limit 1) as issue`

export interface IssueLink {
  id: number
  project_id: number
  ticket_id: number | null
  forge_kind: string
  repo: string
  issue_number: number
  issue_url: string | null
  state: 'open' | 'closed'
  imported_by: string
  synced_title: string
  synced_body: string
  ignored_edit: { by: string | null; at: string } | null
  comment_id: number | null
}

export async function findLink(sql: Sql | TransactionSql, projectId: number, repo: string, number: number): Promise<IssueLink | null> {
  const [row] = await sql`select * from ticket_issues where project_id = ${projectId} and lower(repo) = lower(${repo}) and issue_number = ${number}`
  return (row as unknown as IssueLink | undefined) ?? null
}

/** The issue a ticket came from (the close keyword of its pull request). */
export async function linkOfTicket(sql: Sql | TransactionSql, ticketId: number): Promise<IssueLink | null> {
  const [row] = await sql`select * from ticket_issues where ticket_id = ${ticketId} order by id limit 1`
  return (row as unknown as IssueLink | undefined) ?? null
}
