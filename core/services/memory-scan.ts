/**
 * Exact cosine search in JS where pgvector is missing. An exact scan in SQL over `real[]` (unnest
 * and sum per row) measured ≈300 ms for 10,000 documents of 256 dimensions on this machine's
 * PostgreSQL 15; the same dot products over a Float32Array take a few milliseconds. So each app
 * process keeps a project's vectors in memory, stamped with `memory_versions.version`, which every
 * memory write bumps in its transaction: a query reads the version first (one indexed row), and
 * reloads the project when it moved, so any replica's change is seen by the next query. The stamp
 * is read before the rows, so a cache can only be newer than its stamp, never older.
 *
 * The cache holds at most CACHE_BYTES of vectors (least recently used projects leave first); a
 * project larger than that is scanned in SQL instead.
 */
import type { AppContext } from '../context.ts'
import type { Database, Sql, TransactionSql } from '../db/index.ts'

const CACHE_BYTES = 64 * 1024 * 1024

interface Entry {
  version: number
  ids: Int32Array
  kinds: string[]
  vectors: Float32Array
  dims: number
  bytes: number
  usedAt: number
}

const caches = new WeakMap<Database, Map<string, Entry>>()

/** Records a change of the project's memory; call inside the writing transaction. */
export async function bumpMemoryVersion(tx: TransactionSql | Sql, projectId: number): Promise<void> {
  await tx`
    insert into memory_versions (project_id, version) values (${projectId}, 1)
    on conflict (project_id) do update set version = memory_versions.version + 1`
}

/**
 * The ids and scores of the `k` stored vectors closest to `vector` (unit length), or null when the
 * project's vectors do not fit the cache (the caller scans in SQL then).
 */
export async function scanNearest(
  ctx: AppContext, projectId: number, vector: number[], model: string, k: number, kinds: string[] | null,
): Promise<{ id: number; score: number }[] | null> {
  const entry = await load(ctx, projectId, model, vector.length)
  if (!entry) return null
  const wanted = kinds ? new Set(kinds) : null
  const query = Float32Array.from(vector)
  const { dims, vectors, ids } = entry
  // Top k by insertion into a small sorted list: k ≤ 50, so cheaper than sorting every score.
  const top: { id: number; score: number }[] = []
  for (let row = 0; row < ids.length; row++) {
    if (wanted && !wanted.has(entry.kinds[row]!)) continue
    let dot = 0
    const offset = row * dims
    for (let d = 0; d < dims; d++) dot += vectors[offset + d]! * query[d]!
    if (top.length === k && dot <= top[k - 1]!.score) continue
    let at = top.length === k ? k - 1 : top.length
    if (top.length < k) top.push({ id: 0, score: 0 })
    while (at > 0 && top[at - 1]!.score < dot) {
      top[at] = top[at - 1]!
      at--
    }
    top[at] = { id: ids[row]!, score: dot }
  }
  return top
}

async function load(ctx: AppContext, projectId: number, model: string, dims: number): Promise<Entry | null> {
  let cache = caches.get(ctx.db)
  if (!cache) caches.set(ctx.db, (cache = new Map()))
  const key = `${projectId}|${model}|${dims}`
  const [stamp] = await ctx.sql`select version from memory_versions where project_id = ${projectId}`
  const version = (stamp?.version as number | undefined) ?? 0
  const cached = cache.get(key)
  if (cached && cached.version === version) {
    cached.usedAt = Date.now()
    return cached
  }
  cache.delete(key)
  const [{ n }] = (await ctx.sql`
    select count(*)::int as n from memory where project_id = ${projectId} and embedding_model = ${model}`) as unknown as [{ n: number }]
  const bytes = n * dims * 4
  if (bytes > CACHE_BYTES) return null
  const rows = await ctx.sql`
    select id, kind, embedding from memory
    where project_id = ${projectId} and embedding_model = ${model} and array_length(embedding, 1) = ${dims}`
  const entry: Entry = {
    version,
    ids: new Int32Array(rows.length),
    kinds: new Array(rows.length),
    vectors: new Float32Array(rows.length * dims),
    dims,
    bytes: rows.length * dims * 4,
    usedAt: Date.now(),
  }
  rows.forEach((row, i) => {
    entry.ids[i] = row.id as number
    entry.kinds[i] = row.kind as string
    entry.vectors.set((row.embedding as (number | string)[]).map(Number), i * dims)
  })
  evict(cache, CACHE_BYTES - entry.bytes)
  cache.set(key, entry)
  return entry
}

/** Drops least recently used entries until the cache holds at most `budget` bytes. */
function evict(cache: Map<string, Entry>, budget: number): void {
  let total = [...cache.values()].reduce((sum, entry) => sum + entry.bytes, 0)
  const byAge = [...cache.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt)
  for (const [key, entry] of byAge) {
    if (total <= budget) break
    cache.delete(key)
    total -= entry.bytes
  }
}
