/**
 * What the lost-coordinator suites share (local mode: test/lost-coordinator.test.ts; docker mode:
 * test/lost-coordinator-docker.test.ts): the short leases, the slow scripted model, running a batch
 * of tickets and checking that each ended with exactly its change and one PR.
 */
import * as assert from 'uvu/assert'
import { writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import { createTicket, getTicket, remoteGit, type World } from './bench/agent-harness.ts'
import { ticketStory } from './checkout-fixtures.ts'
import { waitFor } from './helpers.ts'

/**
 * Leases short enough for a test yet long enough for a loaded machine; the grace above the
 * agents' margin (a quarter of the lease, 3.75 s).
 */
export const APP_ENV = { JOB_LEASE_SEC: '15', JOB_LEASE_GRACE_SEC: '8', REAPER_INTERVAL_SEC: '0.2' }

/** A model that takes 4 s per answer; each ticket's worker writes `ticket-<id>.txt`. */
export function slowScript(request: LlmRequest): Reply {
  if (request.tools.length === 0) return { text: 'ok' }
  if (request.lastIsToolResult) return { text: 'Done: wrote the file.', delayMs: 4000 }
  const id = /branch ticket-(\d+)\b/.exec(request.allText)?.[1] ?? 'unknown'
  return { toolCalls: [writeFileCall(request, `ticket-${id}.txt`, `change for ticket ${id}\n`)!], delayMs: 4000 }
}

/** Whether the model has been asked about ticket `id` (its worker is mid-turn). */
export const workerAsked = (world: World, id: number) => world.llm.requests.some((r) => new RegExp(`branch ticket-${id}\\b`).test(JSON.stringify(r.body ?? '')))

export const jobOf = async (world: World, jobId: number) => (await world.t.api('GET', `/api/jobs/${jobId}`, undefined, world.people)).body

/** `count` tickets, each run (moved to In Progress); their ids and their jobs' ids. */
export async function runTickets(world: World, count: number): Promise<{ ids: number[]; jobIds: Map<number, number> }> {
  const ids: number[] = []
  const jobIds = new Map<number, number>()
  for (let i = 1; i <= count; i++) ids.push((await createTicket(world, { title: `Change ${i}` })).id)
  for (const id of ids) {
    const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${id}/run`, undefined, world.people)
    assert.is(run.status, 201, JSON.stringify(run.body))
    jobIds.set(run.body.job.id, id)
  }
  return { ids, jobIds }
}

export async function allEnded(world: World, ids: number[], ms: number) {
  return waitFor(async () => {
    const all = await Promise.all(ids.map((id) => getTicket(world, id)))
    return all.every((t) => ['succeeded', 'failed', 'cancelled'].includes(t.job?.status)) ? all : null
  }, ms, 'every job to end')
}

/** Every ticket succeeded, its branch holds exactly `ticket-<id>.txt`, and it has exactly one PR. */
export async function assertEveryTicketDone(world: World, tickets: { id: number; job: { status: string; error: string | null } }[]) {
  const pulls = world.gh.state.repo('acme/widgets')?.pulls ?? []
  for (const t of tickets) {
    if (t.job.status !== 'succeeded') assert.unreachable(`ticket ${t.id}: ${t.job.status} ${t.job.error}\n${await ticketStory(world, t.id)}`)
    assert.equal((remoteGit(world, ['diff', '--name-only', 'main', `ticket-${t.id}`]) ?? '').split('\n').filter(Boolean), [`ticket-${t.id}.txt`], `ticket-${t.id} holds exactly its change`)
    assert.is(pulls.filter((pull: { head: { ref: string } }) => pull.head.ref === `ticket-${t.id}`).length, 1, `exactly one PR for ticket ${t.id}`)
  }
}

/** The orphan either stopped itself for its lease, or had pushed its change before it had to, which the next attempt then took to the PR. */
export async function orphanSaidWhy(world: World, ticketId: number): Promise<boolean> {
  const events = (await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticketId}/logs?limit=1000`, undefined, world.people)).body.events
  return events.some((e: { step: string; summary: string }) => /lease of this job could not be confirmed|no longer this agent's/.test(e.summary) || e.step === 'retry')
}

/**
 * Samples every 200 ms; remembers every moment a ticket had two live agents. `live()` lists the
 * agents alive now, each with its ticket.
 */
export function sampleAgents<A extends { ticketId: number }>(live: () => A[] | Promise<A[]>) {
  const overlaps: string[] = []
  let samples = 0
  let busy = false
  const timer = setInterval(async () => {
    if (busy) return // a slow listing is not a second sample
    busy = true
    try {
      const perTicket = new Map<number, A[]>()
      for (const agent of await live()) perTicket.set(agent.ticketId, [...(perTicket.get(agent.ticketId) ?? []), agent])
      samples++
      for (const [ticketId, agents] of perTicket) if (agents.length > 1) overlaps.push(`ticket ${ticketId}: ${JSON.stringify(agents)}`)
    } catch {
      // a failed listing is no sample
    } finally {
      busy = false
    }
  }, 200)
  return { overlaps, samples: () => samples, stop: () => clearInterval(timer) }
}
