// Acceptance: malformed requests across every endpoint, generated from tables, on real PostgreSQL 15
// and on PGlite. Every answer must be a 4xx with `{error:{code,message,details}}` (400s naming the
// field in details[].path), never a 5xx, and the database must be exactly as it was before. Every
// route the app serves is in the table, or in ELSEWHERE with the suite that refuses its bad input.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { DB_KINDS, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { createHmac } from 'node:crypto'
import { settledSnapshot, snapshotTables } from './api-helpers.ts'

const WORKER_KEY = 'bad-input-worker-key-0123'
const WEBHOOK_SECRET = 'bad-input-webhook-secret'
const MAX_BODY_BYTES = 262144
const UNKNOWN = 2147483647
const BAD_IDS = ['abc', '-1', '0', '1.5', '99999999999', '1e3', '0x10', '2147483648', 'true', '%20']
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
const COLUMNS = [
  { id: 'backlog', title: 'Backlog', order: 0, role: 'backlog' },
  { id: 'in_progress', title: 'In Progress', order: 1, role: 'in_progress' },
  { id: 'in_review', title: 'In Review', order: 2, role: 'in_review' },
  { id: 'done', title: 'Done', order: 3, role: 'done' },
]

interface Fixture {
  p: number
  pName: string
  /** A local project without project_path: it cannot run. */
  l: number
  t1: number
  t2: number
  t3: number
  /** A ticket whose job is running (claimed by c1). */
  t4: number
  j4: number
  /** j4's claim (`claim_seq`): the bound worker calls about it name it. */
  c4: number
  lt: number
  note: number
  /** A pending job, never claimed. */
  j2: number
  j3: number
  /** j3's claim. */
  c3: number
  /** The agent token of t3's (finished) job. */
  token3: string
  /** The agent token of t4's (running) job: agent routes take only a job token. */
  token4: string
  /** A coordinator token's id. */
  coordinatorTokenId: number
  /** An outgoing webhook endpoint (subscribed to nothing the fixture does). */
  notificationId: number
  graphVersion: number
  boardVersion: number
}

interface Endpoint {
  method: (typeof METHODS)[number]
  path: string
  access: 'public' | 'people' | 'worker' | 'agent'
  /** Valid values of the path parameters. */
  params?: Record<string, number>
  /** A valid query string (without `?`). */
  query?: string
  /** A valid body: the generators break one thing at a time. */
  body?: Record<string, unknown>
  required?: string[]
  /** The body is a union: extra and wrong fields are still named, but some generators do not apply. */
  union?: boolean
  /** The credential a valid call carries (default: none for people on loopback, the worker key for the worker API). */
  auth?: Record<string, string>
}

interface Case {
  name: string
  method: string
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** Send the body with chunked transfer encoding (no content-length). */
  chunked?: boolean
  status: number
  /** A detail path the answer must name (400s). */
  detail?: string | RegExp
}

function endpoints(f: Fixture): Endpoint[] {
  const ticket = { pid: f.p, tid: f.t1 }
  // Agent and coordinator calls aim at a running job, so a value the schemas let through would reach the database.
  const agentTicket = { pid: f.p, tid: f.t4 }
  const agent = { authorization: `Bearer ${f.token4}` }
  return listEndpoints(f, ticket, agentTicket).map((endpoint) => (endpoint.access === 'agent' ? { ...endpoint, auth: agent } : endpoint))
}

