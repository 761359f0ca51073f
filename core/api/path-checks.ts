/**
 * Routes: the local path check at save (core/services/path-checks.ts). People read a project's
 * result; coordinators list the requests of the projects their credential serves and answer them.
 */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { Id } from '../types.ts'
import { getProject } from '../services/projects.ts'
import { answerPathCheck, pathCheckOf, pendingPathChecks } from '../services/path-checks.ts'
import { CoordinatorId, ProjectParams } from './params.ts'

const Served = Type.Object(
  { project_ids: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,9}(,[1-9][0-9]{0,9}){0,999}$', description: 'comma-separated ids of the projects this coordinator serves (its PROJECT_IDS); absent: all its credential serves' })) },
  { additionalProperties: false },
)

const Answer = Type.Object(
  {
    coordinator_id: CoordinatorId,
    host: Type.String({ minLength: 1, maxLength: 255, description: 'the host the path was checked on' }),
    problem: Type.Union([Type.String({ minLength: 1, maxLength: 2000 }), Type.Null()], { description: 'why the agent cannot work at the path, in words; null: it can' }),
    project_ids: Type.Optional(Type.Array(Id, { maxItems: 1000, description: 'the projects this coordinator serves (its PROJECT_IDS); absent: all its credential serves' })),
  },
  { additionalProperties: false },
)

export function pathCheckRoutes(ctx: AppContext): Route[] {
  return [
    route({
      method: 'GET', path: '/api/projects/:id/path-check', access: 'viewer', params: ProjectParams,
      handle: async ({ params }) => pathCheckOf(ctx.sql, await getProject(ctx.sql, params.id)),
    }),
    route({
      method: 'GET', path: '/api/worker/path-checks', access: 'worker', query: Served,
      handle: async ({ caller, query }) => ({ checks: await pendingPathChecks(ctx.sql, caller.credential!, query.project_ids ? query.project_ids.split(',').map(Number) : null) }),
    }),
    route({
      method: 'POST', path: '/api/worker/path-checks/:id', access: 'worker', params: Type.Object({ id: Id }), body: Answer,
      handle: async ({ params, body, caller }) => {
        await answerPathCheck(ctx.sql, caller.credential!, params.id, { host: body.host, problem: body.problem, served: body.project_ids ?? null })
        return new Reply(204)
      },
    }),
  ]
}
