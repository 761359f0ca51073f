/** Route: the audit trail, for admins, newest first, filtered and paginated by id. */
import { Type } from '@sinclair/typebox'
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { Id } from '../types.ts'
import { listAudit } from '../services/audit.ts'

const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'login or label' })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'e.g. ticket.move, auth.login_failed' })),
  project_id: Type.Optional(Id),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the previous page\'s next_before' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
})

export function auditRoutes(ctx: AppContext): Route[] {
  return [
    route({
      method: 'GET', path: '/api/audit', access: 'admin', query: AuditQuery,
      handle: ({ query }) => listAudit(ctx, { actor: query.actor, action: query.action, projectId: query.project_id, before: query.before, limit: query.limit }),
    }),
  ]
}
