// test-runner: alone
// Live updates over Server-Sent Events, on real PostgreSQL 15 and on PGlite: changes arrive on an
// open stream, other projects' events stay out, Last-Event-ID replays exactly what was missed.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DB_KINDS, createRunnableProject, createTicket, sleep, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError, openEvents, type SseMessage } from './api-helpers.ts'

const ticketEvent = (ticketId: number, column?: string) => (message: SseMessage) =>
  message.event.startsWith('ticket.') && message.data.ticket?.id === ticketId && (column === undefined || message.data.ticket.column_id === column)

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`events (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind })
  })
  test.after(async ({ t }) => t.close())

  test('a ticket move made through the API arrives on an open stream within 1 s', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id)
    const stream = await openEvents(t, `/api/events?project_id=${project.id}`)
    try {
      assert.is(stream.status, 200)
      // Let the handler subscribe before the change (the stream is open once headers arrived).
      const started = Date.now()
      const moved = await t.api('PATCH', `/api/projects/${project.id}/tickets/${ticket.id}`, { column_id: 'done' })
      assert.is(moved.status, 200)
      const message = await stream.next(ticketEvent(ticket.id, 'done'), 5000, 'the ticket.updated event')
      const latency = Date.now() - started
      assert.ok(latency < 1000, `arrived after ${latency} ms`)
      assert.is(message.event, 'ticket.updated')
      assert.is(message.data.project_id, project.id)
      assert.is(message.data.from_column_id, 'backlog')
      assert.type(message.id, 'number')
    } finally {
      stream.close()
    }
  })

  test('job, board, graph and note changes arrive too', async ({ t }) => {
    const project = await createRunnableProject(t)
    const stream = await openEvents(t, `/api/events?project_id=${project.id}`)
    try {
      const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
      await stream.next((m) => m.event === 'ticket.created' && m.data.ticket.id === ticket.id, 5000, 'ticket.created')
      await stream.next((m) => m.event === 'job.updated' && m.data.ticket_id === ticket.id && m.data.status === 'pending', 5000, 'job pending')
      await t.api('POST', '/api/worker/jobs/start', { project_id: project.id })
      await stream.next((m) => m.event === 'job.updated' && m.data.ticket_id === ticket.id && m.data.status === 'running', 5000, 'job running')
      const board = (await t.api('GET', `/api/projects/${project.id}/board`)).body
      await t.api('PUT', `/api/projects/${project.id}/board`, { columns: board.columns.map((c: any) => ({ ...c, title: c.title + '*' })) })
      await stream.next((m) => m.event === 'board.updated', 5000, 'board.updated')
      await t.api('PUT', `/api/projects/${project.id}/graph`, { nodes: [{ id: 'a', label: 'A' }], edges: [], version: 1 })
      await stream.next((m) => m.event === 'graph.updated', 5000, 'graph.updated')
      await t.api('POST', `/api/projects/${project.id}/notes`, { title: 'n' })
      await stream.next((m) => m.event === 'note.created', 5000, 'note.created')
      await t.api('DELETE', `/api/projects/${project.id}/tickets/${ticket.id}`)
      await stream.next((m) => m.event === 'ticket.deleted' && m.data.ticket_id === ticket.id, 5000, 'ticket.deleted')
      const ids = stream.messages.map((m) => m.id!)
      assert.equal(ids, ids.slice().sort((a, b) => a - b), 'ids increase')
      assert.is(new Set(ids).size, ids.length, 'no message twice')
    } finally {
      stream.close()
    }
  })

  test('events of another project are not delivered', async ({ t }) => {
    const mine = await createRunnableProject(t)
    const theirs = await createRunnableProject(t)
    const stream = await openEvents(t, `/api/events?project_id=${mine.id}`)
    try {
      const foreign = await createTicket(t, theirs.id)
      await t.api('PATCH', `/api/projects/${theirs.id}/tickets/${foreign.id}`, { column_id: 'done' })
      await t.api('POST', `/api/projects/${theirs.id}/notes`, { title: 'theirs' })
      const own = await createTicket(t, mine.id)
      await stream.next((m) => m.event === 'ticket.created' && m.data.ticket.id === own.id, 5000, 'own ticket.created')
      await sleep(200)
      const leaked = stream.messages.filter((m) => m.data.project_id === theirs.id)
      assert.equal(leaked, [], 'nothing of the other project')
      assert.ok(stream.messages.every((m) => m.data.project_id === mine.id || m.data.project_id === null))
    } finally {
      stream.close()
    }
    // Without a project filter, a stream sees both.
    const all = await openEvents(t, '/api/events')
    try {
      const a = await createTicket(t, mine.id)
      const b = await createTicket(t, theirs.id)
      await all.next((m) => m.event === 'ticket.created' && m.data.ticket.id === a.id, 5000, 'ticket in mine')
      await all.next((m) => m.event === 'ticket.created' && m.data.ticket.id === b.id, 5000, 'ticket in theirs')
    } finally {
      all.close()
    }
  })

  test('reconnecting with Last-Event-ID replays exactly the missed events, in order', async ({ t }) => {
    const project = await createRunnableProject(t)
    const other = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id)
    const first = await openEvents(t, `/api/events?project_id=${project.id}`)
    let lastSeen: number
    try {
      await t.api('PATCH', `/api/projects/${project.id}/tickets/${ticket.id}`, { title: 'seen' })
      lastSeen = (await first.next((m) => m.event === 'ticket.updated' && m.data.ticket.title === 'seen', 5000, 'the seen update')).id!
    } finally {
      first.close()
    }

    // While disconnected: three changes here, some elsewhere.
    const missed: string[] = []
    for (const title of ['m1', 'm2', 'm3']) {
      await t.api('PATCH', `/api/projects/${project.id}/tickets/${ticket.id}`, { title })
      missed.push(title)
      await t.api('POST', `/api/projects/${other.id}/tickets`, { title: `elsewhere ${title}` })
    }
    const resumed = await openEvents(t, `/api/events?project_id=${project.id}`, { lastEventId: lastSeen })
    try {
      const third = await resumed.next((m) => m.data.ticket?.title === 'm3', 5000, 'the last missed update')
      // Then a live change after the replay, exactly once.
      await t.api('PATCH', `/api/projects/${project.id}/tickets/${ticket.id}`, { title: 'live' })
      const live = await resumed.next((m) => m.data.ticket?.title === 'live', 5000, 'the live update')
      await sleep(200)
      // What the stream owed this client up to the live change, straight from the table (background
      // work such as memory indexing may add later events; those are not compared).
      const expected = (await t.app.ctx.sql`
        select id, type from app_events
        where id > ${lastSeen} and id <= ${live.id} and (project_id = ${project.id} or project_id is null) order by id`)
        .map((row) => [Number(row.id), row.type])
      const got = resumed.messages.filter((m) => m.id! <= live.id!).map((m) => [m.id, m.event])
      assert.equal(got, expected, 'the replay is exactly the missed events, in order, then the live one')
      assert.equal(resumed.messages.filter((m) => m.data.ticket).map((m) => m.data.ticket.title), [...missed, 'live'], 'nothing twice')
      assert.ok(third.id! < live.id!)
      assert.is(new Set(resumed.messages.map((m) => m.id)).size, resumed.messages.length)
    } finally {
      resumed.close()
    }

    // ?last_event_id= does the same for clients that cannot set headers.
    const byQuery = await openEvents(t, `/api/events?project_id=${project.id}&last_event_id=${lastSeen}`)
    try {
      await byQuery.next((m) => m.data.ticket?.title === 'live', 5000, 'replay up to the live update')
      assert.equal(byQuery.messages.slice(0, 4).map((m) => m.data.ticket.title), [...missed, 'live'])
    } finally {
      byQuery.close()
    }
  })

  test('a log event arrives when an agent posts logs', async ({ t }) => {
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id })
    const stream = await openEvents(t, `/api/events?project_id=${project.id}`)
    try {
      const base = `/api/projects/${project.id}/tickets/${ticket.id}`
      const posted = await t.api('POST', `${base}/logs`, { step: 'worker', summary: 'edited 2 files', raw_output: 'long raw output', event: { kind: 'file_change', path: 'a.ts', change: 'modify' } }, {
        authorization: `Bearer ${claim.body.agent_token}`,
      })
      assert.is(posted.status, 201)
      const log = await stream.next((m) => m.event === 'log', 5000, 'the log event')
      assert.is(log.data.ticket_id, ticket.id)
      assert.is(log.data.job_id, claim.body.job_id)
      assert.is(log.data.step, 'worker')
      assert.is(log.data.summary, 'edited 2 files')
      assert.is(log.data.seq, posted.body.seqs[0])
      assert.equal(log.data.event, { kind: 'file_change', path: 'a.ts', change: 'modify' })
      assert.is(log.data.raw_output, undefined, 'raw output stays out of the live feed')
    } finally {
      stream.close()
    }
  })

  test('bad stream requests are refused before streaming', async ({ t }) => {
    assertError(await t.api('GET', '/api/events?project_id=abc'), 400, '/query/project_id')
    assertError(await t.api('GET', '/api/events?project_id=0'), 400, '/query/project_id')
    assertError(await t.api('GET', '/api/events?last_event_id=-4'), 400, '/query/last_event_id')
    assertError(await t.api('GET', '/api/events?project_id=2147483647'), 404)
  })

  test.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
