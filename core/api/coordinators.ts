/**
 * Routes: coordinator tokens (admins). A token is shown once, in the creation answer; lists show
 * its name, prefix, projects and use. Revoking takes effect on the coordinator's next request.
 * Creating and revoking are audited.
 * The coordinators registry: coordinators report in over the worker API; members read the list
 * (hosts and capacity, no credential).
 */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { Id } from '../types.ts'
import { createCoordinatorToken, listCoordinatorTokens, revokeCoordinatorToken } from '../services/coordinator-tokens.ts'
import { actorOf } from '../services/audit.ts'
import { listCoordinators, recordCoordinatorReport } from '../services/coordinators.ts'
import { CoordinatorId } from './params.ts'

const TokenCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'what the coordinator is, e.g. `build-host-1`' }),
    project_ids: Type.Optional(Type.Union([Type.Array(Id, { minItems: 1, maxItems: 1000 }), Type.Null()], { description: 'projects whose jobs it may claim; omitted or null = all' })),
  },
  { additionalProperties: false },
)
const TokenParams = Type.Object({ id: Id })
const Report = Type.Object(
  {
    coordinator_id: CoordinatorId,
    host: Type.String({ minLength: 1, maxLength: 255 }),
    version: Type.String({ minLength: 1, maxLength: 100 }),
    executor: Type.String({ minLength: 1, maxLength: 50 }),
    capacity: Type.Integer({ minimum: 0, maximum: 10000 }),
    running_job_ids: Type.Array(Id, { maxItems: 10000 }),
    report_interval_sec: Type.Integer({ minimum: 1, maximum: 3600 }),
    started_at: Type.String({ pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$', description: 'ISO 8601 UTC time the coordinator started' }),
    stopped: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

export function coordinatorRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'GET', path: '/api/coordinators', access: 'member', handle: () => listCoordinators(ctx.sql) }),
    route({ method: 'POST', path: '/api/worker/coordinators/report', access: 'worker', body: Report, handle: async ({ body, caller }) => {
      const { coordinator_id: coordinatorId, ...report } = body
      await recordCoordinatorReport(ctx.sql, { coordinatorId, credential: caller.credential! }, report)
      return new Reply(204)
    } }),
    route({ method: 'GET', path: '/api/coordinators/tokens', access: 'admin', handle: () => listCoordinatorTokens(ctx.sql) }),
    route({ method: 'POST', path: '/api/coordinators/tokens', access: 'admin', body: TokenCreate, handle: async ({ body, caller }) =>
      new Reply(201, await createCoordinatorToken(ctx, { name: body.name.trim(), project_ids: body.project_ids ?? null }, actorOf(caller))) }),
    route({ method: 'DELETE', path: '/api/coordinators/tokens/:id', access: 'admin', params: TokenParams, handle: async ({ params, caller }) => {
      await revokeCoordinatorToken(ctx, params.id, actorOf(caller))
      return new Reply(204)
    } }),
  ]
}
