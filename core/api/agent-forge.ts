/**
 * Routes: the forge actions an agent asks the app for with its job token (it holds no forge token):
 * open the pull request of its ticket branch, reply on its review job's PR. Access: the job token of
 * a running job of that ticket, and nothing else (auth.ts); the job decides the branch and the PR.
 */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Caller, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { unauthorized } from '../errors.ts'
import { openJobPull, replyOnJobPull } from '../services/forge-actions.ts'
import { getJob } from '../services/jobs.ts'
import { ProjectItemParams } from './params.ts'

const TICKET = '/api/projects/:pid/tickets/:tid'

/** A branch name as git allows it (no `..`, no leading `-`, no control or special characters). */
const Branch = Type.String({ minLength: 1, maxLength: 255, pattern: '^(?!-)(?!.*\\.\\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$' })

const PullCreate = Type.Object({
  title: Type.String({ minLength: 1, maxLength: 1000 }),
  body: Type.String({ maxLength: 60000 }),
  base: Branch,
  draft: Type.Boolean({ default: false }),
}, { additionalProperties: false })

const PullReply = Type.Object({ body: Type.String({ minLength: 1, maxLength: 60000 }) }, { additionalProperties: false })

export function agentForgeRoutes(ctx: AppContext): Route[] {
  const jobOf = (caller: Caller) => {
    if (caller.kind !== 'agent' || !caller.job) throw unauthorized('send Authorization: Bearer <job token>')
    return getJob(ctx.sql, caller.job.jobId)
  }
  return [
    route({
      method: 'POST', path: `${TICKET}/forge/pull`, access: 'agent', params: ProjectItemParams, body: PullCreate,
      handle: async ({ caller, body }) => {
        const pull = await openJobPull(ctx, await jobOf(caller), { ...body, draft: body.draft ?? false })
        return new Reply(pull.created ? 201 : 200, pull)
      },
    }),
    route({
      method: 'POST', path: `${TICKET}/forge/reply`, access: 'agent', params: ProjectItemParams, body: PullReply,
      handle: async ({ caller, body }) => new Reply(201, await replyOnJobPull(ctx, await jobOf(caller), body.body)),
    }),
  ]
}
