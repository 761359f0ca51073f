/** Routes: projects, their graph and their board. */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Caller, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { BoardPut, GraphPut, ProjectCreate, ProjectPatch } from '../types.ts'
import { createProject, deleteProject, getProject, listProjects, updateProject } from '../services/projects.ts'
import { getGraph, putGraph, suggestNodes } from '../services/graph.ts'
import { getBoard, putBoard } from '../services/board.ts'
import { ProjectParams } from './params.ts'
import { actorOf } from '../services/audit.ts'

const editorOf = (caller: Caller) => ({ role: caller.role ?? 'viewer', actor: actorOf(caller) }) as const

export function projectRoutes(ctx: AppContext): Route[] {
  const board = (path: string) => [
    route({ method: 'GET', path, access: 'viewer', params: ProjectParams, handle: ({ params }) => getBoard(ctx.sql, params.id) }),
    route({ method: 'PUT', path, access: 'member', params: ProjectParams, body: BoardPut, handle: ({ params, body }) => putBoard(ctx, params.id, body) }),
  ]
  return [
    route({ method: 'GET', path: '/api/projects', access: 'viewer', handle: () => listProjects(ctx) }),
    route({
      method: 'POST', path: '/api/projects', access: 'member', body: ProjectCreate,
      handle: async ({ body, caller }) => new Reply(201, await createProject(ctx, body, editorOf(caller))),
    }),
    route({ method: 'GET', path: '/api/projects/:id', access: 'viewer', params: ProjectParams, handle: ({ params }) => getProject(ctx.sql, params.id) }),
    route({
      method: 'PATCH', path: '/api/projects/:id', access: 'member', params: ProjectParams, body: ProjectPatch,
      handle: ({ params, body, caller }) => updateProject(ctx, params.id, body, editorOf(caller)),
    }),
    route({
      method: 'DELETE', path: '/api/projects/:id', access: 'admin', params: ProjectParams,
      query: Type.Object({ confirm: Type.String({ maxLength: 200, description: 'the project name, as confirmation' }) }),
      handle: async ({ params, query, caller }) => {
        await deleteProject(ctx, params.id, query.confirm, actorOf(caller))
        return new Reply(204)
      },
    }),
    route({ method: 'GET', path: '/api/projects/:id/graph', access: 'viewer', params: ProjectParams, handle: ({ params }) => getGraph(ctx.sql, params.id) }),
    route({
      // The nodes a ticket's text names (title and description), for the new-ticket dialog and the ticket view.
      method: 'GET', path: '/api/projects/:id/graph/suggest', access: 'viewer', params: ProjectParams,
      query: Type.Object({ text: Type.String({ maxLength: 4000 }) }, { additionalProperties: false }),
      handle: async ({ params, query }) => ({ nodes: suggestNodes(await getGraph(ctx.sql, params.id), query.text) }),
    }),
    route({
      method: 'PUT', path: '/api/projects/:id/graph', access: 'member', params: ProjectParams, body: GraphPut,
      handle: ({ params, body }) => putGraph(ctx, params.id, body),
    }),
    ...board('/api/projects/:id/board'),
    ...board('/api/projects/:id/kanban'),
  ]
}
