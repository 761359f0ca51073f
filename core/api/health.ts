/**
 * Health probes (public, for machines; docs/RUNBOOK.md "Health and metrics"):
 * - `GET /api/health/live`: liveness. The process answers HTTP; nothing else is checked, so a
 *   database outage never gets the app restarted by its supervisor.
 * - `GET /api/health` and `GET /api/health/ready`: readiness. The database answers within
 *   DB_PROBE_TIMEOUT_MS and has every migration this build ships; else 503 with `down` naming what
 *   is (`database`, `migrations`).
 * Every answer carries the build (version and commit), and says nothing a stranger could use: no
 * driver error text, no address. The caller is never looked up (`unauthenticated`): nothing but
 * the bounded check touches the database.
 */
import { route, Reply, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import type { DbProbe } from '../metrics/db-probe.ts'
import { BUILD } from '../version.ts'

export function healthRoutes(ctx: AppContext, probe: () => Promise<DbProbe>): Route[] {
  const build = { version: BUILD.version, commit: BUILD.commit, build: BUILD.id }
  const ready = async () => {
    const { database, migrations } = await probe()
    const down = [...(database.ok ? [] : ['database']), ...(database.ok && !migrations.ok ? ['migrations'] : [])]
    const body = { ok: down.length === 0, down, db: ctx.db.kind, ...build, checks: { database, migrations } }
    return new Reply(down.length ? 503 : 200, body, { 'cache-control': 'no-store' })
  }
  return [
    route({ method: 'GET', path: '/api/health', access: 'public', machine: true, unauthenticated: true, handle: ready }),
    route({ method: 'GET', path: '/api/health/ready', access: 'public', machine: true, unauthenticated: true, handle: ready }),
    route({ method: 'GET', path: '/api/health/live', access: 'public', machine: true, unauthenticated: true, handle: () => ({ ok: true, ...build }) }),
  ]
}
