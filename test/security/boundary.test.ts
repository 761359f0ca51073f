// The browser boundary (docs/SECURITY.md), table-driven over the API on real PostgreSQL 15 and on
// PGlite: foreign Host → 421 before routing (machine routes exempt), state changes that are not
// JSON → 415, cross-site Origin / Sec-Fetch-Site → 403, nothing written by a refused request, and
// the security headers on every answer. Then the configuration: PUBLIC_URL, ALLOWED_HOSTS and the
// off-loopback start check.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DB_KINDS, ROOT, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from '../helpers.ts'
import { snapshotTables } from '../api-helpers.ts'
import { resolveAppConfig } from '../../core/config.ts'
import { startApp } from '../../core/app.ts'
import { createLogger } from '../../core/log.ts'
import { assertSecurityHeaders, raw, type RawAnswer } from './boundary-helpers.ts'

const WORKER_KEY = 'boundary-worker-key-0123'
const ADMIN_TOKEN = 'boundary-admin-token-0123'
const JSON_TYPE = { 'content-type': 'application/json' }
const project = () => JSON.stringify({ name: `b-${Math.random().toString(36).slice(2, 8)}`, repo_url: 'https://git.example/repo.git', setup_command: 'touch /tmp/pwned' })

function refused(answer: RawAnswer, status: number, code: string, note: string): void {
  assert.is(answer.status, status, `${note}: ${answer.status} ${JSON.stringify(answer.body)}`)
  assert.is(answer.body?.error?.code, code, note)
  assertSecurityHeaders(answer.headers, note)
}

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp; port: number; pid: number; tid: number }>(`browser boundary on loopback (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind, env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY } })
    context.port = Number(new URL(context.t.url).port)
    context.pid = (await createRunnableProject(context.t)).id
    context.tid = (await createTicket(context.t, context.pid)).id
  })
  test.after(async ({ t }) => t.close())

  test('a foreign Host is refused with 421 on people routes and unknown paths, before anything runs', async ({ t, port }) => {
    const before = await snapshotTables(t)
    const foreign = ['attacker.test', `attacker.test:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1', `localhost`, `0.0.0.0:${port}`, `localhost.:${port}`,
      `127.0.0.1.nip.io:${port}`, `evil@127.0.0.1:${port}`, `[::ffff:127.0.0.1]:${port}`]
    const requests: [string, string, string?][] = [
      ['GET', '/api/projects'], ['GET', '/api/settings'], ['GET', '/api/events'], ['GET', '/'], ['GET', '/nope'],
      ['POST', '/api/projects', project()], ['PUT', '/api/settings', JSON.stringify({ values: { WORKER_MODE: 'codex' } })],
    ]
    for (const host of foreign) {
      for (const [method, path, body] of requests) {
        const answer = await raw(t.url, path, { method, headers: { host, ...(body ? JSON_TYPE : {}) }, ...(body ? { body } : {}) })
        refused(answer, 421, 'misdirected_request', `${method} ${path} Host ${JSON.stringify(host)}`)
      }
    }
    assert.equal(await snapshotTables(t), before, 'nothing written')
  })

  test('the loopback names at the bound port are this app', async ({ t, port }) => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`, `127.0.0.2:${port}`]) {
      const answer = await raw(t.url, '/api/projects', { headers: { host } })
      assert.is(answer.status, 200, `Host ${host}`)
    }
  })

  test('machine routes answer whatever the Host: agents reach the app as host.docker.internal', async ({ t, pid, port }) => {
    const host = `host.docker.internal:${port}`
    const health = await raw(t.url, '/api/health', { headers: { host: 'attacker.test' } })
    assert.is(health.status, 200)
    assertSecurityHeaders(health.headers, 'health')
    const worker = { host, authorization: `Bearer ${WORKER_KEY}`, ...JSON_TYPE }
    await createTicket(t, pid, { column_id: 'in_progress' })
    const claim = await raw(t.url, '/api/worker/jobs/start', { method: 'POST', headers: worker, body: JSON.stringify({ project_id: pid, coordinator_id: 'c1' }) })
    assert.is(claim.status, 200, JSON.stringify(claim.body))
    const agent = { host, authorization: `Bearer ${claim.body.agent_token}` }
    const context = await raw(t.url, `/api/projects/${pid}/tickets/${claim.body.ticket_id}/worker-context`, { headers: agent })
    assert.is(context.status, 200, JSON.stringify(context.body))
    // A machine route is not held to the browser's Content-Type rule (its body reader decides).
    const beat = await raw(t.url, `/api/worker/jobs/${claim.body.job_id}/heartbeat`, { method: 'POST', headers: worker, body: JSON.stringify({ coordinator_id: 'c1', claim_seq: claim.body.claim_seq }) })
    assert.is(beat.status, 200, JSON.stringify(beat.body))
    const hook = await raw(t.url, '/api/webhooks/github', { method: 'POST', headers: { host: 'hooks.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'payload=%7B%7D' })
    assert.ok(hook.status !== 421 && hook.status < 500, `webhook: ${hook.status}`)
    await raw(t.url, `/api/worker/jobs/${claim.body.job_id}/fail`, { method: 'POST', headers: worker, body: JSON.stringify({ coordinator_id: 'c1', claim_seq: claim.body.claim_seq, error: 'done here' }) })
  })

  test('a state change that is not JSON is refused with 415, with or without a body', async ({ t, pid, tid }) => {
    const before = await snapshotTables(t)
    for (const type of [undefined, 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'text/json', '']) {
      const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type }
      const cases: [string, string, string?][] = [
        ['POST', '/api/projects', project()],
        ['POST', `/api/projects/${pid}/tickets`, JSON.stringify({ title: 'x', column_id: 'in_progress' })],
        ['PATCH', `/api/projects/${pid}/tickets/${tid}`, JSON.stringify({ column_id: 'in_progress' })],
        ['PUT', '/api/settings', JSON.stringify({ values: { WORKER_MODE: 'codex' } })],
        ['POST', `/api/projects/${pid}/tickets/${tid}/run`],
        ['DELETE', `/api/projects/${pid}/tickets/${tid}`],
        ['DELETE', `/api/projects/${pid}?confirm=x`],
      ]
      for (const [method, path, body] of cases) {
        const answer = await raw(t.url, path, { method, headers, ...(body ? { body } : {}) })
        refused(answer, 415, 'unsupported_media_type', `${method} ${path} content-type ${JSON.stringify(type)}`)
        assert.is(answer.body.error.details[0]?.path, '/headers/content-type')
      }
    }
    assert.equal(await snapshotTables(t), before, 'nothing written')
    const ok = await raw(t.url, '/api/projects', { method: 'POST', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: project() })
    assert.is(ok.status, 201, 'JSON with parameters is JSON')
  })

  test('Origin and Sec-Fetch-Site from another site are refused with 403; this app and scripts pass', async ({ t, port }) => {
    const self = `http://127.0.0.1:${port}`
    const before = await snapshotTables(t)
    const refusedHeaders: Record<string, string>[] = [
      { origin: 'http://attacker.test' },
      { origin: 'null' },
      { origin: `http://127.0.0.1:${port + 1}` },
      { origin: `http://localhost:${port}` },
      { origin: `${self}.attacker.test` },
      { origin: 'file://' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'cross-site', origin: self },
      { 'sec-fetch-site': 'same-site', origin: `http://localhost:3000` },
      { 'sec-fetch-site': 'same-site' },
    ]
    for (const extra of refusedHeaders) {
      for (const [method, path] of [['POST', '/api/projects'], ['PUT', '/api/settings']] as const) {
        const body = path === '/api/projects' ? project() : JSON.stringify({ values: { WORKER_MODE: 'codex' } })
        const answer = await raw(t.url, path, { method, headers: { ...JSON_TYPE, ...extra }, body })
        refused(answer, 403, 'forbidden', `${method} ${path} ${JSON.stringify(extra)}`)
      }
    }
    assert.equal(await snapshotTables(t), before, 'nothing written')
    const passing: Record<string, string>[] = [{ origin: self, 'sec-fetch-site': 'same-origin' }, { origin: `https://127.0.0.1:${port}` }, {}, { 'sec-fetch-site': 'none' }]
    for (const extra of passing) {
      const answer = await raw(t.url, '/api/projects', { method: 'POST', headers: { ...JSON_TYPE, ...extra }, body: project() })
      assert.is(answer.status, 201, `${JSON.stringify(extra)}: ${JSON.stringify(answer.body)}`)
    }
    // Reads are left to the same-origin policy: no CORS header ever lets another site read them.
    const read = await raw(t.url, '/api/settings', { headers: { origin: 'http://attacker.test', 'sec-fetch-site': 'cross-site' } })
    assert.is(read.headers['access-control-allow-origin'], undefined)
  })

  test('every answer carries the security headers: JSON, errors, SSE', async ({ t }) => {
    assertSecurityHeaders((await raw(t.url, '/api/projects')).headers, 'GET /api/projects')
    assertSecurityHeaders((await raw(t.url, '/api/nope')).headers, '404')
    assertSecurityHeaders((await raw(t.url, '/api/projects', { method: 'OPTIONS' })).headers, '405')
    const sse = await raw(t.url, '/api/events', { headersOnly: true })
    assert.is(sse.status, 200)
    assert.match(String(sse.headers['content-type']), /^text\/event-stream/)
    assertSecurityHeaders(sse.headers, 'SSE')
  })

  test.run()
}

