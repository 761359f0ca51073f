/**
 * API read benchmark (DESIGN §10): `GET /api/projects/:id/tickets` (the board's data) for a board of
 * 200 tickets, 50 concurrent keep-alive connections from a separate process, on real PostgreSQL
 * and on PGlite. Prints req/s, p50 and p99.
 *   npm run bench -- test/bench/api-board.ts [seconds=10]
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createRunnableProject, ROOT, startTestApp, stopOwnCluster, type DbKind } from '../helpers.ts'

const SECONDS = process.argv[2] ?? '10'

for (const kind of ['postgres', 'pglite'] as DbKind[]) {
  const t = await startTestApp({ kind, env: { DB_POOL_SIZE: '20', LOG_LEVEL: 'error' } })
  try {
    const project = await createRunnableProject(t)
    const columns = ['backlog', 'in_review', 'done']
    for (let i = 0; i < 200; i++) {
      await t.api('POST', `/api/projects/${project.id}/tickets`, {
        title: `Ticket ${i}: make the thing better`,
        description: 'A realistic description of a few sentences. '.repeat(4),
        column_id: columns[i % columns.length],
        priority: (['low', 'medium', 'high'] as const)[i % 3],
      })
    }
    const url = `${t.url}/api/projects/${project.id}/tickets`
    // Async: the app answers from this very process, so a blocking spawn would starve it.
    const out = await promisify(execFile)(process.execPath, ['--import', './scripts/ts-register.mjs', 'test/bench/load.ts', url, '50', SECONDS], { cwd: ROOT })
    const result = JSON.parse(out.stdout.trim().split('\n').pop()!)
    console.log(`${kind}: GET board (200 tickets), 50 connections, ${SECONDS} s: ${result.rps} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, errors ${result.errors}`)
  } finally {
    await t.close()
  }
}
await stopOwnCluster()
