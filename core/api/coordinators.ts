/**
 * Routes: coordinator tokens (admins). A token is shown once, in the creation answer; lists show
 * its name, prefix, projects and use. Revoking takes effect on the coordinator's next request.
 * Creating and revoking are audited.
 */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { Id } from '../types.ts'
import { createCoordinatorToken, listCoordinatorTokens, revokeCoordinatorToken } from '../services/coordinator-tokens.ts'
import { actorOf } from '../services/audit.ts'

const TokenCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'what the coordinator is, e.g. `build-host-1`' }),
    project_ids: Type.Optional(Type.Union([Type.Array(Id, { minItems: 1, maxItems: 1000 }), Type.Null()], { description: 'projects whose jobs it may claim; omitted or null = all' })),
  },
  { additionalProperties: false },
)
const TokenParams = Type.Object({ id: Id })

export function coordinatorRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'GET', path: '/api/coordinators/tokens', access: 'admin', handle: () => listCoordinatorTokens(ctx.sql) }),
    route({ method: 'POST', path: '/api/coordinators/tokens', access: 'admin', body: TokenCreate, handle: async ({ body, caller }) =>
      new Reply(201, await createCoordinatorToken(ctx, { name: body.name.trim(), project_ids: body.project_ids ?? null }, actorOf(caller))) }),
    route({ method: 'DELETE', path: '/api/coordinators/tokens/:id', access: 'admin', params: TokenParams, handle: async ({ params, caller }) => {
      await revokeCoordinatorToken(ctx, params.id, actorOf(caller))
      return new Reply(204)
    } }),
  ]
}
