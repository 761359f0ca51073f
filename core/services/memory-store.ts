/**
 * Project memory: documents with embeddings, searched by meaning, or by keywords when no embedding
 * service is configured (or it fails: the answer then says so in `warning`).
 *
 * Search backends, chosen once per database at first use and logged:
 * - `pgvector` where `create extension vector` succeeds (PGlite ships it): the app adds an
 *   undimensioned `memory.embedding_vec vector` column and ranks with pgvector's inner product.
 *   An undimensioned column cannot carry an HNSW/IVFFlat index, so this is an exact scan too, but
 *   in C instead of SQL array arithmetic; any model's dimension works (compared per query).
 * - `exact` everywhere else (PostgreSQL without pgvector): dot products in JS over an in-process
 *   cache of the project's vectors (memory-scan.ts), or over `real[]` in SQL for a project too
 *   large to cache.
 * Vectors are stored at unit length, so every method ranks by cosine similarity.
 * Keyword search: PostgreSQL full text (`english` config, generated `tsv` column with a GIN index),
 * any of the query's words, ranked by ts_rank_cd. Same SQL on both databases.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import type { Database, Sql } from '../db/index.ts'
import { AppError, isAppError } from '../errors.ts'
import { embedTexts, embeddingConfig, type EmbeddingConfig } from './memory-embeddings.ts'
import { getProject } from './projects.ts'
import { bumpMemoryVersion, scanNearest } from './memory-scan.ts'

export type SearchBackend = 'pgvector' | 'exact'

const backends = new WeakMap<Database, Promise<SearchBackend>>()

/** Detects (once per database) whether pgvector can be used. */
export function searchBackend(ctx: AppContext): Promise<SearchBackend> {
  let backend = backends.get(ctx.db)
  if (!backend) {
    backend = detect(ctx)
    backends.set(ctx.db, backend)
  }
  return backend
}

async function detect(ctx: AppContext): Promise<SearchBackend> {
  try {
    await ctx.sql`create extension if not exists vector`
    await ctx.sql`alter table memory add column if not exists embedding_vec vector`
    // Rows stored before the column existed (or by a replica without pgvector).
    await ctx.sql`update memory set embedding_vec = embedding::vector where embedding is not null and embedding_vec is null`
    ctx.log.info('memory search: pgvector (exact scan, any dimension)')
    return 'pgvector'
  } catch (error) {
    ctx.log.info('memory search: exact cosine scan (pgvector is not available)', { reason: (error as Error).message })
    return 'exact'
  }
}

export interface MemoryDocInput {
  kind?: string
  ref?: string | null
  title?: string
  content: string
}

export interface IndexResult {
  documents: { id: number; kind: string; ref: string | null; embedded: boolean }[]
  embedding: { model: string; dimensions: number } | null
  warning?: string
}

/** The kind of memory an agent writes; the app's own kinds (project, ticket, note, review) and people's documents are not its to change. */
export const AGENT_MEMORY_KIND = 'agent'

/**
 * An agent's documents, confined to its own ticket: kind `agent` only (403 naming the field for any
 * other), and every `ref` namespaced `ticket:<id>/…`, so a job token can neither overwrite nor
 * replace another ticket's entries, the app's indexed sources or people's documents.
 */
export function confineToTicket(ticketId: number, docs: MemoryDocInput[]): MemoryDocInput[] {
  const prefix = `ticket:${ticketId}/`
  return docs.map((doc, i) => {
    const kind = doc.kind ?? AGENT_MEMORY_KIND
    if (kind !== AGENT_MEMORY_KIND) {
      throw new AppError('forbidden', 403, `an agent writes memory of kind "${AGENT_MEMORY_KIND}" only, not "${kind}"`, [
        { path: `/body/documents/${i}/kind`, message: `must be "${AGENT_MEMORY_KIND}"` },
      ])
    }
    const ref = doc.ref == null ? null : doc.ref.startsWith(prefix) ? doc.ref : prefix + doc.ref
    return { ...doc, kind, ref }
  })
}

const docText = (doc: { title?: string; content: string }) => (doc.title ? `${doc.title}\n\n${doc.content}` : doc.content)

/**
 * Stores documents (a `ref` replaces the project's document of the same kind and ref) with their
 * embeddings. When the embedding service fails, the documents are stored without (keyword search
 * finds them; the memory indexer embeds them later) and `warning` says why.
 */
