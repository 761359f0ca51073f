/** Routes: settings and the settings check (health: health.ts). */
import { Type } from '@sinclair/typebox'
import { route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { checkSettings, listSettings, updateSettings } from '../services/settings.ts'
import { actorOf } from '../services/audit.ts'

export const SettingsPut = Type.Object(
  {
    values: Type.Record(
      Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$' }),
      Type.Union([Type.String({ maxLength: 10000 }), Type.Integer(), Type.Boolean(), Type.Null()]),
      { maxProperties: 100 },
    ),
  },
  { additionalProperties: false },
)

export function settingsRoutes(ctx: AppContext): Route[] {
  return [
    route({ method: 'GET', path: '/api/settings', access: 'viewer', handle: async () => ({ settings: await listSettings(ctx) }) }),
    route({ method: 'PUT', path: '/api/settings', access: 'admin', body: SettingsPut, handle: async ({ body, caller }) =>
      ({ settings: await updateSettings(ctx, body.values, actorOf(caller)) }) }),
    route({ method: 'GET', path: '/api/settings/check', access: 'viewer', handle: () => checkSettings(ctx) }),
  ]
}