function listEndpoints(f: Fixture, ticket: Record<string, number>, agentTicket: Record<string, number>): Endpoint[] {
  return [
    { method: 'GET', path: '/api/health', access: 'public' },
    { method: 'GET', path: '/api/health/ready', access: 'public' },
    { method: 'GET', path: '/api/health/live', access: 'public' },
    { method: 'GET', path: '/metrics', access: 'public' },
    { method: 'GET', path: '/api/settings', access: 'people' },
    { method: 'PUT', path: '/api/settings', access: 'people', body: { values: { WORKER_MODE: 'codex' } }, required: ['values'] },
    { method: 'GET', path: '/api/settings/check', access: 'people' },
    { method: 'GET', path: '/api/projects/:id/settings', access: 'people', params: { id: f.p } },
    { method: 'PUT', path: '/api/projects/:id/settings', access: 'people', params: { id: f.p }, body: { values: { WORKER_MODEL: 'project-model' } }, required: ['values'] },
    { method: 'GET', path: '/api/projects/:id/settings/check', access: 'people', params: { id: f.p } },
    { method: 'POST', path: '/api/projects/:id/settings/test', access: 'people', params: { id: f.p }, body: { check: 'director-llm' }, required: ['check'] },
    // Setup checks: nothing malformed reaches the remote they test.
    { method: 'POST', path: '/api/checks/worker-llm', access: 'people', body: { worker_mode: 'codex' } },
    { method: 'POST', path: '/api/checks/director-llm', access: 'people', body: {} },
    { method: 'POST', path: '/api/checks/embeddings', access: 'people', body: {} },
    { method: 'POST', path: '/api/checks/forge', access: 'people', body: { project_id: f.p } },
    { method: 'POST', path: '/api/checks/forge-kind', access: 'people', body: { repo_url: 'http://127.0.0.1:9/a/b.git' }, required: ['repo_url'] },
    { method: 'GET', path: '/api/setup/checklist', access: 'people' },
    { method: 'GET', path: '/api/projects', access: 'people' },
    {
      method: 'POST', path: '/api/projects', access: 'people', required: ['name'],
      body: { name: 'n', description: 'd', repo_url: 'https://git.example/r.git', execution_mode: 'docker', project_path: '/srv/r', default_branch: 'main', worker_mode: 'codex', setup_command: 'npm ci', test_command: 'npm test' },
    },
    { method: 'GET', path: '/api/projects/:id', access: 'people', params: { id: f.p } },
    { method: 'PATCH', path: '/api/projects/:id', access: 'people', params: { id: f.p }, body: { description: 'd2', repo_url: 'https://git.example/r2.git' } },
    { method: 'DELETE', path: '/api/projects/:id', access: 'people', params: { id: f.p }, query: `confirm=${encodeURIComponent(f.pName)}` },
    { method: 'GET', path: '/api/projects/:id/graph', access: 'people', params: { id: f.p } },
    { method: 'GET', path: '/api/projects/:id/graph/suggest', access: 'people', params: { id: f.p }, query: 'text=add%20A' },
    {
      method: 'PUT', path: '/api/projects/:id/graph', access: 'people', params: { id: f.p }, required: ['nodes', 'edges', 'version'],
      body: { nodes: [{ id: 'x', label: 'X' }, { id: 'y', label: 'Y' }], edges: [{ id: 'xy', source: 'x', target: 'y' }], version: f.graphVersion },
    },
    { method: 'GET', path: '/api/projects/:id/board', access: 'people', params: { id: f.p } },
    { method: 'PUT', path: '/api/projects/:id/board', access: 'people', params: { id: f.p }, body: { columns: COLUMNS, version: f.boardVersion }, required: ['columns'] },
    { method: 'GET', path: '/api/projects/:id/kanban', access: 'people', params: { id: f.p } },
    { method: 'PUT', path: '/api/projects/:id/kanban', access: 'people', params: { id: f.p }, body: { columns: COLUMNS, version: f.boardVersion }, required: ['columns'] },
    { method: 'GET', path: '/api/projects/:id/tickets', access: 'people', params: { id: f.p } },
    {
      method: 'POST', path: '/api/projects/:id/tickets', access: 'people', params: { id: f.p }, required: ['title'],
      body: { title: 't', description: 'd', column_id: 'backlog', position: 0, priority: 'low', associated_node_ids: ['a'], associated_edge_ids: [] },
    },
    { method: 'GET', path: '/api/projects/:pid/tickets/:tid', access: 'people', params: ticket },
    { method: 'PATCH', path: '/api/projects/:pid/tickets/:tid', access: 'people', params: ticket, body: { title: 't2', position: 0, priority: 'high' } },
    { method: 'DELETE', path: '/api/projects/:pid/tickets/:tid', access: 'people', params: ticket },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/run', access: 'people', params: ticket },
    { method: 'PUT', path: '/api/projects/:pid/tickets/:tid/blockers', access: 'people', params: ticket, body: { blocked_by: [f.t2] }, required: ['blocked_by'] },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/cancel', access: 'people', params: ticket },
    { method: 'GET', path: '/api/projects/:pid/tickets/:tid/logs', access: 'people', params: ticket, query: 'after=0&limit=10' },
    { method: 'GET', path: '/api/projects/:pid/tickets/:tid/worker-context', access: 'agent', params: agentTicket },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/logs', access: 'agent', params: agentTicket, body: { step: 's', summary: 'x', raw_output: 'r' }, required: ['step'], union: true },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/complete', access: 'agent', params: agentTicket, body: { summary: 's' } },
    { method: 'GET', path: '/api/projects/:pid/tickets/:tid/cancel-requested', access: 'agent', params: agentTicket },
    { method: 'GET', path: '/api/projects/:id/notes', access: 'people', params: { id: f.p } },
    { method: 'POST', path: '/api/projects/:id/notes', access: 'people', params: { id: f.p }, body: { title: 'n', content: 'c', associated_node_ids: [], associated_edge_ids: ['e'] }, required: ['title'] },
    { method: 'PATCH', path: '/api/projects/:pid/notes/:nid', access: 'people', params: { pid: f.p, nid: f.note }, body: { content: 'c2' } },
    { method: 'DELETE', path: '/api/projects/:pid/notes/:nid', access: 'people', params: { pid: f.p, nid: f.note } },
    { method: 'GET', path: '/api/jobs', access: 'people', query: 'status=pending&limit=5' },
    { method: 'GET', path: '/api/projects/:id/jobs', access: 'people', params: { id: f.p }, query: 'status=completed&limit=5' },
    { method: 'GET', path: '/api/jobs/:id', access: 'people', params: { id: f.j2 } },
    { method: 'POST', path: '/api/jobs/:id/cancel', access: 'people', params: { id: f.j2 } },
    { method: 'POST', path: '/api/jobs/:id/retry', access: 'people', params: { id: f.j3 } },
    { method: 'GET', path: '/api/events', access: 'people', query: `project_id=${f.p}` },
    { method: 'POST', path: '/api/projects/:id/memory/index', access: 'people', params: { id: f.p }, body: { documents: [{ kind: 'doc', ref: 'r1', title: 't', content: 'c' }] }, required: ['documents'] },
    { method: 'POST', path: '/api/projects/:id/memory/retrieve', access: 'people', params: { id: f.p }, body: { query: 'q', k: 3, kinds: ['doc'] }, required: ['query'] },
    { method: 'POST', path: '/api/projects/:id/memory/delete', access: 'people', params: { id: f.p }, body: { kind: 'doc', ref: 'r1' } },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/memory/index', access: 'agent', params: agentTicket, body: { documents: [{ kind: 'agent', content: 'c' }] }, required: ['documents'] },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/memory/retrieve', access: 'agent', params: agentTicket, body: { query: 'q' }, required: ['query'] },
    { method: 'GET', path: '/api/projects/:id/review', access: 'people', params: { id: f.p } },
    { method: 'GET', path: '/api/projects/:pid/tickets/:tid/review', access: 'people', params: ticket },
    { method: 'GET', path: '/api/projects/:pid/tickets/:tid/ci', access: 'people', params: ticket },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/review/comment', access: 'people', params: ticket, body: { body: 'please rename', trigger_review: false }, required: ['body'] },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/review/merge', access: 'people', params: ticket, body: { method: 'squash', commit_title: 't', commit_message: 'm', sha: 'a'.repeat(40) } },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/review/addressed', access: 'agent', params: agentTicket, body: { github_comment_id: 1 }, required: ['github_comment_id'] },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/forge/pull', access: 'agent', params: agentTicket, body: { title: 't', body: 'b', base: 'main', draft: false }, required: ['title', 'body', 'base'] },
    { method: 'POST', path: '/api/projects/:pid/tickets/:tid/forge/reply', access: 'agent', params: agentTicket, body: { body: 'b' }, required: ['body'] },
    { method: 'GET', path: '/api/auth/me', access: 'public' },
    { method: 'POST', path: '/api/auth/setup', access: 'public', body: { login: 'root', password: 'correct horse battery', display_name: 'Root', setup_code: 'aaaa-bbbb-cccc-dddd' }, required: ['login', 'password'] },
    { method: 'POST', path: '/api/auth/login', access: 'public', body: { login: 'root', password: 'correct horse battery' }, required: ['login', 'password'] },
    { method: 'POST', path: '/api/auth/logout', access: 'public' },
    { method: 'GET', path: '/api/auth/oidc/start', access: 'public' },
    { method: 'GET', path: '/api/auth/oidc/callback', access: 'public' },
    { method: 'GET', path: '/api/auth/github/start', access: 'public' },
    { method: 'GET', path: '/api/auth/github/callback', access: 'public' },
    { method: 'GET', path: '/api/users', access: 'people' },
    { method: 'POST', path: '/api/users', access: 'people', body: { login: 'u1', password: 'correct horse battery', display_name: 'U', email: 'u@example.com', role: 'member' }, required: ['login', 'role'] },
    { method: 'PATCH', path: '/api/users/:id', access: 'people', params: { id: UNKNOWN - 1 }, body: { display_name: 'd', email: 'd@example.com', role: 'viewer', disabled: false, password: 'another long password' } },
    { method: 'GET', path: '/api/tokens', access: 'people', query: 'all=true' },
    { method: 'POST', path: '/api/tokens', access: 'people', body: { name: 'ci', role: 'viewer', expires_in_days: 30 }, required: ['name'] },
    { method: 'DELETE', path: '/api/tokens/:id', access: 'people', params: { id: UNKNOWN - 1 } },
    { method: 'GET', path: '/api/audit', access: 'people', query: 'limit=10' },
    // Raw body, HMAC-verified: the JSON generators do not apply (see webhookCases).
    { method: 'POST', path: '/api/webhooks/:kind', access: 'public' },
    { method: 'POST', path: '/api/worker/jobs/start', access: 'worker', body: { project_id: f.p, wait_ms: 0, coordinator_id: 'c1', executor: 'local' } },
    { method: 'POST', path: '/api/worker/jobs/:id/heartbeat', access: 'worker', params: { id: f.j4 }, body: { coordinator_id: 'c1', claim_seq: f.c4 }, required: ['coordinator_id', 'claim_seq'] },
    { method: 'POST', path: '/api/worker/jobs/:id/complete', access: 'worker', params: { id: f.j4 }, body: { coordinator_id: 'c1', claim_seq: f.c4, exit_code: 0, output_tail: 'ok', usage: { input_tokens: 1 } }, required: ['coordinator_id', 'claim_seq'] },
    { method: 'POST', path: '/api/worker/jobs/:id/fail', access: 'worker', params: { id: f.j4 }, body: { coordinator_id: 'c1', claim_seq: f.c4, exit_code: 1, error: 'e', output_tail: 'x' }, required: ['error', 'coordinator_id', 'claim_seq'] },
    { method: 'POST', path: '/api/worker/jobs/:id/release', access: 'worker', params: { id: f.j4 }, body: { coordinator_id: 'c1', claim_seq: f.c4 }, required: ['coordinator_id', 'claim_seq'] },
    { method: 'POST', path: '/api/worker/jobs/:id/requeue', access: 'worker', params: { id: f.j4 }, body: { coordinator_id: 'c1', claim_seq: f.c4, reason: 'its node w1 is down' }, required: ['coordinator_id', 'claim_seq', 'reason'] },
    {
      method: 'POST', path: '/api/worker/jobs/:id/executor', access: 'worker', params: { id: f.j4 },
      body: { coordinator_id: 'c1', claim_seq: f.c4, executor: 'local', fallback_reason: 'the daemon refused the container' }, required: ['coordinator_id', 'claim_seq', 'executor'],
    },
    { method: 'POST', path: '/api/worker/forge-token', access: 'worker', body: { coordinator_id: 'c1', token: 'ghp_bad_input', project_ids: [f.p] }, required: ['coordinator_id', 'token'] },
    { method: 'GET', path: '/api/worker/settings', access: 'worker' },
    {
      method: 'POST', path: '/api/worker/coordinators/report', access: 'worker',
      body: { coordinator_id: 'c1', host: 'build-1', version: '0.1.0', executor: 'local', capacity: 2, running_job_ids: [f.j4], report_interval_sec: 30, started_at: '2026-01-02T03:04:05Z', stopped: false },
      required: ['coordinator_id', 'host', 'version', 'executor', 'capacity', 'running_job_ids', 'report_interval_sec', 'started_at'],
    },
    { method: 'GET', path: '/api/projects/:id/path-check', access: 'people', params: { id: f.p } },
    { method: 'GET', path: '/api/worker/path-checks', access: 'worker' },
    {
      method: 'POST', path: '/api/worker/path-checks/:id', access: 'worker', params: { id: UNKNOWN - 1 },
      body: { coordinator_id: 'c1', host: 'build-1', problem: null }, required: ['coordinator_id', 'host', 'problem'],
    },
    { method: 'GET', path: '/api/coordinators', access: 'people' },
    { method: 'GET', path: '/api/coordinators/tokens', access: 'people' },
    { method: 'POST', path: '/api/coordinators/tokens', access: 'people', body: { name: 'builder', project_ids: [f.p] }, required: ['name'] },
    { method: 'DELETE', path: '/api/coordinators/tokens/:id', access: 'people', params: { id: f.coordinatorTokenId } },
    { method: 'GET', path: '/api/notifications/endpoints', access: 'people' },
    { method: 'POST', path: '/api/notifications/endpoints', access: 'people', body: { name: 'ops', url: 'https://hooks.example/ops', events: ['job.failed'], format: 'json', enabled: true }, required: ['url', 'events'] },
    { method: 'GET', path: '/api/notifications/deliveries', access: 'people', query: `endpoint_id=${f.notificationId}&limit=10` },
    { method: 'PATCH', path: '/api/notifications/endpoints/:id', access: 'people', params: { id: f.notificationId }, body: { name: 'n', url: 'https://hooks.example/n', events: ['pr.opened'], format: 'slack', enabled: false } },
    { method: 'DELETE', path: '/api/notifications/endpoints/:id', access: 'people', params: { id: f.notificationId } },
    { method: 'POST', path: '/api/notifications/endpoints/:id/test', access: 'people', params: { id: f.notificationId } },
  ]
}

