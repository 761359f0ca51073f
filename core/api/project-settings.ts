/**
 * Routes: a project's settings (viewers read, admins write; secrets write-only), its check, and the
 * setup "Test" of its effective forge and LLM settings (admins: a real request from the app's host
 * with the secret the project would use; answers as /api/checks/*, never the remote's body).
 */
import { Type } from '@sinclair/typebox'
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { actorOf } from '../services/audit.ts'
import { checkProjectSettings, listProjectSettings, updateProjectSettings } from '../services/project-settings.ts'
import { getProject } from '../services/projects.ts'
import { testForge } from '../services/setup-checks/forge.ts'
import { testDirectorLlm, testWorkerLlm } from '../services/setup-checks/llm.ts'
import { ProjectParams } from './params.ts'
import { SettingsPut } from './settings.ts'

/** Each test with the project's effective settings; `forge` also tests push to the project's repository. */
const TESTS = {
  forge: (ctx: AppContext, id: number) => testForge(ctx, id),
  'worker-llm': (ctx: AppContext, id: number) => testWorkerLlm(ctx, undefined, id),
  'director-llm': (ctx: AppContext, id: number) => testDirectorLlm(ctx, id),
}

const SettingsTest = Type.Object({
  check: Type.Union(Object.keys(TESTS).map((name) => Type.Literal(name)), { description: 'what to test: forge, worker-llm or director-llm' }),
}, { additionalProperties: false })

export function projectSettingsRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'GET', path: '/api/projects/:id/settings', access: 'viewer', params: ProjectParams, handle: async ({ params }) => ({ settings: await listProjectSettings(ctx, params.id) }) }),
    route({
      method: 'PUT', path: '/api/projects/:id/settings', access: 'admin', params: ProjectParams, body: SettingsPut,
      handle: async ({ params, body, caller }) => ({ settings: await updateProjectSettings(ctx, params.id, body.values, actorOf(caller)) }),
    }),
    route({ method: 'GET', path: '/api/projects/:id/settings/check', access: 'viewer', params: ProjectParams, handle: ({ params }) => checkProjectSettings(ctx, params.id) }),
    route({
      method: 'POST', path: '/api/projects/:id/settings/test', access: 'admin', params: ProjectParams, body: SettingsTest,
      handle: async ({ params, body }) => {
        await getProject(ctx.sql, params.id)
        return TESTS[body.check as keyof typeof TESTS](ctx, params.id)
      },
    }),
  ]
}
