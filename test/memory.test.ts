// Project memory on real PostgreSQL 15 (exact scan, no pgvector) and PGlite (pgvector): index 50
// documents with the fake embedding service, retrieve the right one in the top 3, delete it; the
// keyword fallback without an embedding service; a failing service; what gets indexed by itself;
// the agents' job-token twins.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { embed, start as startLlm, type FakeLlm } from './fixtures/fake-llm.ts'
import { vectorSearch } from '../core/services/memory-store.ts'
import { assertError } from './api-helpers.ts'
import { DB_KINDS, createRunnableProject, createTicket, startTestApp, stopOwnCluster, waitFor, type TestApp } from './helpers.ts'

/** 50 documents on distinct subjects, in the words a project would use. */
const SUBJECTS = [
  'invoice billing currency rounding', 'password reset email token', 'kanban board drag drop', 'docker container cgroup limits',
  'postgres connection pool exhaustion', 'oauth login github callback', 'webhook signature hmac verification', 'rate limiter token bucket',
  'pdf export fonts embedding', 'search index stemming language', 'image thumbnail resize cache', 'websocket reconnect heartbeat',
  'csv import delimiter detection', 'timezone daylight saving conversion', 'feature flag rollout percentage', 'audit log retention policy',
  'markdown rendering sanitizer xss', 'graphql schema pagination cursor', 'cron schedule overlapping runs', 's3 bucket multipart upload',
  'dark mode theme tokens', 'keyboard shortcuts accessibility focus', 'notification digest batching', 'two factor authentication totp',
  'chart axis logarithmic scale', 'translation plural rules locale', 'payment refund chargeback dispute', 'inventory stock reservation',
  'shipping label carrier api', 'coupon discount stacking rules', 'session cookie samesite secure', 'cors preflight allowed origins',
  'dns record propagation ttl', 'tls certificate renewal acme', 'memory leak event listeners', 'flaky test retry quarantine',
  'database migration rollback lock', 'grpc streaming backpressure', 'kafka consumer offset commit', 'redis cache eviction lru',
  'elastic autoscaling cpu threshold', 'mobile push notification badge', 'video transcoding bitrate ladder', 'geolocation distance haversine',
  'spreadsheet formula circular reference', 'email bounce complaint handling', 'sso saml assertion attributes', 'terraform state drift',
  'license key activation offline', 'changelog release notes generation',
]

