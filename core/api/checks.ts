/**
 * Routes: the setup "Test" actions (admins: each makes a real request from the app's host with a
 * stored secret) and the first-run checklist. A test answers `{ ok, kind, status, reason }`
 * (setup-checks/outcome.ts), never the remote's body.
 */
import { Type } from '@sinclair/typebox'
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { WORKER_MODES } from '../settings.ts'
import { testDirectorLlm, testEmbeddings, testWorkerLlm } from '../services/setup-checks/llm.ts'
import { testForge } from '../services/setup-checks/forge.ts'
import { detectForgeKindAt } from '../services/setup-checks/forge-kind.ts'
import { setupChecklist } from '../services/setup-checks/checklist.ts'

const WorkerCheck = Type.Object({
  worker_mode: Type.Optional(Type.Union(WORKER_MODES.map((mode) => Type.Literal(mode)), { description: 'the CLI whose protocol to test; default WORKER_MODE' })),
}, { additionalProperties: false })

const ForgeCheck = Type.Object({
  project_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, description: 'also test push permission to this project\'s repository' })),
}, { additionalProperties: false })

const ForgeKindCheck = Type.Object({
  repo_url: Type.String({ minLength: 1, maxLength: 2000, description: 'the repository URL whose host is asked whether it runs Gitea or Forgejo' }),
}, { additionalProperties: false })

const Empty = Type.Object({}, { additionalProperties: false })

export function checkRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'POST', path: '/api/checks/worker-llm', access: 'admin', body: WorkerCheck, handle: ({ body }) => testWorkerLlm(ctx, body.worker_mode) }),
    route({ method: 'POST', path: '/api/checks/director-llm', access: 'admin', body: Empty, handle: () => testDirectorLlm(ctx) }),
    route({ method: 'POST', path: '/api/checks/embeddings', access: 'admin', body: Empty, handle: () => testEmbeddings(ctx) }),
    route({ method: 'POST', path: '/api/checks/forge', access: 'admin', body: ForgeCheck, handle: ({ body }) => testForge(ctx, body.project_id) }),
    route({ method: 'POST', path: '/api/checks/forge-kind', access: 'admin', body: ForgeKindCheck, handle: ({ body }) => detectForgeKindAt(body.repo_url) }),
    route({ method: 'GET', path: '/api/setup/checklist', access: 'viewer', handle: () => setupChecklist(ctx) }),
  ]
}
