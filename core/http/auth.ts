/**
 * Who may call what (DESIGN.md §5 Auth):
 * - people (routes whose access is a role: viewer < member < admin): the admin token, an API token,
 *   a session cookie, or — while no account exists — a local request (people-auth.ts); a person
 *   below the route's role → 403. Public routes still learn who calls when someone is signed in.
 * - worker (coordinators): the worker key (configured, or generated at first start: it always
 *   exists) or a live coordinator token; never anonymous (401), never a job token (403).
 * - agent (ticket endpoints, relays): only a job token signed for exactly this project and ticket,
 *   while its job runs at the token's attempt (services/job-tokens.ts). Nothing → 401; the worker
 *   key or a coordinator token → 403; a token for ticket A on ticket B → 403; an ended job → 401;
 *   a job being cancelled → 401, except on the routes marked `afterCancel` (logs, cancel-requested).
 */
import type { IncomingMessage } from 'node:http'
import { forbidden, unauthorized } from '../errors.ts'
import type { SecretBox } from '../secrets.ts'
import type { AppContext } from '../context.ts'
import type { WorkerKey } from '../services/worker-key.ts'
import { COORDINATOR_TOKEN_PREFIX, WORKER_KEY_CREDENTIAL, findCoordinatorToken } from '../services/coordinator-tokens.ts'
import { verifyAgentCaller } from '../services/job-tokens.ts'
import type { Access, Authorize, Caller } from './router.ts'
import type { LocalRule } from './boundary.ts'
import { createPeopleAuth, isRole } from './people-auth.ts'

export interface AuthOptions {
  /** Machine callers: job tokens and coordinator tokens are checked against the database. */
  ctx: AppContext
  workerKey: WorkerKey
  adminToken: string | undefined
  /** Who counts as local: the zero-setup admin on this machine. */
  local: LocalRule
  secrets: SecretBox
}

export function createAuthorize(options: AuthOptions): Authorize {
  const people = createPeopleAuth(options.ctx, { adminToken: options.adminToken, local: options.local })
  return async (access: Access, req: IncomingMessage, params: Record<string, unknown>, route?: { afterCancel?: boolean }): Promise<Caller> => {
    const token = bearer(req)
    if (access === 'public') return people.optional(req, token)
    if (isRole(access)) return people.require(access, req, token)
    if (access === 'worker') return machineCaller(options, token)
    if (access === 'agent') return agentCaller(options, token, params, route?.afterCancel === true)
    throw forbidden(`unknown access rule ${access}`)
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization
  if (!header) return undefined
  const match = /^Bearer\s+(.+)$/i.exec(header)
  return match ? match[1]!.trim() : header.trim()
}

/** Coordinators: the worker key or a live coordinator token. */
async function machineCaller(options: AuthOptions, token: string | undefined): Promise<Caller> {
  if (!token) throw unauthorized('send Authorization: Bearer <worker key or coordinator token>')
  if (token.startsWith('tj1.')) {
    if (!options.ctx.secrets.verifyJobToken(token)) throw unauthorized('job token is invalid or expired')
    throw forbidden('a job token cannot use the coordinator API')
  }
  if (options.workerKey.matches(token)) return { kind: 'worker', credential: WORKER_KEY_CREDENTIAL }
  if (token.startsWith(COORDINATOR_TOKEN_PREFIX)) {
    const credential = await findCoordinatorToken(options.ctx.sql, token)
    if (credential) return { kind: 'worker', credential }
  }
  throw unauthorized('invalid bearer credential (revoked, or not a worker key or coordinator token)')
}

/** Agents: only a job token for this route's project and ticket, while its job runs. */
async function agentCaller(options: AuthOptions, token: string | undefined, params: Record<string, unknown>, afterCancel: boolean): Promise<Caller> {
  if (!token) throw unauthorized('send Authorization: Bearer <job token>')
  if (!token.startsWith('tj1.')) {
    const machine = options.workerKey.matches(token) || (token.startsWith(COORDINATOR_TOKEN_PREFIX) && (await findCoordinatorToken(options.ctx.sql, token)))
    if (machine) throw forbidden('agent routes accept only a job token; coordinator credentials open no ticket')
    throw unauthorized('invalid bearer credential')
  }
  // Agent routes name their parameters :pid and :tid; a token opens only its own.
  const scope = {
    ...(typeof params.pid === 'number' ? { projectId: params.pid } : {}),
    ...(typeof params.tid === 'number' ? { ticketId: params.tid } : {}),
  }
  return { kind: 'agent', job: await verifyAgentCaller(options.ctx, token, scope, { afterCancel }) }
}
