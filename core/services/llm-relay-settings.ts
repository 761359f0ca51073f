/**
 * The settings the LLM relay reads on every call (upstream URLs, keys, DIRECTOR_MAX_TOKENS), cached
 * for at most `TTL_MS`. Every committed write publishes on the bus's `feed` channel (a settings
 * change among them; other replicas' writes arrive through NOTIFY), and any feed message drops the
 * cache, so a change is seen by the next call; the TTL bounds what a missed notification can cost.
 * The read in flight is what is cached, so callers arriving together share one query.
 */
import type { AppContext } from '../context.ts'
import { resolveProjectSettings } from './project-settings-resolve.ts'

const TTL_MS = 1000

interface Cached {
  value: Promise<Record<string, string>> | undefined
  readAt: number
}

const caches = new WeakMap<AppContext, Map<number, Cached>>()

/**
 * Effective settings of the job's project with secrets decrypted: its own before the app's, a key
 * the same-level rule withholds absent (project-settings-resolve.ts), so the relay never sends the
 * app's key to a URL a project set.
 */
export function relaySettings(ctx: AppContext, projectId: number): Promise<Record<string, string>> {
  let projects = caches.get(ctx)
  if (!projects) {
    const fresh = new Map<number, Cached>()
    ctx.bus.subscribe('feed', () => fresh.clear())
    caches.set(ctx, (projects = fresh))
  }
  let cached = projects.get(projectId)
  if (!cached) projects.set(projectId, (cached = { value: undefined, readAt: 0 }))
  if (cached.value && Date.now() - cached.readAt < TTL_MS) return cached.value
  const value = resolveProjectSettings(ctx, projectId).then((resolved) => resolved.values)
  const entry = cached
  entry.value = value
  entry.readAt = Date.now()
  value.catch(() => {
    if (entry.value === value) entry.value = undefined
  })
  return value
}
