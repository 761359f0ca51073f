/** Routes: accounts (admins) and API tokens (everyone their own; admins everyone's). */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { badRequest, forbidden } from '../errors.ts'
import { Id } from '../types.ts'
import { actorOf } from '../services/audit.ts'
import { createUser, getUser, listUsers, updateUser } from '../services/users.ts'
import { createApiToken, listApiTokens, lowerRole, revokeApiToken } from '../services/api-tokens.ts'
import { DisplayName, Login, Password } from './auth.ts'

const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('member'), Type.Literal('admin')])
const Email = Type.Union([Type.String({ maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }), Type.Null()])
const UserCreate = Type.Object(
  { login: Login, password: Type.Optional(Password), display_name: Type.Optional(DisplayName), email: Type.Optional(Email), role: RoleSchema },
  { additionalProperties: false },
)
const UserPatch = Type.Object(
  {
    display_name: Type.Optional(DisplayName),
    email: Type.Optional(Email),
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(Type.Boolean()),
    password: Type.Optional(Password),
  },
  { additionalProperties: false },
)
const TokenCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    role: Type.Optional(RoleSchema),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
)
const IdParams = Type.Object({ id: Id })

export function userRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'GET', path: '/api/users', access: 'admin', handle: () => listUsers(ctx) }),
    route({
      method: 'POST', path: '/api/users', access: 'admin', body: UserCreate,
      handle: async ({ body, caller }) => new Reply(201, await createUser(ctx, body, actorOf(caller))),
    }),
    route({
      method: 'PATCH', path: '/api/users/:id', access: 'admin', params: IdParams, body: UserPatch,
      // Your own password changed from this session keeps this session (and ends the others).
      handle: ({ params, body, caller }) =>
        updateUser(ctx, params.id, body, actorOf(caller), caller.user?.id === params.id ? caller.sessionHash : undefined),
    }),

    route({
      method: 'GET', path: '/api/tokens', access: 'viewer',
      query: Type.Object({ all: Type.Optional(Type.Boolean({ description: 'admins: every user\'s tokens' })) }),
      handle: ({ query, caller }) => {
        if (query.all) {
          if (caller.role !== 'admin') throw forbidden('listing everyone\'s tokens needs the admin role')
          return listApiTokens(ctx, null)
        }
        return listApiTokens(ctx, requireAccount(caller.user).id)
      },
    }),
    route({
      method: 'POST', path: '/api/tokens', access: 'viewer', body: TokenCreate,
      handle: async ({ body, caller }) => {
        // A leaked token must not be able to outlive its own revocation by minting others.
        if (caller.via === 'token') throw forbidden('an API token cannot create API tokens: sign in to create one')
        const account = requireAccount(caller.user)
        // The owner's current role, capped by the request's.
        const owner = await getUser(ctx.sql, account.id)
        return new Reply(201, await createApiToken(ctx, { id: owner.id, role: lowerRole(owner.role, caller.role!) }, body, actorOf(caller)))
      },
    }),
    route({
      method: 'DELETE', path: '/api/tokens/:id', access: 'viewer', params: IdParams,
      handle: async ({ params, caller }) => {
        await revokeApiToken(ctx, params.id, caller, actorOf(caller))
        return new Reply(204)
      },
    }),
  ]
}

/** API tokens belong to accounts: the local admin and the admin token have none. */
function requireAccount(user: { id: number; login: string } | undefined) {
  if (!user) throw badRequest('API tokens belong to an account: create one (POST /api/auth/setup or /api/users) and sign in')
  return user
}
