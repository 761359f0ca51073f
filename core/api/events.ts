/**
 * `GET /api/events?project_id=` as Server-Sent Events. Each message's `id` is the feed id, so a
 * browser reconnecting with `Last-Event-ID` (or `?last_event_id=`) gets what it missed, in order,
 * before live messages. Comment pings every 15 s keep proxies from closing an idle stream.
 * A stream opened with a session or an API token ends when that credential does: at once on this
 * replica for a logout or a disabled user (session-streams.ts), and within RECHECK_MS otherwise
 * (another replica revoked it, it expired, the token was revoked).
 */
import { Type } from '@sinclair/typebox'
import type { ServerResponse } from 'node:http'
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import type { Feed, FeedRow } from '../services/feed.ts'
import { Cursor, Id } from '../types.ts'
import { getProject } from '../services/projects.ts'
import { sessionIsLive } from '../services/sessions.ts'
import { apiTokenIsLive } from '../services/api-tokens.ts'
import { watchSession } from '../services/session-streams.ts'

const EventsQuery = Type.Object({
  project_id: Type.Optional(Id),
  last_event_id: Type.Optional(Cursor),
})
const LastEventId = /^\d{1,15}$/
const RECHECK_MS = 15000

export function eventRoutes(ctx: AppContext, feed: Feed): Route[] {
  return [
    route({
      method: 'GET', path: '/api/events', access: 'viewer', query: EventsQuery,
      handle: async ({ req, res, query, caller }) => {
        const header = String(req.headers['last-event-id'] ?? '')
        const resumeFrom = LastEventId.test(header) ? Number(header) : query.last_event_id
        const projectId = query.project_id ?? null
        // An unknown project is a 404 now, not a stream that stays silent forever.
        if (projectId !== null) await getProject(ctx.sql, projectId)
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        })
        res.write('retry: 2000\n\n')
        let sent = resumeFrom ?? feed.latestId()
        let replaying = true
        const buffered: FeedRow[] = []
        const deliver = (rows: FeedRow[]) => {
          for (const row of rows) {
            if (row.id <= sent) continue
            if (projectId !== null && row.project_id !== null && row.project_id !== projectId) continue
            writeEvent(res, row)
            sent = row.id
          }
        }
        const unsubscribe = feed.subscribe((rows) => (replaying ? buffered.push(...rows) : deliver(rows)))
        const ping = setInterval(() => res.write(': ping\n\n'), 15000)
        const stillAllowed = caller.sessionHash ? () => sessionIsLive(ctx, caller.sessionHash!)
          : caller.tokenId ? () => apiTokenIsLive(ctx, caller.tokenId!) : null
        const unwatch = caller.sessionHash ? watchSession(caller.sessionHash, () => res.end()) : () => {}
        const recheck = stillAllowed && setInterval(() => {
          stillAllowed().then((live) => live || res.end(), (error) => ctx.log.warn('stream credential re-check failed', { error }))
        }, RECHECK_MS)
        res.once('close', () => {
          clearInterval(ping)
          if (recheck) clearInterval(recheck)
          unwatch()
          unsubscribe()
        })
        try {
          if (resumeFrom !== undefined) {
            for (;;) {
              const rows = await feed.replay(sent, projectId, 1000)
              deliver(rows)
              if (rows.length < 1000) break
            }
          }
        } catch (error) {
          ctx.log.warn('event replay failed', { error })
        }
        replaying = false
        deliver(buffered.splice(0))
      },
    }),
  ]
}

function writeEvent(res: ServerResponse, row: FeedRow): void {
  res.write(`id: ${row.id}\nevent: ${row.type}\ndata: ${JSON.stringify({ ...row.payload, project_id: row.project_id, at: row.created_at })}\n\n`)
}
