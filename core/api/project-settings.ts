/** Routes: a project's settings (viewers read, admins write; secrets write-only) and its check. */
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { actorOf } from '../services/audit.ts'
import { checkProjectSettings, listProjectSettings, updateProjectSettings } from '../services/project-settings.ts'
import { ProjectParams } from './params.ts'
import { SettingsPut } from './settings.ts'

export function projectSettingsRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'GET', path: '/api/projects/:id/settings', access: 'viewer', params: ProjectParams, handle: async ({ params }) => ({ settings: await listProjectSettings(ctx, params.id) }) }),
    route({
      method: 'PUT', path: '/api/projects/:id/settings', access: 'admin', params: ProjectParams, body: SettingsPut,
      handle: async ({ params, body, caller }) => ({ settings: await updateProjectSettings(ctx, params.id, body.values, actorOf(caller)) }),
    }),
    route({ method: 'GET', path: '/api/projects/:id/settings/check', access: 'viewer', params: ProjectParams, handle: ({ params }) => checkProjectSettings(ctx, params.id) }),
  ]
}
