// Issue 10: a job token writes only its own ticket's memory entries (kind `agent`), and a repo_url
// that git would read as an option or a command transport is refused at the API.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createRunnableProject, createTicket, startTestApp, type TestApp } from '../helpers.ts'
import { assertError, settledSnapshot } from '../api-helpers.ts'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

const test = suite<{ t: TestApp }>('confinement of agent writes and repository URLs')
test.before(async (context) => {
  context.t = await startTestApp({ kind: 'pglite' })
})
test.after(async ({ t }) => t.close())

test('a job token cannot overwrite or replace another ticket\'s, the app\'s or people\'s memory', async ({ t }) => {
  const project = await createRunnableProject(t)
  const a = await createTicket(t, project.id, { title: 'ticket A', column_id: 'in_progress' })
  const claimA = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
  const b = await createTicket(t, project.id, { title: 'ticket B', column_id: 'in_progress' })
  const claimB = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
  assert.is(claimA.body.ticket_id, a.id)
  assert.is(claimB.body.ticket_id, b.id)
  const indexA = `/api/projects/${project.id}/tickets/${a.id}/memory/index`
  const indexB = `/api/projects/${project.id}/tickets/${b.id}/memory/index`

  // A person's document and A's own entry.
  const person = await t.api('POST', `/api/projects/${project.id}/memory/index`, { documents: [{ kind: 'doc', ref: 'style', content: 'tabs, never spaces' }] })
  assert.is(person.status, 201)
  const own = await t.api('POST', indexA, { documents: [{ ref: 'learned', content: 'A learned this' }] }, bearer(claimA.body.agent_token))
  assert.is(own.status, 201, JSON.stringify(own.body))
  assert.equal(own.body.documents.map((d: any) => [d.kind, d.ref]), [['agent', `ticket:${a.id}/learned`]])

  // B tries to overwrite A's entry, the person's document and the app's indexed ticket entry.
  const before = await settledSnapshot(t)
  for (const kind of ['ticket', 'doc', 'project', 'note', 'review']) {
    assertError(await t.api('POST', indexB, { documents: [{ kind, ref: `ticket:${a.id}`, content: 'hijacked' }] }, bearer(claimB.body.agent_token)), 403, '/body/documents/0/kind', kind)
  }
  assert.equal(await settledSnapshot(t), before, 'refused writes changed nothing')
  const hijack = await t.api('POST', indexB, { documents: [{ ref: `ticket:${a.id}/learned`, content: 'hijacked' }] }, bearer(claimB.body.agent_token))
  assert.is(hijack.status, 201)
  assert.is(hijack.body.documents[0].ref, `ticket:${b.id}/ticket:${a.id}/learned`, 'B\'s ref is namespaced under B')
  const rows = await t.app.ctx.sql`select kind, ref, content from memory where project_id = ${project.id} order by id`
  const byRef = new Map(rows.map((row) => [`${row.kind}|${row.ref}`, row.content]))
  assert.is(byRef.get(`agent|ticket:${a.id}/learned`), 'A learned this')
  assert.is(byRef.get('doc|style'), 'tabs, never spaces')
  assert.not.ok(rows.some((row) => row.kind !== 'agent' && row.content === 'hijacked'))
  // A's token writes nothing under B either.
  assertError(await t.api('POST', indexB, { documents: [{ content: 'x' }] }, bearer(claimA.body.agent_token)), 403)
})

test('repo_url (and github_url) refuses options, git transports and other schemes, naming the field', async ({ t }) => {
  const refused = [
    '-u touch${IFS}/tmp/pwned', '--upload-pack=touch /tmp/pwned', '-oProxyCommand=touch /tmp/x',
    'ext::sh -c touch% /tmp/pwned', 'fd::17', 'file::/etc', 'transport::https://github.com/a/b',
    'file:///srv/git/r.git', 'git://git.example/r.git', 'ftp://git.example/r', 'javascript:alert(1)',
    'ssh://-oProxyCommand=touch%20x/r.git', '-user@host:r.git', 'git@-host:r.git', 'git@host:-r.git',
    'https://git.example/r .git', 'not a url',
  ]
  const before = (await t.api('GET', '/api/projects')).body.length
  for (const url of refused) {
    assertError(await t.api('POST', '/api/projects', { name: 'bad', repo_url: url }), 400, '/body/repo_url', url)
    assertError(await t.api('POST', '/api/projects', { name: 'bad', github_url: url }), 400, '/body/github_url', url)
  }
  const project = await createRunnableProject(t)
  assertError(await t.api('PATCH', `/api/projects/${project.id}`, { repo_url: '-u/tmp/x' }), 400, '/body/repo_url')
  assertError(await t.api('PATCH', `/api/projects/${project.id}`, { github_url: 'ext::sh' }), 400, '/body/github_url')
  assert.is((await t.api('GET', '/api/projects')).body.length, before + 1, 'nothing was created by a refused request')
  for (const url of ['https://github.com/acme/r.git', 'http://127.0.0.1:9418/r.git', 'ssh://git@git.example/r.git', 'git@github.com:acme/r.git']) {
    assert.is((await t.api('POST', '/api/projects', { name: 'ok', repo_url: url })).status, 201, url)
  }
})

test.run()
