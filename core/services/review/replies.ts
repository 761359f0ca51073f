/**
 * The app's own comments on a PR (they carry REPLY_MARKER) and which comment each one answers: the
 * review agent records `review_comment_addressed` with its reply's id; a reply it made without
 * that record (an older run) is matched by the quote it opens with. A comment answered this way
 * counts as addressed on the review page even when the app never stored it.
 */
import type { Sql } from '../../db/index.ts'
import { REPLY_MARKER } from './comments.ts'

export interface ShownComment {
  id: number
  body: string
  status: string
}

/** `reply_to` (the answered comment's GitHub id, or null) and `from_app` for each comment. */
export async function linkReplies<C extends ShownComment>(sql: Sql, ticketId: number, comments: C[]): Promise<(C & { from_app: boolean; reply_to: number | null })[]> {
  const rows = await sql`
    select e.event->>'reply_id' as reply_id, e.event->>'github_comment_id' as comment_id
    from job_events e join agent_jobs j on j.id = e.job_id
    where j.ticket_id = ${ticketId} and j.kind = 'review' and e.event->>'kind' = 'review_comment_addressed'`
  const recorded = new Map(rows.filter((row) => row.reply_id && row.comment_id).map((row) => [Number(row.reply_id), Number(row.comment_id)]))
  const linked = comments.map((comment, index) => {
    const fromApp = comment.body.includes(REPLY_MARKER)
    let replyTo = fromApp ? recorded.get(comment.id) ?? null : null
    if (fromApp && replyTo === null) {
      const quote = /^>\s?(.*)$/m.exec(comment.body.replace(REPLY_MARKER, '').trimStart())?.[1]?.trim()
      const answered = quote ? comments.slice(0, index).reverse().find((c) => !c.body.includes(REPLY_MARKER) && c.body.trim().split('\n')[0]!.trim() === quote) : undefined
      replyTo = answered?.id ?? null
    }
    return { ...comment, from_app: fromApp, reply_to: replyTo }
  })
  const answered = new Set(linked.map((c) => c.reply_to).filter((id): id is number => id !== null))
  return linked.map((c) => (answered.has(c.id) && c.status !== 'addressed' && c.status !== 'in_progress' ? { ...c, status: 'addressed' } : c))
}
