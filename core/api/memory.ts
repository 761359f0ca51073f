/**
 * Routes: project memory. People use `/api/projects/:id/memory/*`; agents use the twins under
 * their ticket (`/api/projects/:pid/tickets/:tid/memory/*`) so their job token opens them; an
 * agent reads the project's memory but writes only its own ticket's `agent` entries.
 */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { Id } from '../types.ts'
import { badRequest } from '../errors.ts'
import { getTicket } from '../services/tickets.ts'
import { confineToTicket, deleteMemory, indexDocuments, retrieveMemory } from '../services/memory-store.ts'
import { ProjectItemParams, ProjectParams } from './params.ts'

const Kind = Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z][a-z0-9_-]*$', description: 'project | ticket | review | note | doc | …' })
const MemoryDoc = Type.Object(
  {
    kind: Type.Optional(Kind),
    ref: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], { description: 'stable key: indexing the same kind and ref again replaces the document' })),
    title: Type.Optional(Type.String({ maxLength: 500 })),
    content: Type.String({ minLength: 1, maxLength: 100000 }),
  },
  { additionalProperties: false },
)
const IndexBody = Type.Object({ documents: Type.Array(MemoryDoc, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false })
const RetrieveBody = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 10000 }),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 5 })),
    kinds: Type.Optional(Type.Array(Kind, { maxItems: 20 })),
  },
  { additionalProperties: false },
)
const DeleteBody = Type.Object(
  {
    ids: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 1000 })),
    kind: Type.Optional(Kind),
    ref: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
)

export function memoryRoutes(ctx: AppContext): Route[] {
  const forTicket = async (pid: number, tid: number) => {
    await getTicket(ctx.sql, pid, tid)
    return pid
  }
  return [
    route({ method: 'POST', path: '/api/projects/:id/memory/index', access: 'member', params: ProjectParams, body: IndexBody,
      handle: async ({ params, body }) => new Reply(201, await indexDocuments(ctx, params.id, body.documents)) }),
    route({ method: 'POST', path: '/api/projects/:id/memory/retrieve', access: 'viewer', params: ProjectParams, body: RetrieveBody,
      handle: ({ params, body }) => retrieveMemory(ctx, params.id, body) }),
    route({
      method: 'POST', path: '/api/projects/:id/memory/delete', access: 'member', params: ProjectParams, body: DeleteBody,
      handle: ({ params, body }) => {
        if (!body.ids && !body.kind) {
          throw badRequest('say what to delete: `ids`, or `kind` (and `ref`)', [{ path: '/body', message: 'needs ids or kind' }])
        }
        return deleteMemory(ctx, params.id, body)
      },
    }),
    // An agent writes only its own ticket's entries (services/memory-store.ts confineToTicket).
    route({ method: 'POST', path: '/api/projects/:pid/tickets/:tid/memory/index', access: 'agent', params: ProjectItemParams, body: IndexBody,
      handle: async ({ params, body }) =>
        new Reply(201, await indexDocuments(ctx, await forTicket(params.pid, params.tid), confineToTicket(params.tid, body.documents))) }),
    route({ method: 'POST', path: '/api/projects/:pid/tickets/:tid/memory/retrieve', access: 'agent', params: ProjectItemParams, body: RetrieveBody,
      handle: async ({ params, body }) => retrieveMemory(ctx, await forTicket(params.pid, params.tid), body) }),
  ]
}