const config = suite('browser boundary configuration')

async function startError(env: Record<string, string>): Promise<any> {
  const dataDir = mkdtempSync(join(tmpdir(), 'terarchitect-boundary-'))
  try {
    const app = await startApp({ config: resolveAppConfig({ PORT: '0', TERARCHITECT_DATA_DIR: dataDir, LOG_LEVEL: 'error', ...env }), migrationsDir: join(ROOT, 'sql'), log: createLogger('error') })
    await app.close()
    return undefined
  } catch (error) {
    return error
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

config('a bad PUBLIC_URL, ALLOWED_HOSTS or TRUST_PROXY stops the start, naming the variable', async () => {
  const cases: [string, string][] = [
    ['PUBLIC_URL', 'not a url'], ['PUBLIC_URL', 'ftp://files.example'], ['PUBLIC_URL', 'https://team.example/terarchitect'],
    ['PUBLIC_URL', 'https://user:pass@team.example'], ['PUBLIC_URL', 'https://team.example/?a=1'],
    ['ALLOWED_HOSTS', 'team.example, two words'], ['ALLOWED_HOSTS', 'http://team.example'], ['ALLOWED_HOSTS', 'team.example/x'],
    ['TRUST_PROXY', 'proxy.example'], ['TRUST_PROXY', '10.0.0.0/33'], ['TRUST_PROXY', '10.0.0.1/'], ['TRUST_PROXY', '::1/129'], ['TRUST_PROXY', '10.0.0.0/8/8'],
  ]
  for (const [name, value] of cases) {
    const error = await startError({ [name]: value })
    assert.ok(error, `${name}=${value} must refuse to start`)
    assert.is(error.status, 400, `${name}=${value}: ${error.message}`)
    assert.match(error.message, name)
    assert.is(error.details[0].path, name)
  }
})

config('off loopback the app will not start without PUBLIC_URL or ALLOWED_HOSTS, naming both', async () => {
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
    const error = await startError({ HOST: host, TERARCHITECT_ADMIN_TOKEN: ADMIN_TOKEN, TERARCHITECT_WORKER_API_KEY: WORKER_KEY })
    assert.ok(error, host)
    assert.is(error.code, 'insecure_bind')
    assert.match(error.message, /PUBLIC_URL/)
    assert.match(error.message, /ALLOWED_HOSTS/)
  }
})

config.run()

for (const kind of DB_KINDS) {
  const off = suite<{ t: TestApp; port: number }>(`browser boundary off loopback with PUBLIC_URL and ALLOWED_HOSTS (${kind})`)
  off.before(async (context) => {
    context.t = await startTestApp({ kind, env: {
      HOST: '0.0.0.0', TERARCHITECT_ADMIN_TOKEN: ADMIN_TOKEN, TERARCHITECT_WORKER_API_KEY: WORKER_KEY,
      PUBLIC_URL: 'https://terarchitect.test', ALLOWED_HOSTS: 'team.test, 10.1.2.3:8080',
    } })
    context.port = Number(new URL(context.t.url).port)
  })
  off.after(async ({ t }) => t.close())

  off('only the names of PUBLIC_URL and ALLOWED_HOSTS are this app', async ({ t, port }) => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
    for (const host of ['terarchitect.test', 'terarchitect.test:443', 'TERARCHITECT.test', 'team.test', `team.test:${port}`, 'team.test:1', '10.1.2.3:8080']) {
      assert.is((await raw(t.url, '/api/projects', { headers: { host, ...admin } })).status, 200, host)
      assert.is((await raw(t.url, '/api/projects', { headers: { host } })).status, 401, `${host}: past the boundary, anonymous is not local`)
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'terarchitect.test:8443', 'terarchitect.test.attacker.test', '10.1.2.3', '10.1.2.3:8081', 'attacker.test']) {
      refused(await raw(t.url, '/api/projects', { headers: { host, ...admin } }), 421, 'misdirected_request', host)
    }
    assert.is((await raw(t.url, '/api/health', { headers: { host: `127.0.0.1:${port}` } })).status, 200, 'probes still reach the health route')
  })

  off('the origin of PUBLIC_URL (behind a TLS proxy) and of the Host itself may change state; others may not', async ({ t }) => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, ...JSON_TYPE }
    const pass: Record<string, string>[] = [
      { host: 'terarchitect.test', origin: 'https://terarchitect.test', 'sec-fetch-site': 'same-origin' },
      { host: '10.1.2.3:8080', origin: 'https://terarchitect.test' },
      { host: 'team.test:5000', origin: 'http://team.test:5000' },
    ]
    for (const headers of pass) {
      const answer = await raw(t.url, '/api/projects', { method: 'POST', headers: { ...admin, ...headers }, body: project() })
      assert.is(answer.status, 201, `${JSON.stringify(headers)}: ${JSON.stringify(answer.body)}`)
    }
    const fail: Record<string, string>[] = [
      { host: 'terarchitect.test', origin: 'http://terarchitect.test.attacker.test' },
      { host: 'team.test:5000', origin: 'http://team.test:5001' },
      { host: 'team.test:5000', origin: 'https://terarchitect.test:8443' },
      { host: 'terarchitect.test', 'sec-fetch-site': 'same-site', origin: 'https://api.terarchitect.test' },
    ]
    for (const headers of fail) {
      refused(await raw(t.url, '/api/projects', { method: 'POST', headers: { ...admin, ...headers }, body: project() }), 403, 'forbidden', JSON.stringify(headers))
    }
  })

  off.run()
}

const local = suite<{ t: TestApp }>('PUBLIC_URL on a loopback bind')
local.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite', env: { PUBLIC_URL: 'https://terarchitect.test' } })
})
local.after(async ({ t }) => t.close())

local('with PUBLIC_URL nobody is local, and both the loopback names and the public name are this app', async ({ t }) => {
  const port = new URL(t.url).port
  for (const host of [`127.0.0.1:${port}`, 'terarchitect.test']) {
    const answer = await raw(t.url, '/api/projects', { headers: { host } })
    assert.is(answer.status, 401, `${host}: ${JSON.stringify(answer.body)}`)
  }
  assert.is((await raw(t.url, '/api/projects', { headers: { host: 'attacker.test' } })).status, 421)
})

local.after(() => stopOwnCluster())
local.run()