/** Routes this suite sends nothing to, and the suite that refuses their bad input instead. */
const ELSEWHERE: Record<string, string> = {
  // Git's smart-HTTP protocol: the bodies are pack streams, not JSON.
  'GET /api/relay/git/:pid/:tid/repo.git/info/refs': 'test/security/git-relay.test.ts',
  'POST /api/relay/git/:pid/:tid/repo.git/git-upload-pack': 'test/security/git-relay.test.ts',
  'POST /api/relay/git/:pid/:tid/repo.git/git-receive-pack': 'test/security/git-relay.test.ts',
}

const fill = (path: string, params: Record<string, number | string> = {}) => path.replace(/:(\w+)/g, (_, name: string) => String(params[name]))
const json = (value: unknown) => JSON.stringify(value)
const authFor = (endpoint: Endpoint): Record<string, string> =>
  endpoint.auth ?? (endpoint.access === 'worker' ? { authorization: `Bearer ${WORKER_KEY}` } : {})

/** Calls `endpoint` as valid as possible, with `change` applied: the one broken thing. */
function call(endpoint: Endpoint, change: Partial<Case> & { params?: Record<string, number | string>; query?: string; status: number; name: string }): Case {
  const path = fill(endpoint.path, { ...endpoint.params, ...change.params })
  const query = change.query ?? endpoint.query
  const body = change.body ?? (endpoint.body ? json(endpoint.body) : undefined)
  return {
    name: `${endpoint.method} ${endpoint.path}: ${change.name}`,
    method: change.method ?? endpoint.method,
    path: query ? `${path}?${query}` : path,
    // People routes refuse a state change without Content-Type: application/json (415), body or not.
    headers: { ...(body !== undefined || (change.method ?? endpoint.method) !== 'GET' ? { 'content-type': 'application/json' } : {}), ...authFor(endpoint), ...change.headers },
    ...(body !== undefined ? { body } : {}),
    ...(change.chunked ? { chunked: true } : {}),
    status: change.status,
    ...(change.detail !== undefined ? { detail: change.detail } : {}),
  }
}

/** A value of another JSON type than `value`. */
function wrongType(value: unknown): unknown {
  if (typeof value === 'string') return 12345
  if (typeof value === 'number') return 'not a number'
  if (typeof value === 'boolean') return 'yes'
  if (Array.isArray(value)) return 'not an array'
  return ['not', 'an', 'object']
}

function badIdCases(list: Endpoint[]): Case[] {
  return list.flatMap((endpoint) =>
    Object.keys(endpoint.params ?? {}).flatMap((name) =>
      BAD_IDS.map((bad) => call(endpoint, { name: `:${name}=${bad}`, params: { [name]: bad }, status: 400, detail: `/params/${name}` }))))
}

function unknownIdCases(list: Endpoint[], f: Fixture): Case[] {
  return list.flatMap((endpoint) => {
    const names = Object.keys(endpoint.params ?? {})
    // An agent's job token opens its own ticket only: any other (unknown or real) is 403, not 404.
    const status = endpoint.access === 'agent' ? 403 : 404
    const cases = names.map((name) => call(endpoint, { name: `:${name} unknown`, params: { [name]: UNKNOWN }, status }))
    // A real ticket or note named through another (real) project.
    if (names.includes('pid')) cases.push(call(endpoint, { name: ':pid of another project', params: { pid: f.l }, status }))
    return cases
  })
}

function bodyCases(list: Endpoint[]): Case[] {
  const cases: Case[] = []
  for (const endpoint of list.filter((candidate) => candidate.body)) {
    const body = endpoint.body!
    const add = (name: string, raw: string | Buffer, status: number, detail?: string | RegExp, headers?: Record<string, string>, chunked?: boolean) =>
      cases.push(call(endpoint, { name, body: raw, status, ...(detail ? { detail } : {}), ...(headers ? { headers } : {}), ...(chunked ? { chunked } : {}) }))
    for (const raw of ['{', '{"a":', "{'single': 'quotes'}", '[1,]', 'nul', '{"a":1}}', '\uFEFF{}', '{"a":1,}']) add(`bad JSON ${raw}`, raw, 400, '/body')
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      // The browser boundary answers people routes 415 before the body is read; machine routes 400.
      const status = endpoint.access === 'people' || endpoint.access === 'public' ? 415 : 400
      add(`content-type ${type}`, json(body), status, '/headers/content-type', { 'content-type': type })
    }
    for (const raw of ['[]', '"a string"', '42', 'true', '[{"a":1}]']) add(`body ${raw}`, raw, 400, '/body')
    add('an extra field', json({ ...body, unexpected_field: 1 }), 400, '/body/unexpected_field')
    for (const [field, value] of Object.entries(body)) {
      add(`${field} of the wrong type`, json({ ...body, [field]: wrongType(value) }), 400, new RegExp(`^/body/${field}(/|$)`))
      if (typeof value === 'string') {
        add(`${field} with a NUL`, json({ ...body, [field]: 'a\u0000b' }), 400, `/body/${field}`)
      }
    }
    for (const field of endpoint.required ?? []) {
      const { [field]: _, ...rest } = body
      add(`${field} missing`, json(rest), 400, endpoint.union ? /^\/body/ : `/body/${field}`)
    }
    const big = json({ ...body, padding: 'x'.repeat(MAX_BODY_BYTES) })
    add('over MAX_BODY_BYTES', big, 413)
    add('over MAX_BODY_BYTES, chunked', big, 413, undefined, undefined, true)
    add('a key with a NUL', json({ ...body, 'k\u0000': 1 }), 400, /^\/body/)
    add('nested 5000 deep', `{"deep":${'['.repeat(5000)}${']'.repeat(5000)}}`, 400, /^\/body/)
    if (endpoint.path.endsWith('/graph')) {
      // Graph nodes keep extra fields, so only the depth guard stands between this and a stack overflow.
      const deep = `${'['.repeat(100000)}${']'.repeat(100000)}`
      add('a node field nested 100000 deep', `{"nodes":[{"id":"x","label":"X","meta":${deep}}],"edges":[],"version":${body.version}}`, 400, /^\/body\/nodes\/0\/meta/)
    }
  }
  return cases
}

