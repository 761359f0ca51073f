/** Routes: pull request review for people (DESIGN §5 Review) and the review agent's "addressed". */
import { Type } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { getProject } from '../services/projects.ts'
import { getTicket } from '../services/tickets.ts'
import { projectForgePlugin } from '../services/forge-token.ts'
import { listProjectReview } from '../services/review/prs.ts'
import { getTicketReview, mergeReview, postReviewComment } from '../services/review/ticket-review.ts'
import { markAddressed } from '../services/review/dispatch.ts'
import { ProjectItemParams, ProjectParams } from './params.ts'

const REVIEW = '/api/projects/:pid/tickets/:tid/review'

const CommentPost = Type.Object(
  {
    body: Type.String({ minLength: 1, maxLength: 65536 }),
    trigger_review: Type.Optional(Type.Boolean({ description: 'false: the comment carries the app\'s marker and asks no agent to act (default true)' })),
  },
  { additionalProperties: false },
)
const MergePost = Type.Object(
  {
    method: Type.Optional(Type.Union([Type.Literal('merge'), Type.Literal('squash'), Type.Literal('rebase')], { default: 'merge' })),
    commit_title: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    commit_message: Type.Optional(Type.String({ maxLength: 65536 })),
    sha: Type.Optional(Type.String({ pattern: '^[0-9a-f]{40}$', description: 'merge only if the head is still this commit' })),
  },
  { additionalProperties: false },
)
const AddressedPost = Type.Object(
  { github_comment_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) },
  { additionalProperties: false },
)

export function reviewRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'GET', path: '/api/projects/:id/review', access: 'viewer', params: ProjectParams, handle: async ({ params }) => {
      await getProject(ctx.sql, params.id)
      // `forge`: the project's forge kind, so the page names its requests (GitLab: merge requests).
      return { forge: (await projectForgePlugin(ctx, params.id)).kind, prs: await listProjectReview(ctx.sql, params.id) }
    } }),
    route({ method: 'GET', path: REVIEW, access: 'viewer', params: ProjectItemParams, handle: ({ params }) =>
      getTicketReview(ctx, params.pid, params.tid) }),
    route({
      method: 'POST', path: `${REVIEW}/comment`, access: 'member', params: ProjectItemParams, body: CommentPost,
      handle: async ({ params, body, caller }) => new Reply(201, await postReviewComment(ctx, params.pid, params.tid, body, { userId: caller.user?.id ?? null })),
    }),
    route({
      method: 'POST', path: `${REVIEW}/merge`, access: 'admin', params: ProjectItemParams, body: MergePost,
      handle: ({ params, body }) => mergeReview(ctx, params.pid, params.tid, body),
    }),
    route({
      method: 'POST', path: `${REVIEW}/addressed`, access: 'agent', params: ProjectItemParams, body: AddressedPost,
      handle: async ({ params, body }) => {
        await getTicket(ctx.sql, params.pid, params.tid)
        return markAddressed(ctx, params.tid, body.github_comment_id)
      },
    }),
  ]
}
