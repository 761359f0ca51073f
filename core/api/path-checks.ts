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

const Answer = Type.Object(
  {
    coordinator_id: CoordinatorId,
    host: Type.String({ minLength: 1, maxLength: 255, description: 'the host the path was checked on' }),
    problem: Type.Union([Type.String({ minLength: 1, maxLength: 2000 }), Type.Null()], { description: 'why the agent cannot work at the path, in words; null: it can' }),
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
      method: 'GET', path: '/api/worker/path-checks', access: 'worker',
      handle: async ({ caller }) => ({ checks: await pendingPathChecks(ctx.sql, caller.credential!) }),
    }),
    route({
      method: 'POST', path: '/api/worker/path-checks/:id', access: 'worker', params: Type.Object({ id: Id }), body: Answer,
      handle: async ({ params, body, caller }) => {
        await answerPathCheck(ctx.sql, caller.credential!, params.id, { host: body.host, problem: body.problem })
        return new Reply(204)
      },
    }),
  ]
}
