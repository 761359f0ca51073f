/**
 * Routes: the git smart-HTTP relay (core/services/git-relay.ts). The repository of a job is at
 * `/api/relay/git/<project id>/<ticket id>/repo.git`; git appends the three smart-HTTP paths.
 * Access: the job token of a running job of that ticket, sent by git as the HTTP Basic password
 * (or as Bearer); nothing else. A missing or dead token gets 401 with a Basic challenge, which is
 * what makes git ask its credential helper.
 */
import { Type } from '@sinclair/typebox'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { isAppError } from '../errors.ts'
import { gitUpstream, relayGit, sendGitText, type GitService } from '../services/git-relay.ts'
import { requestJobToken, runningJobOf } from '../services/relay-auth.ts'
import { getProject } from '../services/projects.ts'
import { ProjectItemParams } from './params.ts'

const REPO = '/api/relay/git/:pid/:tid/repo.git'
const InfoRefsQuery = Type.Object({ service: Type.Union([Type.Literal('git-upload-pack'), Type.Literal('git-receive-pack')]) })

export function gitRelayRoutes(ctx: AppContext): Route[] {
  async function relay(params: { pid: number; tid: number }, service: GitService, req: IncomingMessage, res: ServerResponse, path: string) {
    try {
      const job = await runningJobOf(ctx, requestJobToken(req), params.pid, params.tid)
      const upstream = await gitUpstream(ctx, await getProject(ctx.sql, params.pid))
      await relayGit(ctx, job, upstream, service, req, res, path)
    } catch (error) {
      if (!isAppError(error)) {
        ctx.log.error('git relay failed', { error })
        return sendGitText(res, 500, 'internal error')
      }
      req.resume()
      const challenge: Record<string, string> = error.status === 401 ? { 'www-authenticate': 'Basic realm="terarchitect git relay"' } : {}
      sendGitText(res, error.status, error.message, challenge)
    }
  }

  return [
    route({
      method: 'GET', path: `${REPO}/info/refs`, access: 'public', machine: true, stream: true, params: ProjectItemParams, query: InfoRefsQuery,
      handle: ({ params, query, req, res }) => relay(params, query.service, req, res, `/info/refs?service=${query.service}`),
    }),
    route({
      method: 'POST', path: `${REPO}/git-upload-pack`, access: 'public', machine: true, stream: true, params: ProjectItemParams,
      handle: ({ params, req, res }) => relay(params, 'git-upload-pack', req, res, '/git-upload-pack'),
    }),
    route({
      method: 'POST', path: `${REPO}/git-receive-pack`, access: 'public', machine: true, stream: true, params: ProjectItemParams,
      handle: ({ params, req, res }) => relay(params, 'git-receive-pack', req, res, '/git-receive-pack'),
    }),
  ]
}