export async function indexDocuments(ctx: AppContext, projectId: number, docs: MemoryDocInput[]): Promise<IndexResult> {
  await getProject(ctx.sql, projectId)
  const backend = await searchBackend(ctx)
  const config = await embeddingConfig(ctx)
  let vectors: number[][] | null = null
  let warning: string | undefined
  if (config) {
    try {
      vectors = await embedTexts(config, docs.map(docText))
    } catch (error) {
      if (!isAppError(error)) throw error
      warning = `${error.message}; stored without embeddings (keyword search only until re-embedded)`
    }
  }
  const documents = await write(ctx, async ({ tx, emit }) => {
    const out: IndexResult['documents'] = []
    for (const [i, doc] of docs.entries()) {
      const vector = vectors?.[i] ?? null
      const kind = doc.kind ?? 'doc'
      const ref = doc.ref ?? null
      const values = [projectId, kind, ref, doc.title ?? '', doc.content, vector, vector ? config!.model : null]
      const vec = backend === 'pgvector' ? ', embedding_vec' : ''
      const vecValue = backend === 'pgvector' ? ', $6::real[]::vector' : ''
      const [row] = await tx.unsafe(
        `insert into memory (project_id, kind, ref, title, content, embedding, embedding_model${vec})
         values ($1, $2, $3, $4, $5, $6::real[], $7${vecValue})
         on conflict (project_id, kind, ref) where ref is not null do update set
           title = excluded.title, content = excluded.content, embedding = excluded.embedding,
           embedding_model = excluded.embedding_model${backend === 'pgvector' ? ', embedding_vec = excluded.embedding_vec' : ''},
           updated_at = now()
         returning id`,
        values as never[],
      )
      out.push({ id: row!.id as number, kind, ref, embedded: vector !== null })
    }
    await bumpMemoryVersion(tx, projectId)
    await emit({ project_id: projectId, type: 'memory.updated', payload: { indexed: out.map((d) => d.id) } })
    return out
  })
  return {
    documents,
    embedding: vectors && config ? { model: config.model, dimensions: vectors[0]?.length ?? 0 } : null,
    ...(warning ? { warning } : {}),
  }
}

export interface RetrieveInput {
  query: string
  k?: number
  kinds?: string[]
}

export interface MemoryHit {
  id: number
  kind: string
  ref: string | null
  title: string
  content: string
  score: number
  updated_at: string
}

export interface RetrieveResult {
  mode: 'vector' | 'keyword'
  backend: SearchBackend | 'fulltext'
  results: MemoryHit[]
  warning?: string
}

/** The `k` documents closest to the query: by embedding when possible, else by keywords. */
export async function retrieveMemory(ctx: AppContext, projectId: number, input: RetrieveInput): Promise<RetrieveResult> {
  await getProject(ctx.sql, projectId)
  const k = input.k ?? 5
  const kinds = input.kinds?.length ? input.kinds : null
  const config = await embeddingConfig(ctx)
  let warning: string | undefined
  if (config) {
    try {
      const [vector] = await embedTexts(config, [input.query], 30000)
      const backend = await searchBackend(ctx)
      const results = await vectorSearch(ctx, backend, projectId, vector!, config.model, k, kinds)
      return { mode: 'vector', backend, results }
    } catch (error) {
      if (!isAppError(error)) throw error
      warning = `${error.message}; fell back to keyword search`
    }
  }
  const results = await keywordSearch(ctx.sql, projectId, input.query, k, kinds)
  return { mode: 'keyword', backend: 'fulltext', results, ...(warning ? { warning } : {}) }
}

const HIT_COLUMNS = 'id, kind, ref, title, content, updated_at'

/**
 * Nearest documents by embedding. `exact` scans the in-process vector cache (memory-scan.ts) and
 * falls back to `exact-sql` (a dot product over `real[]` in SQL) for projects too large to cache.
 */
