/** Route: a ticket's CI records (docs/ci-fix.md), readable by whoever may read the ticket. */
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { getTicket } from '../services/tickets.ts'
import { ticketCi } from '../services/ci-fix/rounds.ts'
import { ciFixSettings } from '../services/ci-fix/settings.ts'
import { ProjectItemParams } from './params.ts'

export function ciFixRoutes(ctx: AppContext): Route[] {
  return [
    route({
      method: 'GET', path: '/api/projects/:pid/tickets/:tid/ci', access: 'viewer', params: ProjectItemParams,
      handle: async ({ params }) => {
        await getTicket(ctx.sql, params.pid, params.tid)
        return ticketCi(ctx.sql, params.tid, (await ciFixSettings(ctx, params.pid)).maxRounds)
      },
    }),
  ]
}