/** Field values the schemas must refuse, per endpoint: [endpoint index key, field changes, detail]. */
function valueCases(list: Endpoint[], f: Fixture): Case[] {
  const by = (method: string, path: string) => list.find((e) => e.method === method && e.path === path)!
  const table: [Endpoint, Record<string, unknown>, string | RegExp | undefined, number?][] = []
  const put = (endpoint: Endpoint, changes: Record<string, unknown>[], detail: (change: Record<string, unknown>) => string | RegExp | undefined, status = 400) => {
    for (const change of changes) table.push([endpoint, change, detail(change), status])
  }
  const field = (change: Record<string, unknown>) => new RegExp(`^/body/${Object.keys(change)[0]}(/|$)`)
  const projects = by('POST', '/api/projects')
  put(projects, [
    { name: '' }, { name: 'x'.repeat(201) }, { execution_mode: 'kubernetes' }, { default_branch: 'bad branch' }, { default_branch: 'a:b' },
    { description: 'x'.repeat(20001) }, { worker_mode: 'x'.repeat(51) }, { repo_url: 'javascript:alert(1)' }, { repo_url: 'https://u:p@github.com/a/b' },
    { project_path: 'relative/path' },
  ], field)
  put(projects, [{ github_url: 'https://github.com/a/b', repo_url: 'https://github.com/a/c' }], () => '/body/github_url')
  put(by('PATCH', '/api/projects/:id'), [{ name: '' }, { execution_mode: 'vm' }, { project_path: './x' }, { repo_url: 'ftp://x/y' }], field)
  table.push([by('PATCH', '/api/projects/:id'), { __replace: {} }, '/body'])
  const hooks = [{ url: 'ftp://hooks.example/x' }, { url: 'https://user:pass@hooks.example/x' }, { url: 'not a url' }, { events: [] }, { events: ['job.exploded'] }, { format: 'xml' }]
  put(by('POST', '/api/notifications/endpoints'), hooks, field)
  put(by('PATCH', '/api/notifications/endpoints/:id'), hooks, field)
  const graph = by('PUT', '/api/projects/:id/graph')
  put(graph, [{ version: -1 }, { version: 1.5 }, { version: 99999999999 }, { version: 1e300 }], () => '/body/version')
  put(graph, [{ nodes: [{ id: '', label: 'x' }] }, { nodes: [{ id: 'a' }] }, { nodes: [{ id: 'a', label: 5 }] }, { nodes: [{ id: 'a', label: 'A', x: 'left' }] }], () => /^\/body\/nodes\/0\//)
  put(graph, [{ edges: [{ id: 'e', source: 'x', target: 'nowhere' }] }], () => '/body/edges/0/target')
  put(graph, [{ edges: [{ id: 'e', source: 'ghost', target: 'y' }] }], () => '/body/edges/0/source')
  put(graph, [{ nodes: [{ id: 'x', label: 'X' }, { id: 'x', label: 'again' }], edges: [] }], () => '/body/nodes/1/id')
  put(graph, [{ version: f.graphVersion - 1 }, { version: f.graphVersion + 1 }], () => '/body/version', 409)
  for (const path of ['/api/projects/:id/board', '/api/projects/:id/kanban']) {
    const board = by('PUT', path)
    put(board, [{ columns: [] }, { columns: COLUMNS.slice(1) }, { columns: [...COLUMNS, { ...COLUMNS[0], id: 'b2' }] }], () => /^\/body\/columns/)
    put(board, [{ columns: [...COLUMNS.slice(0, 3), { ...COLUMNS[3], role: 'archive' }] }, { columns: [{ ...COLUMNS[0], id: 'has space' }, ...COLUMNS.slice(1)] }], () => /^\/body\/columns\/\d+\//)
    put(board, [{ columns: [...COLUMNS.slice(0, 3), { ...COLUMNS[3], order: -1 }] }, { columns: [...COLUMNS.slice(0, 3), { ...COLUMNS[3], extra: 1 }] }], () => /^\/body\/columns\/3\//)
    put(board, [{ version: f.boardVersion - 1 }], () => '/body/version', 409)
    // Removing a column that holds tickets (the fixture has tickets in in_progress).
    put(board, [{ columns: [COLUMNS[0], { ...COLUMNS[1], id: 'doing' }, COLUMNS[2], COLUMNS[3]] }], () => undefined, 409)
  }
  const tickets = by('POST', '/api/projects/:id/tickets')
  put(tickets, [
    { title: '' }, { title: 'x'.repeat(301) }, { priority: 'urgent' }, { position: -1 }, { position: 1.5 }, { position: 100001 },
    { column_id: 'in progress' }, { column_id: '' }, { associated_node_ids: [''] }, { associated_node_ids: [1] }, { column_id: 'nowhere' },
  ], field)
  put(by('PATCH', '/api/projects/:pid/tickets/:tid'), [{ title: '' }, { priority: 'p0' }, { position: -5 }, { column_id: 'nowhere' }, { associated_edge_ids: 'e1' }], field)
  table.push([by('PATCH', '/api/projects/:pid/tickets/:tid'), { __replace: {} }, '/body'])
  const notes = by('POST', '/api/projects/:id/notes')
  put(notes, [{ title: '' }, { content: 5 }, { content: 'x'.repeat(100001) }, { associated_node_ids: [null] }], field)
  put(by('PATCH', '/api/projects/:pid/notes/:nid'), [{ title: '' }, { content: null }], field)
  table.push([by('PATCH', '/api/projects/:pid/notes/:nid'), { __replace: {} }, '/body'])
  const logs = by('POST', '/api/projects/:pid/tickets/:tid/logs')
  put(logs, [{ step: '' }, { step: 'x'.repeat(101) }, { summary: 'x'.repeat(4001) }, { event: { text: 'no kind' } }, { event: 'message' }], (change) => new RegExp(`^/body/${Object.keys(change)[0]}`))
  table.push([logs, { __replace: { events: [] } }, '/body/events'])
  table.push([logs, { __replace: { events: [{ step: 5 }] } }, '/body/events/0/step'])
  table.push([logs, { __replace: { job_id: 0, events: [{ step: 's' }] } }, '/body/job_id'])
  const complete = by('POST', '/api/projects/:pid/tickets/:tid/complete')
  put(complete, [{ pr_number: 0 }, { pr_number: 1.5 }, { pr_number: 99999999999 }, { usage: { input_tokens: -1 } }, { usage: { tokens: 1 } }, { job_id: 'x' }], (change) => new RegExp(`^/body/${Object.keys(change)[0]}`))
  const settings = by('PUT', '/api/settings')
  put(settings, [
    { values: { NOPE: 'x' } }, { values: { lower: 'x' } }, { values: { WORKER_MODE: 'vim' } }, { values: { WORKER_TIMEOUT_SEC: 'soon' } },
    { values: { WORKER_TIMEOUT_SEC: 1.5 } }, { values: { WORKER_LLM_URL: 'nope' } }, { values: { DRAFT_PR_ON_BUDGET: 'maybe' } }, { values: { WORKER_MODEL: [] } },
  ], (change) => `/body/values/${Object.keys(change.values as object)[0]}`)
  put(by('PUT', '/api/projects/:id/settings'), [
    { values: { NOPE: 'x' } }, { values: { EMBEDDING_API_KEY: 'x' } }, { values: { FORGE_KIND: 'bitbucket' } }, { values: { WORKER_MODE: 'vim' } },
    { values: { MAX_CONCURRENT_AGENTS: 0 } }, { values: { FORGE_API_URL: 'nope' } }, { values: { GIT_AUTHOR_EMAIL: 'nobody' } }, { values: { WORKER_MODEL: [] } },
    { values: { INTAKE_LABEL: 'agent,start' } }, { values: { INTAKE_START_LABEL: 'x'.repeat(101) } },
  ], (change) => `/body/values/${Object.keys(change.values as object)[0]}`)
  put(by('POST', '/api/projects/:id/memory/index'), [{ documents: [] }, { documents: [{ content: '' }] }, { documents: [{ content: 'c', kind: 'UPPER' }] }, { documents: [{ content: 'c', extra: 1 }] }], field)
  put(by('POST', '/api/projects/:id/memory/retrieve'), [{ query: '' }, { k: 0 }, { k: 51 }, { kinds: ['Bad Kind'] }], field)
  put(by('POST', '/api/projects/:id/memory/delete'), [{ ids: [] }, { ids: [0] }, { ref: '' }], field)
  table.push([by('POST', '/api/projects/:id/memory/delete'), { __replace: {} }, '/body'])
  put(by('POST', '/api/projects/:pid/tickets/:tid/review/comment'), [{ body: '' }, { trigger_review: 'no' }], field)
  put(by('POST', '/api/projects/:pid/tickets/:tid/review/merge'), [{ method: 'fast-forward' }, { sha: 'abc' }, { commit_title: '' }], field)
  put(by('POST', '/api/projects/:pid/tickets/:tid/review/addressed'), [{ github_comment_id: 0 }, { github_comment_id: 1.5 }, { github_comment_id: 2 ** 60 }], field)
  for (const path of ['/api/auth/setup', '/api/users']) {
    put(by('POST', path), [{ login: '' }, { login: 'has space' }, { login: '-dash' }, { login: 'x'.repeat(101) }, { password: 'short' }, { password: 'x'.repeat(1001) }], field)
  }
  put(by('POST', '/api/users'), [{ role: 'owner' }, { email: 'not-an-email' }, { display_name: 'x'.repeat(201) }], field)
  put(by('PATCH', '/api/users/:id'), [{ role: 'root' }, { password: 'short' }, { disabled: 'yes' }, { email: 'x' }], field)
  put(by('POST', '/api/auth/login'), [{ login: '' }, { password: '' }, { login: 'x'.repeat(201) }], field)
  put(by('POST', '/api/tokens'), [{ name: '' }, { role: 'root' }, { expires_in_days: 0 }, { expires_in_days: 3651 }, { expires_in_days: 1.5 }], field)
  const start = by('POST', '/api/worker/jobs/start')
  put(start, [
    { wait_ms: -1 }, { wait_ms: 60001 }, { wait_ms: 1.5 }, { project_id: 0 }, { project_ids: [0] }, { project_ids: 'all' }, { coordinator_id: 'bad id!' },
    { coordinator_id: '' }, { executor: '' },
  ], (change) => new RegExp(`^/body/${Object.keys(change)[0]}`))
  for (const verb of ['heartbeat', 'complete', 'fail', 'release', 'requeue', 'executor']) {
    put(by('POST', `/api/worker/jobs/:id/${verb}`), [{ coordinator_id: 'has space' }, { claim_seq: 0 }, { claim_seq: 1.5 }, { claim_seq: '1' }, { claim_seq: 2 ** 31 }], field)
  }
  put(by('POST', '/api/worker/jobs/:id/complete'), [{ exit_code: 1.5 }, { exit_code: 99999999999 }, { output_tail: 'x'.repeat(65537) }, { usage: { cost_usd: -1 } }], (change) => new RegExp(`^/body/${Object.keys(change)[0]}`))
  put(by('POST', '/api/worker/jobs/:id/fail'), [{ error: '' }, { exit_code: -99999999999 }], field)
  put(by('POST', '/api/worker/jobs/:id/requeue'), [{ reason: '' }, { reason: 'x'.repeat(501) }, { output_tail: 'x'.repeat(65537) }, { attempt: 1 }], field)
  put(by('POST', '/api/worker/jobs/:id/executor'), [
    { executor: '' }, { executor: 'Docker' }, { executor: 'x'.repeat(51) }, { fallback_reason: '' }, { fallback_reason: 'x'.repeat(2001) },
  ], field)
  put(by('POST', '/api/worker/coordinators/report'), [
    { coordinator_id: 'bad id!' }, { host: '' }, { host: 'x'.repeat(256) }, { version: '' }, { executor: '' }, { capacity: -1 }, { capacity: 10001 }, { capacity: 1.5 },
    { running_job_ids: [0] }, { running_job_ids: ['1'] }, { report_interval_sec: 0 }, { report_interval_sec: 3601 },
    { started_at: 'yesterday' }, { started_at: '2026-01-02 03:04:05' }, { started_at: '2026-01-02T03:04:05+02:00' }, { stopped: 'no' },
  ], field)
  put(by('POST', '/api/worker/path-checks/:id'), [
    { coordinator_id: 'bad id!' }, { host: '' }, { host: 'x'.repeat(256) }, { problem: '' }, { problem: 'x'.repeat(2001) }, { problem: 1 },
  ], field)
  put(by('POST', '/api/checks/worker-llm'), [{ worker_mode: 'vim' }, { worker_mode: '' }], field)
  put(by('POST', '/api/projects/:id/settings/test'), [{ check: 'embeddings' }, { check: '' }, { check: 5 }, { check: ['forge'] }], field)
  put(by('POST', '/api/checks/forge-kind'), [{ repo_url: '' }, { repo_url: 'file:///etc/passwd' }, { repo_url: 'https://u:p@host/a.git' }, { repo_url: 'x'.repeat(2001) }, { repo_url: 5 }], field)
  put(by('POST', '/api/checks/forge'), [{ project_id: 0 }, { project_id: 1.5 }, { project_id: 2147483648 }, { project_id: '1' }], field)
  put(by('POST', '/api/projects/:pid/tickets/:tid/forge/pull'), [
    { title: '' }, { body: 'x'.repeat(60001) }, { base: '' }, { base: '-main' }, { base: 'a..b' }, { base: 'a b' }, { base: 'main/' }, { draft: 'yes' },
  ], field)
  put(by('POST', '/api/projects/:pid/tickets/:tid/forge/reply'), [{ body: '' }, { body: 'x'.repeat(60001) }], field)
  return table.map(([endpoint, change, detail, status]) => {
    const body = '__replace' in change ? change.__replace : { ...endpoint.body, ...change }
    return call(endpoint, { name: `body ${json(change).slice(0, 80)}`, body: json(body), status: status ?? 400, ...(detail ? { detail } : {}) })
  })
}

function queryCases(list: Endpoint[]): Case[] {
  const by = (method: string, path: string) => list.find((e) => e.method === method && e.path === path)!
  const table: [Endpoint, string, string | RegExp][] = []
  const logs = by('GET', '/api/projects/:pid/tickets/:tid/logs')
  for (const query of ['after=-1', 'after=abc', 'after=1.5', 'after=99999999999999999999', 'after=1e3', 'after=1&after=2']) table.push([logs, query, '/query/after'])
  for (const query of ['limit=0', 'limit=1001', 'limit=x', 'limit=', 'limit=-3']) table.push([logs, query, '/query/limit'])
  for (const query of ['job_id=0', 'job_id=abc', 'job_id=2147483648']) table.push([logs, query, '/query/job_id'])
  for (const endpoint of [by('GET', '/api/jobs'), by('GET', '/api/projects/:id/jobs')]) {
    for (const query of ['status=bogus', 'status=COMPLETED', 'status=', 'status=pending&status=failed']) table.push([endpoint, query, '/query/status'])
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'limit=2.5']) table.push([endpoint, query, '/query/limit'])
  }
  const events = by('GET', '/api/events')
  for (const query of ['project_id=abc', 'project_id=0', 'project_id=-1', 'project_id=1.5', 'project_id=99999999999']) table.push([events, query, '/query/project_id'])
  for (const query of ['last_event_id=-1', 'last_event_id=x', 'last_event_id=99999999999999999999']) table.push([events, query, '/query/last_event_id'])
  const audit = by('GET', '/api/audit')
  for (const query of ['limit=0', 'limit=501', 'limit=x']) table.push([audit, query, '/query/limit'])
  for (const query of ['before=0', 'before=x', 'before=1.5']) table.push([audit, query, '/query/before'])
  for (const query of ['project_id=0', 'project_id=abc']) table.push([audit, query, '/query/project_id'])
  table.push([audit, 'action=', '/query/action'], [audit, 'actor=', '/query/actor'])
  table.push([by('GET', '/api/tokens'), 'all=maybe', '/query/all'])
  const suggest = by('GET', '/api/projects/:id/graph/suggest')
  for (const query of ['', `text=${'x'.repeat(4001)}`, 'text=a&text=b']) table.push([suggest, query, '/query/text'])
  table.push([suggest, 'text=a&nodes=b', '/query/nodes'])
  const del = by('DELETE', '/api/projects/:id')
  for (const query of ['', 'confirm=wrong', 'confirm=', `confirm=${'x'.repeat(201)}`, 'confirm=a&confirm=b', 'Confirm=x']) table.push([del, query, '/query/confirm'])
  return table.map(([endpoint, query, detail]) => call(endpoint, { name: `?${query.slice(0, 60)}`, query, status: 400, detail }))
}

function routeCases(list: Endpoint[], f: Fixture): Case[] {
  const cases: Case[] = []
  // Methods per route pattern; the path is filled with the first endpoint's parameters.
  const allowed = new Map<string, Set<string>>()
  const filled = new Map<string, string>()
  for (const endpoint of list) {
    if (!filled.has(endpoint.path)) filled.set(endpoint.path, fill(endpoint.path, endpoint.params))
    const path = filled.get(endpoint.path)!
    if (!allowed.has(path)) allowed.set(path, new Set())
    allowed.get(path)!.add(endpoint.method)
  }
  for (const [path, methods] of allowed) {
    for (const method of METHODS) {
      if (methods.has(method)) continue
      const body = method === 'GET' || method === 'DELETE' ? {} : { body: '{}', headers: { 'content-type': 'application/json' } }
      cases.push({ name: `${method} ${path} (wrong method)`, method, path, status: 405, ...body })
    }
    cases.push({ name: `OPTIONS ${path}`, method: 'OPTIONS', path, status: 405 })
  }
  const unknown = [
    '/api', '/api/', '/api/nope', '/api/project', '/api/projects/1/nope', `/api/projects/${f.p}/tickets/${f.t1}/nope`, `/api/projects/${f.p}/tickets/${f.t1}/logs/1`,
    '/api/jobs/1/nope', '/api/worker', '/api/worker/jobs', `/api/worker/jobs/${f.j2}`, `/api/worker/jobs/${f.j2}/start`, '/api/settings/nope',
    '/apix', '/index.html', '/', '/api/projects/1/graph/nodes', '/API/projects', '/api/events/stream', `/api/projects/${f.p}/memory/nope`,
    '/api/webhooks', '/api/webhooks/github/nope', `/api/projects/${f.p}/tickets/${f.t1}/review/nope`, `/api/projects/${f.p}/memory`,
  ]
  for (const path of unknown) {
    cases.push({ name: `GET ${path} (unknown route)`, method: 'GET', path, status: 404 })
    cases.push({ name: `POST ${path} (unknown route)`, method: 'POST', path, body: '{}', headers: { 'content-type': 'application/json' }, status: 404 })
  }
  return cases
}

function authCases(list: Endpoint[], f: Fixture): Case[] {
  const cases: Case[] = []
  const tampered = (() => {
    const [payload, signature] = f.token3.slice(4).split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'))
    claims.ticketId = f.t1
    return `tj1.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
  })()
  const wrong: [string, Record<string, string>, number][] = [
    ['no credential', { authorization: '' }, 401],
    ['a wrong key', { authorization: 'Bearer not-the-worker-key-0' }, 401],
    ['the key without its last character', { authorization: `Bearer ${WORKER_KEY.slice(0, -1)}` }, 401],
    ['an empty bearer', { authorization: 'Bearer ' }, 401],
    ['basic auth', { authorization: `Basic ${Buffer.from(`u:${WORKER_KEY}`).toString('base64')}` }, 401],
    ['a tampered job token', { authorization: `Bearer ${tampered}` }, 401],
    ['a garbage job token', { authorization: 'Bearer tj1.e30.AAAA' }, 401],
  ]
  for (const endpoint of list.filter((e) => e.access === 'worker' || e.access === 'agent')) {
    for (const [name, headers, status] of wrong) cases.push(call(endpoint, { name, headers, status }))
    // A real job token (ticket t3's job) on another ticket's agent endpoints, or on the coordinator API.
    cases.push(call(endpoint, { name: 'a job token of another ticket', headers: { authorization: `Bearer ${f.token3}` }, status: 403 }))
  }
  // Agent routes take only a job token; the worker key opens no ticket.
  for (const endpoint of list.filter((e) => e.access === 'agent')) {
    cases.push(call(endpoint, { name: 'the worker key', headers: { authorization: `Bearer ${WORKER_KEY}` }, status: 403 }))
  }
  return cases
}

/**
 * Forge webhook deliveries (`/api/webhooks/:kind`; GitHub's here): only a valid signature over the
 * exact bytes gets past the door; a kind the app has no forge plugin for is a 404, a malformed one
 * a 400 naming it.
 */
function webhookCases(): Case[] {
  const path = '/api/webhooks/github'
  const sign = (body: string, secret = WEBHOOK_SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
  const delivery = json({ action: 'created', issue: { number: 1, pull_request: {} }, comment: { id: 5, body: 'x', user: { login: 'u' } }, repository: { full_name: 'a/b' } })
  const post = (name: string, body: string, headers: Record<string, string>, status: number, detail?: string, chunked?: boolean): Case => ({
    name: `webhook: ${name}`, method: 'POST', path, body, status, ...(detail ? { detail } : {}), ...(chunked ? { chunked } : {}),
    headers: { 'content-type': 'application/json', 'x-github-event': 'issue_comment', 'x-github-delivery': `bad-input ${name}`, ...headers },
  })
  const big = json({ padding: 'x'.repeat(MAX_BODY_BYTES) })
  return [
    post('no signature', delivery, {}, 401),
    post('a signature with another secret', delivery, { 'x-hub-signature-256': sign(delivery, 'not-the-secret') }, 401),
    post('a signature of another body', delivery, { 'x-hub-signature-256': sign(delivery + ' ') }, 401),
    post('a sha1 signature', delivery, { 'x-hub-signature-256': `sha1=${createHmac('sha1', WEBHOOK_SECRET).update(delivery).digest('hex')}` }, 401),
    post('a truncated signature', delivery, { 'x-hub-signature-256': sign(delivery).slice(0, 40) }, 401),
    post('garbage signature', delivery, { 'x-hub-signature-256': 'sha256=zz' }, 401),
    post('signed, but not JSON', '{not json', { 'x-hub-signature-256': sign('{not json') }, 400, '/body'),
    post('signed, but a JSON string', '"text"', { 'x-hub-signature-256': sign('"text"') }, 400, '/body'),
    post('signed form without payload', 'a=1', { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': sign('a=1') }, 400, '/body'),
    post('over MAX_BODY_BYTES', big, { 'x-hub-signature-256': sign(big) }, 413),
    post('over MAX_BODY_BYTES, chunked', big, { 'x-hub-signature-256': sign(big) }, 413, undefined, true),
    { ...post('an unknown forge kind', delivery, { 'x-hub-signature-256': sign(delivery) }, 404), path: '/api/webhooks/bitbucket-server' },
    { ...post('a malformed forge kind', delivery, { 'x-hub-signature-256': sign(delivery) }, 400, '/params/kind'), path: '/api/webhooks/Git_Hub' },
    { ...post('an over-long forge kind', delivery, { 'x-hub-signature-256': sign(delivery) }, 400, '/params/kind'), path: `/api/webhooks/${'g'.repeat(41)}` },
  ]
}

/** Blockers the dependency rules refuse (services/ticket-dependencies.ts): 400 naming the entry. */
function blockerCases(f: Fixture, ticketPath: (pid: number, tid: number, tail?: string) => string): Case[] {
  const put = (name: string, blockedBy: number[], detail: string): Case => ({
    name, method: 'PUT', path: ticketPath(f.p, f.t1, '/blockers'), status: 400, detail,
    headers: { 'content-type': 'application/json' }, body: json({ blocked_by: blockedBy }),
  })
  return [
    put('a ticket blocked by itself', [f.t2, f.t1], '/body/blocked_by/1'),
    put('a blocker that does not exist', [UNKNOWN], '/body/blocked_by/0'),
    put('a blocker of another project', [f.lt], '/body/blocked_by/0'),
    put('more blockers than allowed', Array.from({ length: 51 }, (_, i) => i + 1), '/body/blocked_by'),
  ]
}

/** Refusals the services decide (409, 422, 404 on state), each leaving the data alone. */
function stateCases(list: Endpoint[], f: Fixture): Case[] {
  const by = (method: string, path: string) => list.find((e) => e.method === method && e.path === path)!
  const ticketPath = (pid: number, tid: number, tail = '') => `/api/projects/${pid}/tickets/${tid}${tail}`
  const post = (name: string, path: string, status: number, body?: unknown, detail?: string, headers: Record<string, string> = {}): Case => ({
    name, method: 'POST', path, status, ...(detail ? { detail } : {}),
    headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: json(body) }),
  })
  const worker = { authorization: `Bearer ${WORKER_KEY}` }
  const agent = { authorization: `Bearer ${f.token4}` }
  return [
    post('run a ticket that already has an active job', ticketPath(f.p, f.t2, '/run'), 409),
    post('run a ticket of a project that cannot run', ticketPath(f.l, f.lt, '/run'), 422, undefined, '/project/project_path'),
    { name: 'move a ticket of a project that cannot run', method: 'PATCH', path: ticketPath(f.l, f.lt), status: 422, detail: '/project/project_path', headers: { 'content-type': 'application/json' }, body: json({ column_id: 'in_progress' }) },
    post('create a ticket straight into In Progress of a project that cannot run', `/api/projects/${f.l}/tickets`, 422, { title: 'x', column_id: 'in_progress' }, '/project/project_path'),
    post('retry a pending job', `/api/jobs/${f.j2}/retry`, 409),
    ...blockerCases(f, ticketPath),
    post('retry a succeeded job', `/api/jobs/${f.j3}/retry`, 409),
    post('cancel a succeeded job', `/api/jobs/${f.j3}/cancel`, 409, undefined, '/job/status'),
    post('cancel via a ticket with no job', ticketPath(f.p, f.t1, '/cancel'), 404),
    post('heartbeat a job that was never claimed', `/api/worker/jobs/${f.j2}/heartbeat`, 409, { coordinator_id: 'c1', claim_seq: 1 }, '/claim_seq', worker),
    post('heartbeat a finished job', `/api/worker/jobs/${f.j3}/heartbeat`, 409, { coordinator_id: 'c1', claim_seq: f.c3 }, '/job/status', worker),
    post('heartbeat the running job as another instance', `/api/worker/jobs/${f.j4}/heartbeat`, 409, { coordinator_id: 'c2', claim_seq: f.c4 }, '/job/status', worker),
    post('heartbeat the running job naming a claim it never had', `/api/worker/jobs/${f.j4}/heartbeat`, 409, { coordinator_id: 'c1', claim_seq: f.c4 + 1 }, '/claim_seq', worker),
    post('release a job that is not running', `/api/worker/jobs/${f.j3}/release`, 409, { coordinator_id: 'c1', claim_seq: f.c3 }, undefined, worker),
    post('requeue a job that is not running', `/api/worker/jobs/${f.j3}/requeue`, 409, { coordinator_id: 'c1', claim_seq: f.c3, reason: 'its node w1 is down' }, undefined, worker),
    post('complete a job that was never claimed', `/api/worker/jobs/${f.j2}/complete`, 409, { coordinator_id: 'c1', claim_seq: 1 }, '/claim_seq', worker),
    post('fail a succeeded job', `/api/worker/jobs/${f.j3}/fail`, 409, { coordinator_id: 'c1', claim_seq: f.c3, error: 'late' }, '/job/status', worker),
    post('agent logs with the token of a finished job', ticketPath(f.p, f.t3, '/logs'), 401, { step: 's' }, undefined, { authorization: `Bearer ${f.token3}` }),
    post('agent memory of a kind the agent does not own', ticketPath(f.p, f.t4, '/memory/index'), 403, { documents: [{ kind: 'ticket', content: 'c' }] }, '/body/documents/0/kind', agent),
    post('a coordinator token for an unknown project', '/api/coordinators/tokens', 400, { name: 'x', project_ids: [UNKNOWN] }, '/body/project_ids/0'),
    { name: 'delete a project with the wrong confirmation', method: 'DELETE', path: `/api/projects/${f.p}?confirm=${encodeURIComponent(f.pName.toUpperCase())}`, status: 400, detail: '/query/confirm', headers: { 'content-type': 'application/json' } },
    // A bodyless state change on a people route still names its type (a form post cannot).
    { name: 'a bodyless run without Content-Type', method: 'POST', path: ticketPath(f.p, f.t1, '/run'), status: 415, detail: '/headers/content-type', headers: {} },
    { name: 'a bodyless delete without Content-Type', method: 'DELETE', path: `/api/projects/${f.p}?confirm=${encodeURIComponent(f.pName)}`, status: 415, detail: '/headers/content-type', headers: {} },
    call(by('GET', '/api/events'), { name: 'events of an unknown project', query: `project_id=${UNKNOWN}`, status: 404 }),
    { name: 'the review of a ticket without a pull request', method: 'GET', path: ticketPath(f.p, f.t1, '/review'), status: 404 },
    post('comment on a ticket without a pull request', ticketPath(f.p, f.t1, '/review/comment'), 404, { body: 'hello' }),
    post('merge a ticket without a pull request', ticketPath(f.p, f.t1, '/review/merge'), 404, {}),
    post('mark an unknown review comment addressed', ticketPath(f.p, f.t4, '/review/addressed'), 404, { github_comment_id: 424242 }, undefined, agent),
    post('delete memory without saying what', `/api/projects/${f.p}/memory/delete`, 400, {}, '/body'),
  ]
}

/** Sends one request over node:http (full control of method, headers, body and framing). */
function send(base: string, c: Case): Promise<{ status: number; text: string; contentType: string }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    let answered = false
    const req = request({ host: url.hostname, port: url.port, method: c.method, path: c.path, headers: { connection: 'close', ...c.headers }, agent: false }, (res) => {
      answered = true
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }))
      res.on('error', reject)
    })
    req.setTimeout(15000, () => req.destroy(new Error('no answer within 15 s')))
    // A 413 may close the connection before the whole body is written; the answer is what counts.
    req.on('error', (error) => (answered ? undefined : reject(error)))
    if (c.body === undefined) {
      req.end()
    } else if (c.chunked) {
      const data = Buffer.from(c.body)
      for (let i = 0; i < data.length; i += 8192) req.write(data.subarray(i, i + 8192))
      req.end()
    } else {
      req.setHeader('content-length', Buffer.byteLength(c.body))
      req.end(c.body)
    }
  })
}

/** Checks one answer; returns what is wrong with it, or null. */
function judge(c: Case, res: { status: number; text: string; contentType: string }): string | null {
  const where = `${c.name} [${c.method} ${c.path.slice(0, 120)}] → ${res.status} ${res.text.slice(0, 300)}`
  if (res.status >= 500) return `5xx: ${where}`
  if (res.status !== c.status) return `expected ${c.status}: ${where}`
  if (!/^application\/json/.test(res.contentType)) return `not JSON (${res.contentType}): ${where}`
  let body: any
  try {
    body = JSON.parse(res.text)
  } catch {
    return `unparseable body: ${where}`
  }
  const error = body?.error
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string' || !Array.isArray(error.details)) return `not the error shape: ${where}`
  if (error.details.some((d: any) => typeof d?.path !== 'string' || typeof d?.message !== 'string')) return `bad details: ${where}`
  if (res.status === 400) {
    if (!error.details.length) return `a 400 without details: ${where}`
    if (!error.details.every((d: any) => d.path.startsWith('/'))) return `a detail path is not a pointer: ${where}`
  }
  if (c.detail !== undefined) {
    const hit = error.details.some((d: any) => (typeof c.detail === 'string' ? d.path === c.detail : c.detail!.test(d.path)))
    if (!hit) return `no detail naming ${c.detail}: ${where}`
  }
  return null
}

async function fixture(t: TestApp): Promise<Fixture> {
  const worker = { authorization: `Bearer ${WORKER_KEY}` }
  const project = await createRunnableProject(t, { name: 'Bad Input Project' })
  const local = (await t.api('POST', '/api/projects', { name: 'cannot run', execution_mode: 'local' })).body
  const t3 = await createTicket(t, project.id, { title: 'finished', column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' }, worker)
  assert.is(claim.status, 200)
  await t.api(
    'POST', `/api/projects/${project.id}/tickets/${t3.id}/logs`,
    { step: 'clone', summary: 'cloned', event: { kind: 'message', text: 'hi' } },
    { authorization: `Bearer ${claim.body.agent_token}` },
  )
  assert.is((await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 }, worker)).status, 200)
  const t4 = await createTicket(t, project.id, { title: 'running', column_id: 'in_progress' })
  const running = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' }, worker)
  assert.is(running.body.ticket_id, t4.id)
  const t1 = await createTicket(t, project.id, { title: 'idle' })
  const t2 = await createTicket(t, project.id, { title: 'queued', column_id: 'in_progress' })
  const lt = await createTicket(t, local.id, { title: 'stuck' })
  const note = (await t.api('POST', `/api/projects/${project.id}/notes`, { title: 'a note', associated_node_ids: ['a'] })).body
  const graph = await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes: [{ id: 'a', label: 'A' }, { id: 'b', label: 'B' }], edges: [{ id: 'ab', source: 'a', target: 'b' }], version: 1 })
  assert.is(graph.status, 200)
  assert.is((await t.api('PUT', '/api/settings', { values: { WORKER_API_KEY: 'sk_bad_input_fixture_key', GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET } })).status, 200)
  const ticket2 = (await t.api('GET', `/api/projects/${project.id}/tickets/${t2.id}`)).body
  const board = (await t.api('GET', `/api/projects/${project.id}/board`)).body
  const coordinatorToken = await t.api('POST', '/api/coordinators/tokens', { name: 'fixture' })
  assert.is(coordinatorToken.status, 201)
  const notification = await t.api('POST', '/api/notifications/endpoints', { url: 'https://hooks.example/fixture', events: ['ci_fix.exhausted'] })
  assert.is(notification.status, 201)
  return {
    p: project.id, pName: project.name, l: local.id, t1: t1.id, t2: t2.id, t3: t3.id, t4: t4.id, j4: running.body.job_id, c4: running.body.claim_seq, lt: lt.id, note: note.id,
    j2: ticket2.job.job_id, j3: claim.body.job_id, c3: claim.body.claim_seq, token3: claim.body.agent_token, token4: running.body.agent_token, coordinatorTokenId: coordinatorToken.body.id, notificationId: notification.body.endpoint.id,
    graphVersion: graph.body.version, boardVersion: board.version,
  }
}

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp; f?: Fixture }>(`bad input (${kind})`)
  test.before(async (context) => {
    // A long lease: the running fixture job must not expire (and change) while the requests run.
    context.t = await startTestApp({ kind, env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY, MAX_BODY_BYTES: String(MAX_BODY_BYTES), JOB_LEASE_SEC: '3600' } })
  })
  test.after(async ({ t }) => t.close())

  test('every malformed request is a 4xx with the error shape, and nothing changes', async (context) => {
    const { t } = context
    const f = (context.f = await fixture(t))
    const list = endpoints(f)
    const groups: Record<string, Case[]> = {
      'bad ids': badIdCases(list),
      'unknown ids': unknownIdCases(list, f),
      bodies: bodyCases(list),
      'field values': valueCases(list, f),
      queries: queryCases(list),
      'routes and methods': routeCases(list, f),
      auth: authCases(list, f),
      webhooks: webhookCases(),
      state: stateCases(list, f),
    }
    const cases = Object.values(groups).flat()
    assert.ok(cases.length >= 200, `${cases.length} cases`)
    // Background work started by the fixture (memory indexing) must be done before the baseline.
    const before = await settledSnapshot(t)
    const problems: string[] = []
    for (const c of cases) {
      try {
        const problem = judge(c, await send(t.url, c))
        if (problem) problems.push(problem)
      } catch (error) {
        problems.push(`request failed: ${c.name}: ${(error as Error).message}`)
      }
    }
    const after = await snapshotTables(t)
    const changed = Object.keys(before).filter((table) => before[table] !== after[table])
    process.stdout.write(`  ${kind}: ${cases.length} malformed requests (${Object.entries(groups).map(([name, group]) => `${name} ${group.length}`).join(', ')})\n`)
    assert.equal(problems, [], `${problems.length} of ${cases.length} answers were wrong`)
    assert.equal(changed, [], 'tables changed by refused requests')
    // The app still works afterwards.
    assert.is((await t.api('GET', `/api/projects/${f.p}/tickets/${f.t1}`)).status, 200)
  })

  test('every route of the app is sent malformed requests here, or named with the suite that does', ({ t, f }) => {
    assert.ok(f, 'the fixture was made')
    const listed = new Set(endpoints(f).map((endpoint) => `${endpoint.method} ${endpoint.path}`))
    const routes = t.app.routes.map((route) => `${route.method} ${route.path}`)
    assert.equal(routes.filter((key) => !listed.has(key) && !ELSEWHERE[key]), [], 'routes nobody sends malformed requests to')
    assert.equal([...listed, ...Object.keys(ELSEWHERE)].filter((key) => !routes.includes(key)), [], 'listed routes the app does not have')
  })

  test.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