export async function vectorSearch(
  ctx: AppContext, method: SearchBackend | 'exact-sql', projectId: number, vector: number[], model: string, k: number, kinds: string[] | null,
): Promise<MemoryHit[]> {
  if (method === 'exact') {
    const nearest = await scanNearest(ctx, projectId, vector, model, k, kinds)
    if (nearest) {
      if (!nearest.length) return []
      const rows = await ctx.sql.unsafe(`select ${HIT_COLUMNS} from memory where id = any($1::int[])`, [nearest.map((hit) => hit.id)] as never[])
      const byId = new Map(rows.map((row) => [row.id as number, row]))
      return nearest.flatMap((hit) => {
        const row = byId.get(hit.id)
        return row ? [{ ...(row as unknown as MemoryHit), score: hit.score }] : []
      })
    }
  }
  const params = [projectId, vector, model, vector.length, kinds, k]
  // Only vectors of the same model (and so the same dimension) are comparable.
  const where = `project_id = $1 and embedding_model = $3 and ($5::text[] is null or kind = any($5::text[]))`
  const rows =
    method === 'pgvector'
      ? await ctx.sql.unsafe(
          `select ${HIT_COLUMNS}, -(embedding_vec <#> $2::real[]::vector) as score from memory
           where ${where} and vector_dims(embedding_vec) = $4
           order by embedding_vec <#> $2::real[]::vector limit $6`,
          params as never[],
        )
      : await ctx.sql.unsafe(
          `select ${HIT_COLUMNS}, score from (
             select ${HIT_COLUMNS}, (select sum(a * b) from unnest(embedding, $2::real[]) as t(a, b)) as score
             from memory where ${where} and array_length(embedding, 1) = $4
           ) scored order by score desc, id desc limit $6`,
          params as never[],
        )
  return rows.map((row) => ({ ...(row as unknown as MemoryHit), score: Number(row.score) }))
}

/** Words of the query (letters, digits, underscore), at most 32, any of which may match. */
export function keywordQuery(text: string): string {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []
  return [...new Set(words)].slice(0, 32).join(' or ')
}

export async function keywordSearch(sql: Sql, projectId: number, text: string, k: number, kinds: string[] | null): Promise<MemoryHit[]> {
  const query = keywordQuery(text)
  if (!query) return []
  const rows = await sql.unsafe(
    `select ${HIT_COLUMNS}, ts_rank_cd(tsv, q) as score
     from memory, websearch_to_tsquery('english', $2) q
     where project_id = $1 and tsv @@ q and ($3::text[] is null or kind = any($3::text[]))
     order by score desc, id desc limit $4`,
    [projectId, query, kinds, k] as never[],
  )
  return rows.map((row) => ({ ...(row as unknown as MemoryHit), score: Number(row.score) }))
}

export interface DeleteInput {
  ids?: number[]
  kind?: string
  ref?: string
}

/** Deletes by ids, or by kind (and ref). Returns how many went. */
export async function deleteMemory(ctx: AppContext, projectId: number, input: DeleteInput): Promise<{ deleted: number; ids: number[] }> {
  await getProject(ctx.sql, projectId)
  return write(ctx, async ({ tx, emit }) => {
    const rows = await tx.unsafe(
      `delete from memory where project_id = $1
         and ($2::int[] is null or id = any($2::int[]))
         and ($3::text is null or kind = $3) and ($4::text is null or ref = $4)
       returning id`,
      [projectId, input.ids ?? null, input.kind ?? null, input.ref ?? null] as never[],
    )
    const ids = rows.map((row) => row.id as number)
    if (ids.length) await bumpMemoryVersion(tx, projectId)
    if (ids.length) await emit({ project_id: projectId, type: 'memory.updated', payload: { deleted: ids } })
    return { deleted: ids.length, ids }
  })
}

/**
 * Embeds up to `limit` documents that have no embedding of the configured model (stored while the
 * service was down, or before the model changed). Returns how many were embedded.
 */
export async function backfillEmbeddings(ctx: AppContext, limit = 64): Promise<number> {
  const config = await embeddingConfig(ctx)
  if (!config) return 0
  const rows = await ctx.sql`
    select id, project_id, title, content, updated_at::text as stamp from memory
    where embedding is null or embedding_model is distinct from ${config.model}
    order by id limit ${limit}`
  if (!rows.length) return 0
  const vectors = await embedTexts(config, rows.map((row) => docText(row as unknown as MemoryDocInput)))
  const backend = await searchBackend(ctx)
  const vec = backend === 'pgvector' ? ', embedding_vec = $2::real[]::vector' : ''
  let embedded = 0
  for (const [i, row] of rows.entries()) {
    // Unless the document changed meanwhile (its new text gets its own embedding). The stamp travels
    // as text: a timestamptz parameter would pass through a JS Date and lose its microseconds.
    const result = await ctx.sql.unsafe(`update memory set embedding = $2::real[], embedding_model = $3${vec} where id = $1 and updated_at = $4::text::timestamptz`,
      [row.id, vectors[i], config.model, row.stamp] as never[])
    embedded += result.count
  }
  for (const projectId of new Set(rows.map((row) => row.project_id as number))) await bumpMemoryVersion(ctx.sql, projectId)
  return embedded
}
