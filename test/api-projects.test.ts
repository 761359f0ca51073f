// Projects, their graph and their board over HTTP, on real PostgreSQL 15 and on PGlite.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { gitUpstream } from '../core/services/git-relay.ts'
import { projectForge } from '../core/services/forge-actions.ts'

const COLUMNS = [
  { id: 'backlog', title: 'Backlog', order: 0, role: 'backlog' },
  { id: 'in_progress', title: 'In Progress', order: 1, role: 'in_progress' },
  { id: 'in_review', title: 'In Review', order: 2, role: 'in_review' },
  { id: 'done', title: 'Done', order: 3, role: 'done' },
]

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`api projects (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind })
  })
  test.after(async ({ t }) => t.close())

  test('create, read, list, patch a project', async ({ t }) => {
    const created = await t.api('POST', '/api/projects', { name: 'Shop', description: 'a shop', repo_url: 'https://git.example/shop.git' })
    assert.is(created.status, 201, JSON.stringify(created.body))
    assert.is(created.body.name, 'Shop')
    assert.is(created.body.description, 'a shop')
    assert.is(created.body.repo_url, 'https://git.example/shop.git')
    assert.is(created.body.execution_mode, 'docker', 'docker is the default execution mode')
    assert.type(created.body.id, 'number')
    const id = created.body.id

    const read = await t.api('GET', `/api/projects/${id}`)
    assert.is(read.status, 200)
    assert.equal(read.body, created.body)
    const list = await t.api('GET', '/api/projects')
    assert.ok(list.body.some((project: any) => project.id === id))

    const patched = await t.api('PATCH', `/api/projects/${id}`, { description: 'the shop', test_command: 'npm test' })
    assert.is(patched.status, 200, JSON.stringify(patched.body))
    assert.is(patched.body.description, 'the shop')
    assert.is(patched.body.test_command, 'npm test')
    assert.is(patched.body.name, 'Shop', 'fields not sent are kept')
    assert.is(patched.body.repo_url, 'https://git.example/shop.git')

    const cleared = await t.api('PATCH', `/api/projects/${id}`, { repo_url: null })
    assert.is(cleared.body.repo_url, null)
    assertError(await t.api('PATCH', `/api/projects/${id}`, {}), 400)
    assertError(await t.api('GET', '/api/projects/2147483647'), 404)
    assertError(await t.api('PATCH', '/api/projects/2147483647', { name: 'x' }), 404)
  })

  test('github_url is accepted as an alias of repo_url', async ({ t }) => {
    const created = await t.api('POST', '/api/projects', { name: 'alias', github_url: 'https://github.com/acme/alias' })
    assert.is(created.status, 201, JSON.stringify(created.body))
    assert.is(created.body.repo_url, 'https://github.com/acme/alias')
    assert.not.ok('github_url' in created.body && created.body.github_url !== created.body.repo_url)
    const patched = await t.api('PATCH', `/api/projects/${created.body.id}`, { github_url: 'git@github.com:acme/alias2.git' })
    assert.is(patched.body.repo_url, 'git@github.com:acme/alias2.git')
    const same = await t.api('POST', '/api/projects', { name: 'both', github_url: 'https://github.com/a/b', repo_url: 'https://github.com/a/b' })
    assert.is(same.status, 201)
    assertError(await t.api('POST', '/api/projects', { name: 'both', github_url: 'https://github.com/a/b', repo_url: 'https://github.com/a/c' }), 400, '/body/github_url')
  })

  test('repo_url with credentials or of an unknown kind is refused', async ({ t }) => {
    for (const url of ['https://user:pass@github.com/a/b.git', 'https://ghp_token@github.com/a/b.git', 'http://x:y@git.example/r']) {
      const res = await t.api('POST', '/api/projects', { name: 'leaky', repo_url: url })
      assertError(res, 400, '/body/repo_url', url)
      assert.not.ok(JSON.stringify(res.body).includes('pass'), 'the refused credential is not echoed')
    }
    // file: and git: are refused too (test/security/machine-confinement.test.ts has options and transports).
    for (const url of ['not a url', 'javascript:alert(1)', 'ftp://git.example/r', 'file:///srv/git/r.git', 'git://git.example/r.git']) {
      assertError(await t.api('POST', '/api/projects', { name: 'odd', repo_url: url }), 400, '/body/repo_url', url)
    }
    const project = await createRunnableProject(t)
    // The answer names the field the caller sent.
    assertError(await t.api('PATCH', `/api/projects/${project.id}`, { github_url: 'https://a:b@github.com/x/y' }), 400, '/body/github_url')
    for (const url of ['git@github.com:acme/r.git', 'ssh://git@git.example/r.git', 'http://127.0.0.1:9418/r.git']) {
      assert.is((await t.api('POST', '/api/projects', { name: 'ok', repo_url: url })).status, 201, url)
    }
    const names = (await t.api('GET', '/api/projects')).body.map((p: any) => p.name)
    assert.not.ok(names.includes('leaky'), 'nothing was created by a refused request')
  })

  test('REPO_ALLOWLIST: repo_url must be on it at create and update (400 naming the field); the git relay and forge actions refuse a project made before', async ({ t }) => {
    const made = await t.api('POST', '/api/projects', { name: 'before-list', repo_url: 'https://github.com/Other/thing.git' })
    assert.is(made.status, 201)
    assert.is((await t.api('PUT', '/api/settings', { values: { REPO_ALLOWLIST: 'acme/shop, Tools/*' } })).status, 200)
    try {
      for (const url of ['https://github.com/ACME/Shop.git', 'git@github.com:acme/shop.git', 'https://github.com/tools/anything', 'ssh://git@github.com/tools/x.git']) {
        assert.is((await t.api('POST', '/api/projects', { name: `ok ${url}`, repo_url: url })).status, 201, url)
      }
      for (const url of ['https://github.com/acme/other.git', 'https://github.com/evil/shop.git', 'https://github.com/x/acme/shop.git', 'https://github.com/acme']) {
        assertError(await t.api('POST', '/api/projects', { name: `no ${url}`, repo_url: url }), 400, '/body/repo_url', url)
      }
      assertError(await t.api('POST', '/api/projects', { name: 'alias', github_url: 'https://github.com/acme/other' }), 400, '/body/github_url')
      assertError(await t.api('PATCH', `/api/projects/${made.body.id}`, { repo_url: 'https://github.com/evil/x' }), 400, '/body/repo_url')
      assert.is((await t.api('GET', `/api/projects/${made.body.id}`)).body.repo_url, 'https://github.com/Other/thing.git', 'nothing changed')
      const project = (await t.api('GET', `/api/projects/${made.body.id}`)).body
      for (const use of [() => gitUpstream(t.app.ctx, project), () => projectForge(t.app.ctx, project)]) {
        try {
          await use()
          assert.unreachable('the forge token must not be used for a repository off the list')
        } catch (error: any) {
          assert.is(error.status, 403, String(error))
          assert.equal(error.details, [{ path: '/project/repo_url', message: 'not on REPO_ALLOWLIST' }])
        }
      }
    } finally {
      await t.api('PUT', '/api/settings', { values: { REPO_ALLOWLIST: null } })
    }
    assert.is((await t.api('POST', '/api/projects', { name: 'unlisted again', repo_url: 'https://github.com/evil/x' })).status, 201, 'unset: any repository')
  })

  test('project_path must be absolute', async ({ t }) => {
    assertError(await t.api('POST', '/api/projects', { name: 'local', execution_mode: 'local', project_path: 'work/repo' }), 400, '/body/project_path')
    assertError(await t.api('POST', '/api/projects', { name: 'local', execution_mode: 'local', project_path: './repo' }), 400, '/body/project_path')
    const ok = await t.api('POST', '/api/projects', { name: 'local', execution_mode: 'local', project_path: '/srv/repo' })
    assert.is(ok.status, 201)
    assert.is(ok.body.execution_mode, 'local')
    assert.is(ok.body.project_path, '/srv/repo')
    assertError(await t.api('PATCH', `/api/projects/${ok.body.id}`, { project_path: '../elsewhere' }), 400, '/body/project_path')
    assert.is((await t.api('GET', `/api/projects/${ok.body.id}`)).body.project_path, '/srv/repo')
    assertError(await t.api('POST', '/api/projects', { name: 'x', execution_mode: 'kubernetes' }), 400, '/body/execution_mode')
  })

  test('DELETE needs ?confirm=<name>', async ({ t }) => {
    const project = await createRunnableProject(t, { name: 'Delete Me' })
    const ticket = await createTicket(t, project.id)
    assertError(await t.api('DELETE', `/api/projects/${project.id}`), 400, '/query/confirm')
    assertError(await t.api('DELETE', `/api/projects/${project.id}?confirm=Delete`), 400, '/query/confirm')
    assertError(await t.api('DELETE', `/api/projects/${project.id}?confirm=delete%20me`), 400, '/query/confirm')
    assert.is((await t.api('GET', `/api/projects/${project.id}`)).status, 200, 'still there')
    const gone = await t.api('DELETE', `/api/projects/${project.id}?confirm=${encodeURIComponent('Delete Me')}`)
    assert.is(gone.status, 204)
    assertError(await t.api('GET', `/api/projects/${project.id}`), 404)
    assertError(await t.api('GET', `/api/projects/${project.id}/tickets/${ticket.id}`), 404)
    assertError(await t.api('GET', `/api/projects/${project.id}/graph`), 404)
    assertError(await t.api('DELETE', `/api/projects/${project.id}?confirm=${encodeURIComponent('Delete Me')}`), 404)
    const [{ n }] = await t.app.ctx.sql`select count(*)::int as n from tickets where project_id = ${project.id}`
    assert.is(n, 0, 'its tickets went with it')
  })

  test('graph GET/PUT with optimistic version', async ({ t }) => {
    const project = await createRunnableProject(t)
    const empty = await t.api('GET', `/api/projects/${project.id}/graph`)
    assert.is(empty.status, 200)
    assert.equal(empty.body.nodes, [])
    assert.equal(empty.body.edges, [])
    const v0 = empty.body.version
    assert.type(v0, 'number')

    const nodes = [
      { id: 'api', label: 'API', type: 'service', x: 10, y: 20, custom: { kept: true } },
      { id: 'db', label: 'Database', type: 'database' },
    ]
    const edges = [{ id: 'e1', source: 'api', target: 'db', label: 'SQL', protocol: 'tcp' }]
    const put = await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes, edges, version: v0 })
    assert.is(put.status, 200, JSON.stringify(put.body))
    assert.is(put.body.version, v0 + 1)
    const read = await t.api('GET', `/api/projects/${project.id}/graph`)
    assert.equal(read.body, { nodes, edges, version: v0 + 1 }, 'extra node fields are kept')

    const stale = await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes: [], edges: [], version: v0 })
    assertError(stale, 409, '/body/version')
    const after = await t.api('GET', `/api/projects/${project.id}/graph`)
    assert.equal(after.body, { nodes, edges, version: v0 + 1 }, 'a stale PUT wrote nothing')
    assertError(await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes: [], edges: [], version: v0 + 7 }), 409, '/body/version')

    const second = await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes: nodes.slice(0, 1), edges: [], version: v0 + 1 })
    assert.is(second.body.version, v0 + 2)
    assertError(await t.api('PUT', '/api/projects/2147483647/graph', { nodes: [], edges: [], version: 1 }), 404)
  })

  test('graph edges must join known nodes; ids are unique', async ({ t }) => {
    const project = await createRunnableProject(t)
    const { version } = (await t.api('GET', `/api/projects/${project.id}/graph`)).body
    const nodes = [{ id: 'a', label: 'A' }, { id: 'b', label: 'B' }]
    const edges = [
      { id: 'e0', source: 'a', target: 'b' },
      { id: 'e1', source: 'ghost', target: 'b' },
      { id: 'e2', source: 'a', target: 'phantom' },
    ]
    const bad = await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes, edges, version })
    assertError(bad, 400, '/body/edges/1/source')
    assertError(bad, 400, '/body/edges/2/target')
    assert.match(bad.body.error.message, /ghost/)
    assertError(await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes: [...nodes, { id: 'a', label: 'again' }], edges: [], version }), 400, '/body/nodes/2/id')
    assertError(await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes, edges: [edges[0], edges[0]], version }), 400, '/body/edges/1/id')
    assertError(await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes: [{ id: 'x' }], edges: [], version }), 400, '/body/nodes/0/label')
    const read = await t.api('GET', `/api/projects/${project.id}/graph`)
    assert.equal(read.body, { nodes: [], edges: [], version }, 'nothing was written')
  })

  test('board GET/PUT and the /kanban alias', async ({ t }) => {
    const project = await createRunnableProject(t)
    const board = await t.api('GET', `/api/projects/${project.id}/board`)
    assert.is(board.status, 200)
    assert.equal(board.body.columns, COLUMNS)
    const kanban = await t.api('GET', `/api/projects/${project.id}/kanban`)
    assert.equal(kanban.body, board.body)

    const columns = [...COLUMNS.slice(0, 2), { id: 'qa', title: 'QA', order: 2, role: 'custom' }, { ...COLUMNS[2]!, order: 3 }, { ...COLUMNS[3]!, order: 4 }]
    const put = await t.api('PUT', `/api/projects/${project.id}/kanban`, { columns, version: board.body.version })
    assert.is(put.status, 200, JSON.stringify(put.body))
    assert.equal(put.body.columns, columns)
    assert.is(put.body.version, board.body.version + 1)
    assert.equal((await t.api('GET', `/api/projects/${project.id}/board`)).body, put.body)
    assertError(await t.api('PUT', `/api/projects/${project.id}/board`, { columns: COLUMNS, version: board.body.version }), 409, '/body/version')

    // Columns come back ordered by `order`, whatever order they were sent in.
    const shuffled = [columns[4], columns[0], columns[2], columns[1], columns[3]]
    const reordered = await t.api('PUT', `/api/projects/${project.id}/board`, { columns: shuffled })
    assert.equal(reordered.body.columns.map((c: any) => c.id), ['backlog', 'in_progress', 'qa', 'in_review', 'done'])
    assertError(await t.api('GET', '/api/projects/2147483647/kanban'), 404)
  })

  test('board roles are required exactly once', async ({ t }) => {
    const project = await createRunnableProject(t)
    const before = (await t.api('GET', `/api/projects/${project.id}/board`)).body
    for (const role of ['backlog', 'in_progress', 'in_review', 'done']) {
      const without = COLUMNS.filter((column) => column.role !== role)
      const res = await t.api('PUT', `/api/projects/${project.id}/board`, { columns: without })
      assertError(res, 400, '/body/columns', `missing ${role}`)
      assert.match(res.body.error.message, role)
      const twice = [...COLUMNS, { id: `second_${role}`, title: 'Twice', order: 9, role }]
      assertError(await t.api('PUT', `/api/projects/${project.id}/board`, { columns: twice }), 400, '/body/columns', `${role} twice`)
    }
    assertError(await t.api('PUT', `/api/projects/${project.id}/board`, { columns: [...COLUMNS, { ...COLUMNS[0]!, role: 'custom' }] }), 400, '/body/columns/4/id')
    assertError(await t.api('PUT', `/api/projects/${project.id}/board`, { columns: [...COLUMNS.slice(1), { ...COLUMNS[0]!, role: 'icebox' }] }), 400, '/body/columns/3/role')
    assert.equal((await t.api('GET', `/api/projects/${project.id}/board`)).body, before, 'nothing was written')
  })

  test('removing a column that holds tickets is refused', async ({ t }) => {
    const project = await createRunnableProject(t)
    const extra = [...COLUMNS, { id: 'qa', title: 'QA', order: 4, role: 'custom' }]
    const { version } = (await t.api('PUT', `/api/projects/${project.id}/board`, { columns: extra })).body
    const ticket = await createTicket(t, project.id, { column_id: 'qa' })
    const refused = await t.api('PUT', `/api/projects/${project.id}/board`, { columns: COLUMNS })
    assertError(refused, 409)
    assert.match(refused.body.error.message, /qa/)
    assert.is((await t.api('GET', `/api/projects/${project.id}/board`)).body.version, version, 'nothing was written')
    await t.api('PATCH', `/api/projects/${project.id}/tickets/${ticket.id}`, { column_id: 'done' })
    const removed = await t.api('PUT', `/api/projects/${project.id}/board`, { columns: COLUMNS })
    assert.is(removed.status, 200, 'an empty column can go')
  })

  test('renaming columns keeps behaviour: the in_progress role still enqueues', async ({ t }) => {
    const project = await createRunnableProject(t)
    // New titles and a new id for the in_progress column (it is empty, so the old id may go).
    const renamed = [
      { id: 'todo', title: 'To do', order: 0, role: 'backlog' },
      { id: 'doing', title: 'Doing', order: 1, role: 'in_progress' },
      { id: 'check', title: 'Check', order: 2, role: 'in_review' },
      { id: 'shipped', title: 'Shipped', order: 3, role: 'done' },
    ]
    const put = await t.api('PUT', `/api/projects/${project.id}/board`, { columns: renamed })
    assert.is(put.status, 200, JSON.stringify(put.body))
    const ticket = await createTicket(t, project.id)
    assert.is(ticket.column_id, 'todo', 'new tickets land in the backlog-role column')
    const moved = await t.api('PATCH', `/api/projects/${project.id}/tickets/${ticket.id}`, { column_id: 'doing' })
    assert.is(moved.status, 200, JSON.stringify(moved.body))
    assert.is(moved.body.job?.status, 'pending', 'moving into the renamed in_progress column enqueued a job')
    const jobs = await t.api('GET', `/api/projects/${project.id}/jobs`)
    assert.is(jobs.body.length, 1)
    assert.is(jobs.body[0].ticket_id, ticket.id)

    // Only the title changes: same behaviour.
    const other = await createRunnableProject(t)
    const retitled = COLUMNS.map((column) => ({ ...column, title: column.title.toUpperCase() + '!' }))
    assert.is((await t.api('PUT', `/api/projects/${other.id}/board`, { columns: retitled })).status, 200)
    const second = await createTicket(t, other.id)
    const run = await t.api('PATCH', `/api/projects/${other.id}/tickets/${second.id}`, { column_id: 'in_progress' })
    assert.is(run.body.job?.status, 'pending')

    // A column whose role is custom does not enqueue, whatever it is called.
    const third = await createRunnableProject(t)
    const custom = [...COLUMNS, { id: 'in-progress-2', title: 'In Progress', order: 9, role: 'custom' }]
    assert.is((await t.api('PUT', `/api/projects/${third.id}/board`, { columns: custom })).status, 200)
    const parked = await createTicket(t, third.id)
    const parkedMove = await t.api('PATCH', `/api/projects/${third.id}/tickets/${parked.id}`, { column_id: 'in-progress-2' })
    assert.is(parkedMove.status, 200)
    assert.is(parkedMove.body.job, null)

    // Via the renamed in_review column the agent's complete still lands in the right place.
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id })
    assert.is(claim.status, 200)
    const done = await t.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/complete`, { summary: 'done' }, { authorization: `Bearer ${claim.body.agent_token}` })
    assert.is(done.body.column_id, 'check')
  })

  test.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
