/**
 * A per-project cache of serialized read responses (the board's ticket list is read far more often
 * than it changes). Every write invalidates its projects synchronously after commit, so a client
 * always reads its own writes; other replicas' writes invalidate through the feed. A generation
 * counter per project keeps a read that raced a write from storing its stale result.
 */
import { createHash } from 'node:crypto'

export interface CachedBody {
  body: Buffer
  etag: string
}

export interface ReadCache {
  /** Returns the cached body, or computes, stores and returns it. */
  get(projectId: number, key: string, compute: () => Promise<unknown>): Promise<CachedBody>
  invalidate(projectId: number | null): void
}

const MAX_PROJECTS = 500

export function createReadCache(): ReadCache {
  const entries = new Map<number, Map<string, CachedBody>>()
  const generations = new Map<number, number>()
  return {
    async get(projectId, key, compute) {
      const hit = entries.get(projectId)?.get(key)
      if (hit) return hit
      const generation = generations.get(projectId) ?? 0
      const body = Buffer.from(JSON.stringify(await compute()))
      const entry = { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` }
      if ((generations.get(projectId) ?? 0) === generation) {
        if (entries.size >= MAX_PROJECTS && !entries.has(projectId)) entries.delete(entries.keys().next().value!)
        let forProject = entries.get(projectId)
        if (!forProject) entries.set(projectId, (forProject = new Map()))
        forProject.set(key, entry)
      }
      return entry
    },
    invalidate(projectId) {
      if (projectId === null) {
        for (const id of entries.keys()) generations.set(id, (generations.get(id) ?? 0) + 1)
        entries.clear()
        return
      }
      generations.set(projectId, (generations.get(projectId) ?? 0) + 1)
      entries.delete(projectId)
    },
  }
}
