/**
 * Memory retrieval latency for 10,000 stored documents (256-dimension embeddings from the fake
 * embedding service), on real PostgreSQL (exact cosine scan in SQL: no pgvector there) and on PGlite
 * (pgvector), each with the other exact scans for comparison. Prints p50/p99 of:
 * - `POST …/memory/retrieve` over HTTP (embeds the query through the fake service, then searches);
 * - the search alone: pgvector, `exact` (JS over the in-process vector cache), `exact-sql` (dot
 *   product over real[] in SQL), `exact` right after a write (cache reload); the keyword search alone.
 *   npm run bench -- test/bench/memory-retrieval.ts [docs=10000] [queries=200]
 */
import { start as startLlm } from '../fixtures/fake-llm.ts'
import { embed } from '../fixtures/fake-llm/embeddings.ts'
import { createRunnableProject, startTestApp, stopOwnCluster, type DbKind } from '../helpers.ts'
import { keywordSearch, searchBackend, vectorSearch, type SearchBackend } from '../../core/services/memory-store.ts'

const DOCS = Number(process.argv[2] ?? 10000)
const QUERIES = Number(process.argv[3] ?? 200)
const DIMENSIONS = 256

// A deterministic vocabulary of 3,000 made-up words and documents of 40 of them.
let seed = 42
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
const syllables = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vek', 'dor', 'pli', 'an', 'gro', 'ze', 'qui', 'mos', 'ter', 'bal']
const vocabulary = Array.from({ length: 3000 }, (_, i) => `${syllables[i % 16]}${syllables[(i >> 4) % 16]}${syllables[(i >> 8) % 16]}${i}`)
const sentence = (n: number) => Array.from({ length: n }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(' ')

function percentiles(samples: number[]) {
  const sorted = samples.slice().sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return `p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms`
}

async function measure(run: (i: number) => Promise<unknown>): Promise<string> {
  for (let i = 0; i < 5; i++) await run(i) // warm-up
  const samples: number[] = []
  for (let i = 0; i < QUERIES; i++) {
    const started = performance.now()
    await run(i)
    samples.push(performance.now() - started)
  }
  return percentiles(samples)
}

const llm = await startLlm({ embeddingDimensions: DIMENSIONS })
try {
  for (const kind of ['postgres', 'pglite'] as DbKind[]) {
    const t = await startTestApp({ kind, env: { EMBEDDING_SERVICE_URL: `${llm.url}/v1`, MEMORY_EMBEDDING_MODEL: 'fake-embed', LOG_LEVEL: 'error' } })
    try {
      const project = await createRunnableProject(t)
      const docs = Array.from({ length: DOCS }, (_, i) => ({ kind: 'doc', ref: `d${i}`, title: sentence(4), content: sentence(40) }))
      const loadStarted = performance.now()
      for (let i = 0; i < docs.length; i += 500) {
        const res = await t.api('POST', `/api/projects/${project.id}/memory/index`, { documents: docs.slice(i, i + 500) })
        if (res.status !== 201) throw new Error(`index failed: ${res.status} ${JSON.stringify(res.body)}`)
      }
      const loadSeconds = (performance.now() - loadStarted) / 1000
      // Queries: 6 words of a stored document, so each has a right answer.
      const queries = Array.from({ length: 64 }, (_, i) => docs[(i * 157) % DOCS]!.content.split(' ').slice(0, 6).join(' '))
      const vectors = queries.map((q) => embed(q, DIMENSIONS))
      const backend = await searchBackend(t.app.ctx)
      let hits = 0
      const http = await measure(async (i) => {
        const res = await t.api('POST', `/api/projects/${project.id}/memory/retrieve`, { query: queries[i % queries.length], k: 5 })
        if (res.body.results?.[0]?.ref === `d${((i % queries.length) * 157) % DOCS}`) hits++
      })
      console.log(`${kind}: ${DOCS} docs indexed in ${loadSeconds.toFixed(1)} s; search backend ${backend}`)
      console.log(`${kind}: retrieve over HTTP (query embedding + ${backend} search), k=5: ${http}; right doc first in ${hits}/${QUERIES + 5}`)
      const methods: (SearchBackend | 'exact-sql')[] = backend === 'pgvector' ? ['pgvector', 'exact', 'exact-sql'] : ['exact', 'exact-sql']
      for (const method of methods) {
        const line = await measure((i) => vectorSearch(t.app.ctx, method, project.id, vectors[i % vectors.length]!, 'fake-embed', 5, null))
        console.log(`${kind}: ${method} search alone, k=5: ${line}`)
      }
      // The in-process cache reloads after a write: the first query after one pays for it.
      const reload = await measure(async (i) => {
        await t.app.ctx.sql`update memory_versions set version = version + 1 where project_id = ${project.id}`
        await vectorSearch(t.app.ctx, 'exact', project.id, vectors[i % vectors.length]!, 'fake-embed', 5, null)
      })
      console.log(`${kind}: exact search right after a write (cache reload), k=5: ${reload}`)
      const keyword = await measure((i) => keywordSearch(t.app.ctx.sql, project.id, queries[i % queries.length]!, 5, null))
      console.log(`${kind}: keyword (full-text) search alone, k=5: ${keyword}`)
    } finally {
      await t.close()
    }
  }
} finally {
  await llm.close()
  await stopOwnCluster()
}