const docs = () => SUBJECTS.map((subject, i) => ({
  kind: 'doc', ref: `doc-${i}`, title: `Design note ${i}: ${subject}`,
  content: `This note explains how the ${subject} works in our system and what to watch out for when changing it.`,
}))

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp; llm: FakeLlm; projectId: number }>(`memory (${kind})`)
  test.before(async (context) => {
    context.llm = await startLlm()
    context.t = await startTestApp({ kind })
    context.projectId = (await createRunnableProject(context.t)).id
  })
  test.after(async ({ t, llm }) => {
    await t.close()
    await llm.close()
  })

  const useEmbeddings = (t: TestApp, llm: FakeLlm | null) =>
    t.api('PUT', '/api/settings', { values: { EMBEDDING_SERVICE_URL: llm ? `${llm.url}/v1` : null, MEMORY_EMBEDDING_MODEL: llm ? 'fake-embed' : null } })

  test('index 50 docs, retrieve the right one in the top 3, delete it', async ({ t, llm, projectId }) => {
    await useEmbeddings(t, llm)
    const indexed = await t.api('POST', `/api/projects/${projectId}/memory/index`, { documents: docs() })
    assert.is(indexed.status, 201, JSON.stringify(indexed.body))
    assert.is(indexed.body.documents.length, 50)
    assert.ok(indexed.body.documents.every((d: any) => d.embedded))
    assert.equal(indexed.body.embedding, { model: 'fake-embed', dimensions: 256 })
    const queries: [string, number][] = [
      ['how do we verify the hmac signature of a webhook?', 6],
      ['connection pool exhaustion in postgres', 4],
      ['kafka consumer offset', 38],
      ['timezone daylight saving bug', 13],
    ]
    for (const [query, want] of queries) {
      const res = await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query, k: 3 })
      assert.is(res.status, 200, JSON.stringify(res.body))
      assert.is(res.body.mode, 'vector')
      assert.is(res.body.backend, kind === 'pglite' ? 'pgvector' : 'exact')
      assert.ok(res.body.results.length <= 3)
      assert.ok(res.body.results.some((r: any) => r.ref === `doc-${want}`), `${query} → ${JSON.stringify(res.body.results.map((r: any) => r.ref))}`)
      assert.ok(res.body.results[0].score >= res.body.results[res.body.results.length - 1].score)
    }
    // Every search method of this database ranks the same documents the same way.
    const query = embed('grpc streaming backpressure', 256)
    const methods = kind === 'pglite' ? (['pgvector', 'exact', 'exact-sql'] as const) : (['exact', 'exact-sql'] as const)
    const rankings = await Promise.all(methods.map((method) => vectorSearch(t.app.ctx, method, projectId, query, 'fake-embed', 5, null)))
    for (const ranking of rankings) {
      // Equal scores may come in any order; the scores themselves must agree.
      assert.is(ranking.length, 5)
      ranking.forEach((hit, i) => assert.ok(Math.abs(hit.score - rankings[0]![i]!.score) < 1e-4, `${hit.ref} ${hit.score}`))
      assert.is(ranking[0]!.ref, rankings[0]![0]!.ref)
    }
    assert.is(rankings[0]![0]!.ref, 'doc-37')
    const target = indexed.body.documents[6].id
    const deleted = await t.api('POST', `/api/projects/${projectId}/memory/delete`, { ids: [target] })
    assert.equal(deleted.body, { deleted: 1, ids: [target] })
    const after = await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: 'webhook signature hmac verification', k: 10 })
    assert.not.ok(after.body.results.some((r: any) => r.id === target))
    // Re-indexing a ref replaces the document instead of adding one.
    const again = await t.api('POST', `/api/projects/${projectId}/memory/index`, { documents: [{ kind: 'doc', ref: 'doc-4', content: 'pgbouncer now fronts the pool' }] })
    assert.is(again.body.documents[0].id, indexed.body.documents[4].id)
  })

  test('keyword fallback without an embedding service', async ({ t, projectId }) => {
    await useEmbeddings(t, null)
    const res = await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: 'Which carrier API prints shipping labels?', k: 3 })
    assert.is(res.status, 200, JSON.stringify(res.body))
    assert.is(res.body.mode, 'keyword')
    assert.is(res.body.results[0].ref, 'doc-28')
    const stemmed = await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: 'refunds and chargebacks', k: 3 })
    assert.is(stemmed.body.results[0].ref, 'doc-26', 'stemming matches refund/refunds')
    const added = await t.api('POST', `/api/projects/${projectId}/memory/index`, { documents: [{ title: 'Quokka', content: 'The quokka module counts marsupials' }] })
    assert.is(added.status, 201)
    assert.is(added.body.documents[0].embedded, false)
    assert.is(added.body.embedding, null)
    const found = await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: 'quokka', kinds: ['doc'] })
    assert.is(found.body.results[0].id, added.body.documents[0].id)
    const none = await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: '!!! ???' })
    assert.equal(none.body.results, [])
  })

  test('a failing embedding service: stored anyway, searched by keywords, with a warning', async ({ t, llm, projectId }) => {
    await t.api('PUT', '/api/settings', { values: { EMBEDDING_SERVICE_URL: 'http://127.0.0.1:9/v1' } })
    const indexed = await t.api('POST', `/api/projects/${projectId}/memory/index`, { documents: [{ content: 'The wombat importer reads burrow files' }] })
    assert.is(indexed.status, 201)
    assert.is(indexed.body.documents[0].embedded, false)
    assert.match(indexed.body.warning, /embedding service/)
    const res = await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: 'wombat burrow' })
    assert.is(res.status, 200)
    assert.is(res.body.mode, 'keyword')
    assert.match(res.body.warning, /fell back to keyword search/)
    assert.is(res.body.results[0].id, indexed.body.documents[0].id)
    // Once the service is back, the document is embedded by the backfill and found by meaning.
    await useEmbeddings(t, llm)
    const { backfillEmbeddings } = await import('../core/services/memory-store.ts')
    for (let i = 0; i < 20 && (await backfillEmbeddings(t.app.ctx)) > 0; i++);
    const vector = await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: 'wombat burrow files', k: 1 })
    assert.is(vector.body.mode, 'vector')
    assert.is(vector.body.results[0].id, indexed.body.documents[0].id)
  })

  test('bad requests are 400s, unknown projects 404', async ({ t, projectId }) => {
    assertError(await t.api('POST', `/api/projects/${projectId}/memory/index`, { documents: [] }), 400, '/body/documents')
    assertError(await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: '' }), 400, '/body/query')
    assertError(await t.api('POST', `/api/projects/${projectId}/memory/retrieve`, { query: 'x', k: 500 }), 400, '/body/k')
    assertError(await t.api('POST', `/api/projects/${projectId}/memory/delete`, {}), 400)
    assertError(await t.api('POST', '/api/projects/999999/memory/retrieve', { query: 'x' }), 404)
  })

  test('indexed by itself: project description, notes, finished ticket summaries', async ({ t, llm }) => {
    await useEmbeddings(t, llm)
    const project = await createRunnableProject(t, { description: 'A marketplace for vintage synthesizers' })
    await t.api('POST', `/api/projects/${project.id}/notes`, { title: 'Deploys', content: 'Deploys go out on Tuesdays through the blue-green pipeline' })
    const ticket = await createTicket(t, project.id, { title: 'Add escrow', column_id: 'in_progress' })
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id })
    await t.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/complete`, { summary: 'Escrow holds payments until the buyer confirms delivery' },
      { authorization: `Bearer ${claim.body.agent_token}` })
    const kindsFor = async (query: string) =>
      (await t.api('POST', `/api/projects/${project.id}/memory/retrieve`, { query, k: 1 })).body.results.map((r: any) => `${r.kind}:${r.ref}`)
    await waitFor(async () => (await kindsFor('vintage synthesizers marketplace'))[0] === 'project:project', 10000, 'the project description')
    await waitFor(async () => (await kindsFor('when do deploys go out'))[0]?.startsWith('note:'), 10000, 'the note')
    await waitFor(async () => (await kindsFor('escrow payments buyer delivery'))[0] === `ticket:ticket:${ticket.id}`, 10000, 'the ticket summary')

    // The agent's twins: its job token opens its own ticket's memory only.
    const auth = { authorization: `Bearer ${claim.body.agent_token}` }
    const base = `/api/projects/${project.id}/tickets/${ticket.id}/memory`
    const asAgent = await t.api('POST', `${base}/retrieve`, { query: 'deploy tuesday', k: 2 }, auth)
    assert.is(asAgent.status, 200, JSON.stringify(asAgent.body))
    assert.ok(asAgent.body.results.length > 0)
    // It writes its own `agent` entries only, under its ticket (test/security/machine-confinement.test.ts).
    assertError(await t.api('POST', `${base}/index`, { documents: [{ kind: 'doc', content: 'x' }] }, auth), 403, '/body/documents/0/kind')
    const written = await t.api('POST', `${base}/index`, { documents: [{ ref: 'escrow', content: 'Learned: the escrow table needs an index on buyer_id' }] }, auth)
    assert.is(written.status, 201)
    assert.equal(written.body.documents.map((d: any) => [d.kind, d.ref]), [['agent', `ticket:${ticket.id}/escrow`]])
    const other = await createTicket(t, project.id)
    assertError(await t.api('POST', `/api/projects/${project.id}/tickets/${other.id}/memory/retrieve`, { query: 'x' }, auth), 403)
  })

  test.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
