// Ticket dependencies (issue 17, acceptance 3 and 5): a chain A ← B ← C moved to In Progress
// together runs A, then B, then C, each starting by itself when its blocker's pull request is
// merged (the merge path's own service call, applyPullState); B and C have no job while they wait.
// Cycles, unknown, other projects' and self ids are 400 naming the field; a waiting ticket counts as
// active; a blocker's failure and deletion show on the waiting ticket; leaving In Progress ends the wait.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { PROXIED, firstAdmin, signIn, userWithRole } from './people-helpers.ts'
import { applyPullState } from '../core/services/review/prs.ts'

const path = (projectId: number, ticketId: number, tail = '') => `/api/projects/${projectId}/tickets/${ticketId}${tail}`

async function jobsOf(t: TestApp, ticketId: number): Promise<{ id: number; status: string }[]> {
  return [...await t.app.ctx.sql`select id, status from agent_jobs where ticket_id = ${ticketId} and kind = 'ticket' order by id`] as never
}

/** The agent's run ends and its pull request is merged: the ticket reaches Done the way a merge moves it. */
async function finishAndMerge(t: TestApp, projectId: number, ticketId: number, number: number): Promise<void> {
  await t.app.ctx.sql`update agent_jobs set status = 'succeeded', finished_at = now() where ticket_id = ${ticketId} and status in ('pending', 'running')`
  await t.api('PATCH', path(projectId, ticketId), { column_id: 'in_review' })
  const [pr] = await t.app.ctx.sql`insert into prs (project_id, ticket_id, repo, number, url, state, head_branch)
    values (${projectId}, ${ticketId}, 'acme/widgets', ${number}, ${`https://github.com/acme/widgets/pull/${number}`}, 'open', ${`ticket-${ticketId}`}) returning id`
  assert.is(await applyPullState(t.app.ctx, pr!.id as number, { state: 'merged' }), 'merged')
}

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`ticket dependencies (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind })
  })
  test.after(async ({ t }) => t.close())

  test('a chain A ← B ← C moved to In Progress together runs A, then B, then C, each by itself', async ({ t }) => {
    const project = await createRunnableProject(t, { key: 'WIDG' })
    const a = await createTicket(t, project.id, { title: 'A' })
    const b = await createTicket(t, project.id, { title: 'B' })
    const c = await createTicket(t, project.id, { title: 'C' })
    const setB = await t.api('PUT', path(project.id, b.id, '/blockers'), { blocked_by: [a.id] })
    assert.is(setB.status, 200, JSON.stringify(setB.body))
    assert.equal(setB.body.blocked_by.map((blocker: { id: number }) => blocker.id), [a.id])
    assert.is((await t.api('PUT', path(project.id, c.id, '/blockers'), { blocked_by: [b.id] })).status, 200)
    assert.equal((await t.api('GET', path(project.id, a.id))).body.blocks, [b.id], 'reads show whom a ticket blocks')

    for (const ticket of [c, b, a]) {
      const moved = await t.api('PATCH', path(project.id, ticket.id), { column_id: 'in_progress' })
      assert.is(moved.status, 200, JSON.stringify(moved.body))
    }
    assert.is((await jobsOf(t, a.id)).length, 1, 'A runs at once')
    for (const waiting of [b, c]) {
      const read = (await t.api('GET', path(project.id, waiting.id))).body
      assert.is(read.waiting, true)
      assert.is(read.job, null, 'a waiting ticket has no job')
      assert.is(read.column_id, 'in_progress')
      assert.equal(await jobsOf(t, waiting.id), [])
    }
    // Waiting counts as active: no second run, and no retry sneaks one in.
    assertError(await t.api('POST', path(project.id, b.id, '/run')), 409)

    await finishAndMerge(t, project.id, a.id, 1)
    assert.is((await t.api('GET', path(project.id, a.id))).body.column_id, 'done')
    const bJobs = await jobsOf(t, b.id)
    assert.is(bJobs.length, 1, 'B started by itself when A was merged')
    assert.is(bJobs[0]!.status, 'pending')
    assert.is((await t.api('GET', path(project.id, b.id))).body.waiting, false)
    assert.equal(await jobsOf(t, c.id), [], 'C still waits for B')
    const events = (await t.api('GET', path(project.id, b.id, '/logs'))).body
    assert.ok(JSON.stringify(events).includes('started by itself: WIDG-1 is done'), JSON.stringify(events))

    await finishAndMerge(t, project.id, b.id, 2)
    const cJobs = await jobsOf(t, c.id)
    assert.is(cJobs.length, 1, 'C started by itself when B was merged')
    const order = [...(await jobsOf(t, a.id)), ...bJobs, ...cJobs].map((job) => job.id)
    assert.equal(order, order.slice().sort((x, y) => x - y), 'jobs were created A, then B, then C')
  })

  test('a cycle is refused with 400 naming the tickets; bad ids name the field', async ({ t }) => {
    const project = await createRunnableProject(t, { key: 'CYC' })
    const one = await createTicket(t, project.id, { title: 'one' })
    const two = await createTicket(t, project.id, { title: 'two' })
    const three = await createTicket(t, project.id, { title: 'three' })
    assert.is((await t.api('PUT', path(project.id, three.id, '/blockers'), { blocked_by: [one.id] })).status, 200)
    assert.is((await t.api('PUT', path(project.id, two.id, '/blockers'), { blocked_by: [three.id] })).status, 200)
    const cycle = await t.api('PUT', path(project.id, one.id, '/blockers'), { blocked_by: [two.id] })
    assertError(cycle, 400, '/body/blocked_by')
    assert.match(cycle.body.error.message, 'CYC-1 → CYC-2 → CYC-3 → CYC-1')
    assertError(await t.api('PUT', path(project.id, one.id, '/blockers'), { blocked_by: [one.id] }), 400, '/body/blocked_by/0')
    assertError(await t.api('PUT', path(project.id, one.id, '/blockers'), { blocked_by: [2147483000] }), 400, '/body/blocked_by/0')
    const other = await createRunnableProject(t)
    const foreign = await createTicket(t, other.id, { title: 'elsewhere' })
    assertError(await t.api('PUT', path(project.id, one.id, '/blockers'), { blocked_by: [foreign.id] }), 400, '/body/blocked_by/0')
    // Another project's path to the ticket is no way in either.
    assertError(await t.api('PUT', path(other.id, one.id, '/blockers'), { blocked_by: [] }), 404)
    assert.equal((await t.api('GET', path(project.id, one.id))).body.blocked_by, [], 'nothing was written')
    // Replacing the list with an empty one clears it.
    assert.equal((await t.api('PUT', path(project.id, two.id, '/blockers'), { blocked_by: [] })).body.blocked_by, [])
  })

  test('a blocker\'s failure shows and starts nothing; its deletion shows and, the last one gone, starts the ticket', async ({ t }) => {
    const project = await createRunnableProject(t, { key: 'DEL' })
    const first = await createTicket(t, project.id, { title: 'first' })
    const second = await createTicket(t, project.id, { title: 'second' })
    const waiter = await createTicket(t, project.id, { title: 'waiter' })
    await t.api('PUT', path(project.id, waiter.id, '/blockers'), { blocked_by: [first.id, second.id] })
    await t.api('PATCH', path(project.id, first.id), { column_id: 'in_progress' })
    await t.api('PATCH', path(project.id, waiter.id), { column_id: 'in_progress' })
    await t.app.ctx.sql`update agent_jobs set status = 'failed', finished_at = now() where ticket_id = ${first.id}`
    let read = (await t.api('GET', path(project.id, waiter.id))).body
    assert.is(read.blocked_by.find((blocker: { id: number }) => blocker.id === first.id).job_status, 'failed')
    assert.is(read.waiting, true, 'a failed blocker starts nothing')

    assert.is((await t.api('DELETE', path(project.id, first.id))).status, 204)
    read = (await t.api('GET', path(project.id, waiter.id))).body
    assert.equal(read.waiting_notes, ['DEL-1 was deleted'])
    assert.equal(read.blocked_by.map((blocker: { id: number }) => blocker.id), [second.id])
    assert.is(read.waiting, true, 'DEL-2 still blocks it')
    assert.is((await t.api('DELETE', path(project.id, second.id))).status, 204)
    read = (await t.api('GET', path(project.id, waiter.id))).body
    assert.is(read.waiting, false, 'no blocker left: it started')
    assert.is(read.job.status, 'pending')
  })

  test('moving a waiting ticket out of In Progress cancels the wait; setting no open blocker starts it', async ({ t }) => {
    const project = await createRunnableProject(t)
    const blocker = await createTicket(t, project.id, { title: 'blocker' })
    const waiter = await createTicket(t, project.id, { title: 'waiter' })
    await t.api('PUT', path(project.id, waiter.id, '/blockers'), { blocked_by: [blocker.id] })
    const run = await t.api('POST', path(project.id, waiter.id, '/run'))
    assert.is(run.status, 201, JSON.stringify(run.body))
    assert.is(run.body.job, null, 'a blocked run waits')
    assert.is(run.body.ticket.waiting, true)
    const back = await t.api('PATCH', path(project.id, waiter.id), { column_id: 'backlog' })
    assert.is(back.body.waiting, false)
    await t.api('PATCH', path(project.id, blocker.id), { column_id: 'done' })
    assert.equal(await jobsOf(t, waiter.id), [], 'a cancelled wait does not start later')
    // Waiting again, then its blockers are replaced by none: it starts at once.
    const other = await createTicket(t, project.id, { title: 'other' })
    await t.api('PUT', path(project.id, waiter.id, '/blockers'), { blocked_by: [other.id] })
    await t.api('PATCH', path(project.id, waiter.id), { column_id: 'in_progress' })
    assert.is((await t.api('GET', path(project.id, waiter.id))).body.waiting, true)
    const cleared = await t.api('PUT', path(project.id, waiter.id, '/blockers'), { blocked_by: [] })
    assert.is(cleared.body.waiting, false)
    assert.is((await jobsOf(t, waiter.id)).length, 1)
  })

  test.run()
}

const roles = suite<{ t: TestApp }>('ticket dependencies: access (postgres)')
roles.before(async (context) => {
  context.t = await startTestApp({ kind: 'postgres' })
})
roles.after(async ({ t }) => t.close())

roles('a viewer may read blockers but not set them; a member may', async ({ t }) => {
  const admin = await firstAdmin(t)
  const viewer = { ...PROXIED, ...(await userWithRole(t, admin, 'vera', 'viewer')).headers }
  const member = { ...PROXIED, ...(await userWithRole(t, admin, 'max', 'member')).headers }
  const project = (await t.api('POST', '/api/projects', { name: 'guarded', repo_url: 'https://git.example/repo.git' }, admin)).body
  const a = (await t.api('POST', `/api/projects/${project.id}/tickets`, { title: 'a' }, member)).body
  const b = (await t.api('POST', `/api/projects/${project.id}/tickets`, { title: 'b' }, member)).body
  assertError(await t.api('PUT', path(project.id, b.id, '/blockers'), { blocked_by: [a.id] }, viewer), 403)
  assert.equal((await t.api('GET', path(project.id, b.id), undefined, viewer)).body.blocked_by, [])
  const set = await t.api('PUT', path(project.id, b.id, '/blockers'), { blocked_by: [a.id] }, member)
  assert.is(set.status, 200, JSON.stringify(set.body))
  assertError(await t.api('PUT', path(project.id, b.id, '/blockers'), { blocked_by: [a.id] }, PROXIED), 401)
})

roles('a waiting ticket starts as the app later, so who may start it is checked when the wait begins', async ({ t }) => {
  const admin = await signIn(t, 'root')
  const member = { ...PROXIED, ...(await signIn(t, 'max')) }
  // A local project's agents run on the app's host: only an admin may start one, and so only an admin may make one wait.
  const local = await t.api('POST', '/api/projects', { name: 'on-host', execution_mode: 'local' }, admin)
  assert.is(local.status, 201, JSON.stringify(local.body))
  const a = (await t.api('POST', `/api/projects/${local.body.id}/tickets`, { title: 'a' }, member)).body
  const b = (await t.api('POST', `/api/projects/${local.body.id}/tickets`, { title: 'b' }, member)).body
  assert.is((await t.api('PUT', path(local.body.id, b.id, '/blockers'), { blocked_by: [a.id] }, member)).status, 200)
  assertError(await t.api('PATCH', path(local.body.id, b.id), { column_id: 'in_progress' }, member), 403, '/project/execution_mode')
  const read = (await t.api('GET', path(local.body.id, b.id), undefined, member)).body
  assert.is(read.column_id, 'backlog')
  assert.is(read.waiting, false)
})

roles.run()

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
