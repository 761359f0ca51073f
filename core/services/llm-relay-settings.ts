/**
 * The settings the LLM relay reads on every call (upstream URLs, keys, DIRECTOR_MAX_TOKENS), cached
 * for at most `TTL_MS`. Every committed write publishes on the bus's `feed` channel (a settings
 * change among them; other replicas' writes arrive through NOTIFY), and any feed message drops the
 * cache, so a change is seen by the next call; the TTL bounds what a missed notification can cost.
 * The read in flight is what is cached, so callers arriving together share one query.
 */
import type { AppContext } from '../context.ts'
import { resolveSettings } from './settings.ts'

const TTL_MS = 1000

interface Cached {
  value: Promise<Record<string, string>> | undefined
  readAt: number
}

const caches = new WeakMap<AppContext, Cached>()

/** Effective settings with secrets decrypted, as `resolveSettings` returns them. */
export function relaySettings(ctx: AppContext): Promise<Record<string, string>> {
  let cached = caches.get(ctx)
  if (!cached) {
    const fresh: Cached = { value: undefined, readAt: 0 }
    ctx.bus.subscribe('feed', () => (fresh.value = undefined))
    caches.set(ctx, (cached = fresh))
  }
  if (cached.value && Date.now() - cached.readAt < TTL_MS) return cached.value
  const value = resolveSettings(ctx)
  const entry = cached
  entry.value = value
  entry.readAt = Date.now()
  value.catch(() => {
    if (entry.value === value) entry.value = undefined
  })
  return value
}
