// Tickets, notes, logs and jobs over HTTP, on real PostgreSQL 15 and on PGlite: positions stay
// dense, run/move enqueue or refuse with 422/409, moving back cancels, logs paginate, jobs retry.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, claimSeqOf, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'

/** Ticket ids per column in board order, after checking every column's positions are 0..n-1. */
async function board(t: TestApp, projectId: number): Promise<Record<string, number[]>> {
  const res = await t.api('GET', `/api/projects/${projectId}/tickets`)
  assert.is(res.status, 200)
  const columns: Record<string, { id: number; position: number }[]> = {}
  for (const ticket of res.body) (columns[ticket.column_id] ??= []).push(ticket)
  const out: Record<string, number[]> = {}
  for (const [column, tickets] of Object.entries(columns)) {
    assert.equal(tickets.map((ticket) => ticket.position), tickets.map((_, i) => i), `positions in ${column} are dense and ordered`)
    out[column] = tickets.map((ticket) => ticket.id)
  }
  return out
}

const path = (projectId: number, ticketId?: number) => `/api/projects/${projectId}/tickets${ticketId === undefined ? '' : `/${ticketId}`}`

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`api tickets (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind })
  })
  test.after(async ({ t }) => t.close())

  test('create and edit a ticket', async ({ t }) => {
    const project = await createRunnableProject(t)
    const created = await t.api('POST', path(project.id), {
      title: 'Add login', description: 'OAuth', priority: 'high', associated_node_ids: ['api'], associated_edge_ids: ['*'],
    })
    assert.is(created.status, 201, JSON.stringify(created.body))
    assert.is(created.body.title, 'Add login')
    assert.is(created.body.description, 'OAuth')
    assert.is(created.body.priority, 'high')
    assert.is(created.body.column_id, 'backlog', 'new tickets land in the backlog')
    assert.is(created.body.position, 0)
    assert.equal(created.body.associated_node_ids, ['api'])
    assert.equal(created.body.associated_edge_ids, ['*'])
    assert.is(created.body.job, null)
    const defaults = await t.api('POST', path(project.id), { title: 'Defaults' })
    assert.is(defaults.body.priority, 'medium')
    assert.is(defaults.body.description, '')
    assert.equal(defaults.body.associated_node_ids, [])

    const id = created.body.id
    const edited = await t.api('PATCH', path(project.id, id), { title: 'Add OAuth login', priority: 'low', associated_node_ids: [] })
    assert.is(edited.status, 200, JSON.stringify(edited.body))
    assert.is(edited.body.title, 'Add OAuth login')
    assert.is(edited.body.priority, 'low')
    assert.is(edited.body.description, 'OAuth', 'unsent fields are kept')
    assert.equal(edited.body.associated_node_ids, [])
    assert.equal(edited.body.associated_edge_ids, ['*'])
    assert.equal((await t.api('GET', path(project.id, id))).body, edited.body)
    assertError(await t.api('GET', path(project.id, 2147483647)), 404)
    assertError(await t.api('PATCH', path(project.id, 2147483647), { title: 'x' }), 404)
    assertError(await t.api('POST', path(project.id), { title: 'x', column_id: 'nowhere' }), 400, '/body/column_id')
    assertError(await t.api('PATCH', path(project.id, id), { column_id: 'nowhere' }), 400, '/body/column_id')
    assertError(await t.api('POST', path(2147483647), { title: 'x' }), 404)
    assertError(await t.api('GET', path(2147483647)), 404)

    // A ticket is only reachable through its own project.
    const other = await createRunnableProject(t)
    assertError(await t.api('GET', path(other.id, id)), 404)
    assertError(await t.api('PATCH', path(other.id, id), { title: 'stolen' }), 404)
    assertError(await t.api('DELETE', path(other.id, id)), 404)
    assert.is((await t.api('GET', path(project.id, id))).body.title, 'Add OAuth login')
  })

  test('positions stay dense and ordered within a column', async ({ t }) => {
    const project = await createRunnableProject(t)
    const a = await createTicket(t, project.id, { title: 'a' })
    const b = await createTicket(t, project.id, { title: 'b' })
    const c = await createTicket(t, project.id, { title: 'c' })
    assert.equal(await board(t, project.id), { backlog: [a.id, b.id, c.id] })
    const d = await createTicket(t, project.id, { title: 'd', position: 0 })
    assert.is(d.position, 0)
    assert.equal(await board(t, project.id), { backlog: [d.id, a.id, b.id, c.id] })
    const e = await createTicket(t, project.id, { title: 'e', position: 2 })
    assert.equal(await board(t, project.id), { backlog: [d.id, a.id, e.id, b.id, c.id] })
    const f = await createTicket(t, project.id, { title: 'f', position: 99 })
    assert.is(f.position, 5, 'a position past the end is clamped to the end')
    assert.equal(await board(t, project.id), { backlog: [d.id, a.id, e.id, b.id, c.id, f.id] })

    await t.api('PATCH', path(project.id, d.id), { position: 4 })
    assert.equal(await board(t, project.id), { backlog: [a.id, e.id, b.id, c.id, d.id, f.id] })
    await t.api('PATCH', path(project.id, f.id), { position: 0 })
    assert.equal(await board(t, project.id), { backlog: [f.id, a.id, e.id, b.id, c.id, d.id] })
    await t.api('PATCH', path(project.id, a.id), { position: 1000 })
    assert.equal(await board(t, project.id), { backlog: [f.id, e.id, b.id, c.id, d.id, a.id] })
    await t.api('PATCH', path(project.id, b.id), { position: 2 })
    assert.equal(await board(t, project.id), { backlog: [f.id, e.id, b.id, c.id, d.id, a.id] }, 'moving to its own position changes nothing')

    // An edit that repeats the ticket's own column (as a form saving every field does) keeps its place.
    const same = await t.api('PATCH', path(project.id, e.id), { title: 'e2', column_id: 'backlog' })
    assert.is(same.status, 200)
    assert.is(same.body.position, 1)
    assert.equal(await board(t, project.id), { backlog: [f.id, e.id, b.id, c.id, d.id, a.id] })
  })

  test('positions stay dense across columns; delete closes the gap', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ids = []
    for (const title of ['a', 'b', 'c', 'd']) ids.push((await createTicket(t, project.id, { title })).id)
    const [a, b, c, d] = ids as [number, number, number, number]
    const x = (await createTicket(t, project.id, { title: 'x', column_id: 'done' })).id
    const y = (await createTicket(t, project.id, { title: 'y', column_id: 'done' })).id
    assert.equal(await board(t, project.id), { backlog: [a, b, c, d], done: [x, y] })

    const moved = await t.api('PATCH', path(project.id, b), { column_id: 'done', position: 1 })
    assert.is(moved.status, 200)
    assert.is(moved.body.column_id, 'done')
    assert.is(moved.body.position, 1)
    assert.equal(await board(t, project.id), { backlog: [a, c, d], done: [x, b, y] })
    await t.api('PATCH', path(project.id, a), { column_id: 'done' })
    assert.equal(await board(t, project.id), { backlog: [c, d], done: [x, b, y, a] }, 'no position = the end of the column')
    await t.api('PATCH', path(project.id, y), { column_id: 'in_review', position: 7 })
    assert.equal(await board(t, project.id), { backlog: [c, d], done: [x, b, a], in_review: [y] })
    await t.api('PATCH', path(project.id, x), { column_id: 'backlog', position: 0 })
    assert.equal(await board(t, project.id), { backlog: [x, c, d], done: [b, a], in_review: [y] })

    assert.is((await t.api('DELETE', path(project.id, c))).status, 204)
    assert.equal(await board(t, project.id), { backlog: [x, d], done: [b, a], in_review: [y] })
    assertError(await t.api('DELETE', path(project.id, c)), 404)
    assertError(await t.api('GET', path(project.id, c)), 404)
    assert.is((await t.api('DELETE', path(project.id, x))).status, 204)
    assert.equal(await board(t, project.id), { backlog: [d], done: [b, a], in_review: [y] })
  })

  test('run moves to In Progress and enqueues; a second run is 409', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id)
    const run = await t.api('POST', `${path(project.id, ticket.id)}/run`)
    assert.is(run.status, 201, JSON.stringify(run.body))
    assert.is(run.body.ticket.column_id, 'in_progress')
    assert.is(run.body.job.status, 'pending')
    assert.is(run.body.job.kind, 'ticket')
    assert.is(run.body.job.ticket_id, ticket.id)
    assert.is(run.body.ticket.job.job_id, run.body.job.id)
    const again = await t.api('POST', `${path(project.id, ticket.id)}/run`)
    assertError(again, 409)
    assert.match(again.body.error.message, /active job/)
    const moveAgain = await t.api('PATCH', path(project.id, ticket.id), { column_id: 'in_progress', position: 0 })
    assert.is(moveAgain.status, 200, 'moving within In Progress does not enqueue again')
    const jobs = (await t.api('GET', `/api/projects/${project.id}/jobs`)).body
    assert.is(jobs.length, 1, 'exactly one job')
    assertError(await t.api('POST', `${path(project.id, 2147483647)}/run`), 404)

    // A ticket already in In Progress whose job ended can be run again without moving.
    await t.api('POST', `/api/jobs/${run.body.job.id}/cancel`)
    const rerun = await t.api('POST', `${path(project.id, ticket.id)}/run`)
    assert.is(rerun.status, 201, JSON.stringify(rerun.body))
    assert.ok(rerun.body.job.id > run.body.job.id)
    assert.is(rerun.body.ticket.column_id, 'in_progress')
  })

  test('a docker project without repo_url cannot run: 422 naming /project/repo_url, nothing moves', async ({ t }) => {
    const project = (await t.api('POST', '/api/projects', { name: 'no-repo' })).body
    const ticket = await createTicket(t, project.id)
    const moved = await t.api('PATCH', path(project.id, ticket.id), { column_id: 'in_progress' })
    assertError(moved, 422, '/project/repo_url')
    const run = await t.api('POST', `${path(project.id, ticket.id)}/run`)
    assertError(run, 422, '/project/repo_url')
    const read = await t.api('GET', path(project.id, ticket.id))
    assert.is(read.body.column_id, 'backlog', 'the refused move did not happen')
    assert.is(read.body.job, null)
    const before = (await t.api('GET', path(project.id))).body.length
    assertError(await t.api('POST', path(project.id), { title: 'straight in', column_id: 'in_progress' }), 422, '/project/repo_url')
    assert.is((await t.api('GET', path(project.id))).body.length, before, 'the refused create did not happen')
    assert.equal((await t.api('GET', `/api/projects/${project.id}/jobs`)).body, [])

    await t.api('PATCH', `/api/projects/${project.id}`, { github_url: 'https://github.com/acme/r' })
    assert.is((await t.api('POST', `${path(project.id, ticket.id)}/run`)).status, 201, 'runs once repo_url is set')
  })

  test('a local project without project_path cannot run: 422 naming /project/project_path', async ({ t }) => {
    const project = (await t.api('POST', '/api/projects', { name: 'local', execution_mode: 'local', repo_url: 'https://git.example/r.git' })).body
    const ticket = await createTicket(t, project.id)
    const run = await t.api('POST', `${path(project.id, ticket.id)}/run`)
    assertError(run, 422, '/project/project_path')
    assert.not.ok(run.body.error.details.some((d: any) => d.path === '/project/repo_url'))
    await t.api('PATCH', `/api/projects/${project.id}`, { project_path: '/srv/local-repo' })
    assert.is((await t.api('POST', `${path(project.id, ticket.id)}/run`)).status, 201)
    const localNoRepo = (await t.api('POST', '/api/projects', { name: 'local2', execution_mode: 'local', project_path: '/srv/x' })).body
    const other = await createTicket(t, localNoRepo.id)
    assert.is((await t.api('POST', `${path(localNoRepo.id, other.id)}/run`)).status, 201, 'local mode needs no repo_url')
  })

  test('moving back to the backlog cancels: a pending job at once, a running one by request', async ({ t }) => {
    const project = await createRunnableProject(t)
    const pending = await createTicket(t, project.id, { column_id: 'in_progress' })
    const jobId = (await t.api('GET', path(project.id, pending.id))).body.job.job_id
    const back = await t.api('PATCH', path(project.id, pending.id), { column_id: 'backlog' })
    assert.is(back.status, 200)
    assert.is(back.body.job.status, 'cancelled')
    assert.is(back.body.job.cancel_requested, true)
    assert.is((await t.api('GET', `/api/jobs/${jobId}`)).body.status, 'cancelled')
    assert.is((await t.api('POST', '/api/worker/jobs/start', { project_id: project.id })).status, 204, 'nothing left to claim')

    const running = await createTicket(t, project.id, { column_id: 'in_progress' })
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
    assert.is(claim.body.ticket_id, running.id)
    const back2 = await t.api('PATCH', path(project.id, running.id), { column_id: 'backlog' })
    assert.is(back2.body.job.status, 'running')
    assert.is(back2.body.job.cancel_requested, true)
    const beat = await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/heartbeat`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq })
    assert.is(beat.body.cancel_requested, true)
    const ended = await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })
    assert.is(ended.body.status, 'cancelled', 'a requested cancel wins over a success report')

    // Moving to another column (not the backlog) leaves the job alone.
    const third = await createTicket(t, project.id, { column_id: 'in_progress' })
    const toReview = await t.api('PATCH', path(project.id, third.id), { column_id: 'in_review' })
    assert.is(toReview.body.job.status, 'pending')
    assert.is(toReview.body.job.cancel_requested, false)
  })

  test('the ticket carries a summary of its latest job; cancel via the ticket', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id)
    assertError(await t.api('POST', `${path(project.id, ticket.id)}/cancel`), 404, undefined, 'no job to cancel')
    const { job } = (await t.api('POST', `${path(project.id, ticket.id)}/run`)).body
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
    assert.is(claim.body.job_id, job.id)
    await t.api('POST', `/api/worker/jobs/${job.id}/fail`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 2, error: 'tests failed' })
    const read = await t.api('GET', path(project.id, ticket.id))
    assert.equal(read.body.job, {
      job_id: job.id, ticket_id: ticket.id, kind: 'ticket', status: 'failed', attempt: 1, error: 'tests failed', cancel_requested: false,
      // No agent event and no reason from the coordinator: the error is the reason, unclassified.
      reason_kind: 'internal', reason: 'Tests failed', reason_event_id: null, reason_fix: null,
    })
    const listed = (await t.api('GET', path(project.id))).body.find((row: any) => row.id === ticket.id)
    assert.equal(listed.job, read.body.job)
    assertError(await t.api('POST', `${path(project.id, ticket.id)}/cancel`), 409, '/job/status', 'a failed job cannot be cancelled')

    const retried = await t.api('POST', `/api/jobs/${job.id}/retry`)
    const cancel = await t.api('POST', `${path(project.id, ticket.id)}/cancel`)
    assert.is(cancel.status, 200)
    assert.is(cancel.body.id, retried.body.id)
    assert.is(cancel.body.status, 'cancelled')
    assert.is((await t.api('GET', path(project.id, ticket.id))).body.job.status, 'cancelled')
  })

  test('notes CRUD', async ({ t }) => {
    const project = await createRunnableProject(t)
    assert.equal((await t.api('GET', `/api/projects/${project.id}/notes`)).body, [])
    const created = await t.api('POST', `/api/projects/${project.id}/notes`, { title: 'Conventions', content: 'Use tabs', associated_node_ids: ['api', 'db'] })
    assert.is(created.status, 201, JSON.stringify(created.body))
    assert.is(created.body.title, 'Conventions')
    assert.is(created.body.content, 'Use tabs')
    assert.equal(created.body.associated_node_ids, ['api', 'db'])
    assert.equal(created.body.associated_edge_ids, [])
    const second = await t.api('POST', `/api/projects/${project.id}/notes`, { title: 'Second' })
    assert.is(second.body.content, '')
    const list = await t.api('GET', `/api/projects/${project.id}/notes`)
    assert.equal(list.body.map((note: any) => note.id), [created.body.id, second.body.id])

    const patched = await t.api('PATCH', `/api/projects/${project.id}/notes/${created.body.id}`, { content: 'Use spaces', associated_edge_ids: ['e1'] })
    assert.is(patched.status, 200, JSON.stringify(patched.body))
    assert.is(patched.body.content, 'Use spaces')
    assert.is(patched.body.title, 'Conventions')
    assert.equal(patched.body.associated_node_ids, ['api', 'db'])
    assert.equal(patched.body.associated_edge_ids, ['e1'])

    const other = await createRunnableProject(t)
    assertError(await t.api('PATCH', `/api/projects/${other.id}/notes/${created.body.id}`, { title: 'x' }), 404)
    assertError(await t.api('DELETE', `/api/projects/${other.id}/notes/${created.body.id}`), 404)
    assertError(await t.api('POST', '/api/projects/2147483647/notes', { title: 'x' }), 404)
    assertError(await t.api('GET', '/api/projects/2147483647/notes'), 404)
    assert.is((await t.api('DELETE', `/api/projects/${project.id}/notes/${created.body.id}`)).status, 204)
    assertError(await t.api('DELETE', `/api/projects/${project.id}/notes/${created.body.id}`), 404)
    assertError(await t.api('PATCH', `/api/projects/${project.id}/notes/${created.body.id}`, { title: 'x' }), 404)
    assert.equal((await t.api('GET', `/api/projects/${project.id}/notes`)).body.map((note: any) => note.id), [second.body.id])
  })

  test('logs paginate with ?after=&limit= and next_after', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id)
    const { job } = (await t.api('POST', `${path(project.id, ticket.id)}/run`)).body
    // Agents write logs with the job token of their running job.
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
    assert.is(claim.body.job_id, job.id)
    const agent = { authorization: `Bearer ${claim.body.agent_token}` }
    const logs = `${path(project.id, ticket.id)}/logs`
    const posted = await t.api('POST', logs, { job_id: job.id, events: [1, 2, 3, 4, 5].map((n) => ({ step: `s${n}`, summary: `step ${n}` })) }, agent)
    assert.is(posted.status, 201, JSON.stringify(posted.body))
    const seqs: number[] = posted.body.seqs
    assert.is(seqs.length, 5)
    assert.equal(seqs, seqs.slice().sort((x, y) => x - y), 'seqs increase')
    const single = await t.api('POST', logs, { step: 's6', summary: 'step 6', event: { kind: 'message', text: 'hi' } }, agent)
    assert.is(single.status, 201)
    seqs.push(single.body.seqs[0])

    const all = await t.api('GET', logs)
    assert.equal(all.body.events.map((event: any) => event.step), ['s1', 's2', 's3', 's4', 's5', 's6'])
    assert.equal(all.body.events[5].event, { kind: 'message', text: 'hi' })
    assert.is(all.body.events[0].job_id, job.id)
    const steps: string[] = []
    let after = 0
    let pages = 0
    for (;;) {
      const page = await t.api('GET', `${logs}?after=${after}&limit=2`)
      assert.is(page.status, 200)
      assert.ok(page.body.events.length <= 2)
      if (!page.body.events.length) {
        assert.is(page.body.next_after, after, 'an empty page keeps the cursor')
        break
      }
      assert.is(page.body.next_after, page.body.events[page.body.events.length - 1].seq)
      steps.push(...page.body.events.map((event: any) => event.step))
      after = page.body.next_after
      pages++
    }
    assert.is(pages, 3)
    assert.equal(steps, ['s1', 's2', 's3', 's4', 's5', 's6'])
    const tail = await t.api('GET', `${logs}?after=${seqs[3]}`)
    assert.equal(tail.body.events.map((event: any) => event.step), ['s5', 's6'])
    assert.equal((await t.api('GET', `${logs}?job_id=${job.id}&limit=1`)).body.events.map((e: any) => e.step), ['s1'])
    assertError(await t.api('GET', `${logs}?limit=0`), 400, '/query/limit')
    assertError(await t.api('GET', `${logs}?after=-1`), 400, '/query/after')
    assertError(await t.api('GET', `${path(project.id, 2147483647)}/logs`), 404)

    // Another ticket's log is its own.
    const other = await createTicket(t, project.id)
    assert.equal((await t.api('GET', `${path(project.id, other.id)}/logs`)).body, { events: [], next_after: 0 })
  })

  test('jobs: list, get, cancel, retry (only failed or cancelled), status=completed', async ({ t }) => {
    const project = await createRunnableProject(t)
    const [a, b, c] = [await createTicket(t, project.id), await createTicket(t, project.id), await createTicket(t, project.id)]
    const jobA = (await t.api('POST', `${path(project.id, a.id)}/run`)).body.job
    const jobB = (await t.api('POST', `${path(project.id, b.id)}/run`)).body.job
    const jobC = (await t.api('POST', `${path(project.id, c.id)}/run`)).body.job

    const list = await t.api('GET', `/api/projects/${project.id}/jobs`)
    assert.equal(list.body.map((job: any) => job.id), [jobC.id, jobB.id, jobA.id], 'newest first')
    const ofB = await t.api('GET', `/api/projects/${project.id}/jobs?ticket_id=${b.id}`)
    assert.equal(ofB.body.map((job: any) => job.id), [jobB.id], 'filtered by ticket')
    const got = await t.api('GET', `/api/jobs/${jobA.id}`)
    assert.is(got.status, 200)
    assert.is(got.body.ticket_id, a.id)
    assert.is(got.body.status, 'pending')
    assert.is(got.body.max_attempts, 3)
    assertError(await t.api('GET', '/api/jobs/2147483647'), 404)
    assertError(await t.api('GET', '/api/projects/2147483647/jobs'), 404)

    // A: claimed and succeeded. B: claimed and failed. C: cancelled while pending.
    for (let i = 0; i < 2; i++) await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
    await t.api('POST', `/api/worker/jobs/${jobA.id}/complete`, { coordinator_id: 'c1', claim_seq: await claimSeqOf(t, jobA.id), exit_code: 0, usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.01 } })
    await t.api('POST', `/api/worker/jobs/${jobB.id}/fail`, { coordinator_id: 'c1', claim_seq: await claimSeqOf(t, jobB.id), exit_code: 1, error: 'boom' })
    const cancelled = await t.api('POST', `/api/jobs/${jobC.id}/cancel`)
    assert.is(cancelled.status, 200)
    assert.is(cancelled.body.status, 'cancelled')
    assert.is((await t.api('POST', `/api/jobs/${jobC.id}/cancel`)).body.status, 'cancelled', 'cancel is idempotent')
    assertError(await t.api('POST', `/api/jobs/${jobA.id}/cancel`), 409, '/job/status', 'a succeeded job cannot be cancelled')
    assertError(await t.api('POST', '/api/jobs/2147483647/cancel'), 404)

    const done = (await t.api('GET', `/api/jobs/${jobA.id}`)).body
    assert.is(done.status, 'succeeded')
    assert.equal(done.usage, { input_tokens: 10, output_tokens: 5, cost_usd: 0.01 })
    assert.is((await t.api('GET', `/api/jobs/${jobB.id}`)).body.error, 'boom')

    const completed = await t.api('GET', `/api/projects/${project.id}/jobs?status=completed`)
    assert.is(completed.status, 200)
    assert.equal(completed.body.map((job: any) => job.id), [jobA.id], '`completed` means succeeded')
    assert.equal((await t.api('GET', `/api/projects/${project.id}/jobs?status=succeeded`)).body, completed.body)
    assert.equal((await t.api('GET', `/api/projects/${project.id}/jobs?status=failed`)).body.map((job: any) => job.id), [jobB.id])
    assert.ok((await t.api('GET', '/api/jobs?status=completed')).body.some((job: any) => job.id === jobA.id))
    assert.equal((await t.api('GET', `/api/projects/${project.id}/jobs?limit=1`)).body.map((job: any) => job.id), [jobC.id])
    assertError(await t.api('GET', `/api/projects/${project.id}/jobs?status=done`), 400, '/query/status')

    assertError(await t.api('POST', `/api/jobs/${jobA.id}/retry`), 409, undefined, 'succeeded jobs are not retried')
    const retryB = await t.api('POST', `/api/jobs/${jobB.id}/retry`)
    assert.is(retryB.status, 201, JSON.stringify(retryB.body))
    assert.is(retryB.body.status, 'pending')
    assert.is(retryB.body.ticket_id, b.id)
    assert.ok(retryB.body.id > jobC.id)
    assertError(await t.api('POST', `/api/jobs/${retryB.body.id}/retry`), 409, undefined, 'pending jobs are not retried')
    assertError(await t.api('POST', `/api/jobs/${jobB.id}/retry`), 409, undefined, 'the ticket already has an active job')
    const retryC = await t.api('POST', `/api/jobs/${jobC.id}/retry`)
    assert.is(retryC.status, 201)
    assert.is((await t.api('GET', path(project.id, c.id))).body.job.job_id, retryC.body.id)
    assertError(await t.api('POST', '/api/jobs/2147483647/retry'), 404)

    // Retry checks, like a move, that the project can still run.
    await t.api('POST', `/api/jobs/${retryC.body.id}/cancel`)
    await t.api('PATCH', `/api/projects/${project.id}`, { repo_url: null })
    assertError(await t.api('POST', `/api/jobs/${retryC.body.id}/retry`), 422, '/project/repo_url')
  })

  test('an app setting overrides the environment', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
    const put = await t.api('PUT', '/api/settings', { values: { WORKER_MODEL: 'from-app' } })
    assert.is(put.status, 200)
    const model = put.body.settings.find((setting: any) => setting.key === 'WORKER_MODEL')
    assert.is(model.value, 'from-app')
    assert.is(model.source, 'app')
    const context = await t.api('GET', `${path(project.id, ticket.id)}/worker-context`, undefined, { authorization: `Bearer ${claim.body.agent_token}` })
    assert.is(context.body.settings.WORKER_MODEL, 'from-app')
    const unset = await t.api('PUT', '/api/settings', { values: { WORKER_MODEL: null } })
    const back = unset.body.settings.find((setting: any) => setting.key === 'WORKER_MODEL')
    assert.is(back.value, 'test-model', 'unsetting in the app falls back to the environment')
    assert.is(back.source, 'env')
  })

  test.run()

  // WORKER_MODEL unset everywhere (the test app's environment sets it; '' means unset).
  const unset = suite<{ t: TestApp }>(`api tickets, WORKER_MODEL unset (${kind})`)
  unset.before(async (context) => {
    context.t = await startTestApp({ kind, env: { WORKER_MODEL: '' } })
  })
  unset.after(async ({ t }) => t.close())

  unset('running needs WORKER_MODEL: 422 naming /settings/WORKER_MODEL until it is set', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id)
    const run = await t.api('POST', `${path(project.id, ticket.id)}/run`)
    assertError(run, 422, '/settings/WORKER_MODEL')
    assert.not.ok(run.body.error.details.some((d: any) => d.path === '/project/repo_url'))
    assertError(await t.api('PATCH', path(project.id, ticket.id), { column_id: 'in_progress' }), 422, '/settings/WORKER_MODEL')
    assert.is((await t.api('GET', path(project.id, ticket.id))).body.column_id, 'backlog')

    // Both reasons at once when both are missing.
    const bare = (await t.api('POST', '/api/projects', { name: 'bare' })).body
    const bareTicket = await createTicket(t, bare.id)
    const both = await t.api('POST', `${path(bare.id, bareTicket.id)}/run`)
    assertError(both, 422, '/settings/WORKER_MODEL')
    assertError(both, 422, '/project/repo_url')

    assert.is((await t.api('PUT', '/api/settings', { values: { WORKER_MODEL: 'set-in-app' } })).status, 200)
    const ok = await t.api('POST', `${path(project.id, ticket.id)}/run`)
    assert.is(ok.status, 201, JSON.stringify(ok.body))
  })

  unset.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
