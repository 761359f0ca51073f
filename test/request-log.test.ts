// The request log: one line per request at info (the default level) with method, route pattern,
// status, ms and the actor; the raw path, the query string, bearer tokens, cookies and the worker
// key never appear; an SSE stream is logged once, when it closes; probes are logged at debug.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveAppConfig } from '../core/config.ts'
import { startTestApp, waitFor, type TestApp } from './helpers.ts'
import { PROXIED, bearer, firstAdmin, openStream } from './people-helpers.ts'

const test = suite<{ t: TestApp; admin: Record<string, string> }>('request log')

test.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
  context.admin = await firstAdmin(context.t)
})
test.after(async ({ t }) => t.close())

type Line = Record<string, any>
const requestLines = (t: TestApp): Line[] => t.logs.map((line) => JSON.parse(line) as Line).filter((record) => record.msg === 'request')

/** Sends one request and returns the request lines it added (waits for the line written at close). */
async function logged(t: TestApp, send: () => Promise<unknown>, count = 1): Promise<Line[]> {
  const before = requestLines(t).length
  await send()
  await waitFor(async () => requestLines(t).length >= before + count, 3000, 'the request line')
  return requestLines(t).slice(before)
}

test('the default level is info, and a request logs one line at it', async ({ t, admin }) => {
  assert.is(resolveAppConfig({}).LOG_LEVEL, 'info')
  const created = await t.api('POST', '/api/projects', { name: 'logged', repo_url: 'https://git.example/repo.git' }, { ...admin, ...PROXIED })
  assert.is(created.status, 201, JSON.stringify(created.body))
  const project = created.body as { id: number }
  const lines = await logged(t, () => t.api('GET', `/api/projects/${project.id}?include=x&password=hunter2-query-secret`, undefined, { ...admin, ...PROXIED }))
  assert.is(lines.length, 1, JSON.stringify(lines))
  const [line] = lines
  assert.is(line!.level, 'info')
  assert.is(line!.method, 'GET')
  assert.is(line!.route, '/api/projects/:id')
  assert.is(line!.status, 200)
  assert.type(line!.ms, 'number')
  assert.is(line!.actor, 'person')
  assert.is(line!.actor_id, 'root')
  const text = JSON.stringify(line)
  assert.not.ok(text.includes('hunter2-query-secret'), 'no query string')
  assert.not.ok(text.includes(`/api/projects/${project.id}`), 'no raw path')
  assert.not.ok(text.includes(admin.cookie!.split('=')[1]!), 'no session cookie')
})

test('bearer tokens, cookies and the worker key never appear; machines are named by credential id', async ({ t, admin }) => {
  const created = await t.api('POST', '/api/tokens', { name: 'ci' }, { ...admin, ...PROXIED })
  assert.is(created.status, 201, JSON.stringify(created.body))
  const token = created.body.token as string
  const byToken = await logged(t, () => t.api('GET', '/api/projects', undefined, { ...bearer(token), ...PROXIED }))
  assert.is(byToken[0]!.actor, 'person')
  assert.is(byToken[0]!.actor_id, 'root')
  const refused = await logged(t, () => t.api('GET', '/api/projects', undefined, { ...bearer('tpa_not-a-real-token-but-shaped-like-one'), ...PROXIED }))
  assert.is(refused[0]!.status, 401)
  assert.is(refused[0]!.actor, 'anonymous')
  const worker = await logged(t, () => t.api('POST', '/api/worker/jobs/start', {}))
  assert.is(worker[0]!.route, '/api/worker/jobs/start')
  assert.is(worker[0]!.actor, 'worker')
  assert.is(worker[0]!.actor_id, 'worker-key')
  const all = t.logs.join('\n')
  for (const secret of [token, t.workerKey, admin.cookie!.split('=')[1]!, 'tpa_not-a-real-token']) {
    assert.not.ok(all.includes(secret), `${secret.slice(0, 6)}… is not in the log`)
  }
})

test('what no route answers: `unmatched` with its status; anonymous callers', async ({ t }) => {
  const lines = await logged(t, () => t.api('GET', '/api/no-such-thing/123?token=abc'))
  assert.is(lines[0]!.route, 'unmatched')
  assert.is(lines[0]!.status, 404)
  assert.is(lines[0]!.actor, 'anonymous')
  assert.not.ok(JSON.stringify(lines[0]).includes('no-such-thing'))
})

test('an SSE stream is logged once, when it closes', async ({ t, admin }) => {
  const before = requestLines(t).length
  const stream = await openStream(t, { ...admin, ...PROXIED })
  assert.is(stream.status, 200)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.is(requestLines(t).filter((line, i) => i >= before && line.route === '/api/events').length, 0, 'not while open')
  stream.close()
  await stream.ended
  const line = await waitFor(async () => requestLines(t).slice(before).find((record) => record.route === '/api/events'), 3000, 'the stream line')
  assert.is(line.stream, true)
  assert.is(line.status, 200)
  assert.is(line.actor, 'person')
  assert.is(requestLines(t).slice(before).filter((record) => record.route === '/api/events').length, 1)
})

test('health probes are logged at debug, not info', async ({ t }) => {
  const lines = await logged(t, () => t.api('GET', '/api/health'))
  assert.is(lines[0]!.route, '/api/health')
  assert.is(lines[0]!.level, 'debug')
})

test.run()
