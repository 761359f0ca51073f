/**
 * Cancelling a running agent: a cancel requested in the app while the worker is mid-turn (its LLM
 * call hangs) stops the turn and ends the agent with exit 130 and a `cancelled` event, having pushed
 * nothing; SIGTERM (how the coordinator stops a container) does the same.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import { cliDirs, createTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, ticketEvents, type World } from './bench/agent-harness.ts'
import { waitFor } from './helpers.ts'
import { assertWorldClean } from './secret-scan.ts'

let world: World
let claude: string

/** The first worker call hangs for a minute; everything after would write a file. */
function script(request: LlmRequest): Reply {
  if (request.tools.length === 0 || request.lastIsToolResult) return { text: 'done' }
  if (request.lastUserText.includes('HANG')) return { ...{ toolCalls: [writeFileCall(request, 'HEALTH.md', 'healthy\n')!] }, delayMs: 60_000 }
  return { toolCalls: [writeFileCall(request, 'HEALTH.md', 'healthy\n')!] }
}

test.before(async () => {
  claude = cliDirs().get('claude')!
  world = await startWorld({ script, settings: { WORKER_MODE: 'claude-code' } })
})

test.after(async () => {
  await world?.close()
})

/** Resolves once the worker's LLM call for this ticket is in flight. */
const workerCallStarted = (ticketId: number) =>
  waitFor(async () => world.llm.requests.some((r) => new RegExp(`branch ticket-${ticketId}\\b`).test(JSON.stringify(r.body ?? ''))), 120_000, 'the worker LLM call')

test('cancel mid-turn: the turn is stopped, exit 130, nothing pushed, no PR', async () => {
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const ticket = await createTicket(world, { title: 'HANG forever' })
  const job = await runAndClaim(world, ticket.id)
  const running = runAgentProcess(world, job, { path: [claude], env: { CANCEL_POLL_SEC: '0.5' } })
  await workerCallStarted(ticket.id)
  const cancelledAt = Date.now()
  const cancel = await world.t.api('POST', `/api/jobs/${job.job_id}/cancel`, undefined, world.people)
  assert.is(cancel.status, 200, JSON.stringify(cancel.body))
  const result = await running
  const seconds = (Date.now() - cancelledAt) / 1000
  assert.is(result.code, 130, result.stdout.slice(-2000))
  assert.ok(seconds < 20, `stopped ${seconds.toFixed(1)} s after the cancel (the LLM call would hang 60 s)`)
  const events = await ticketEvents(world, ticket.id)
  const event = events.find((e) => e.step === 'cancelled')
  assert.ok(event, 'a cancelled event')
  assert.match(event!.summary, 'cancel requested')
  assert.match(event!.summary, 'nothing was pushed')
  assert.not.ok(events.some((e) => e.step === 'push' || e.step === 'commit'))
  assert.is(remoteGit(world, ['rev-parse', '--verify', '-q', `ticket-${ticket.id}`]), null)
  assert.is(world.gh.state.repo('acme/widgets')?.pulls.length ?? 0, 0)
})

test('SIGTERM mid-turn ends the same way', async () => {
  const ticket = await createTicket(world, { title: 'HANG until stopped' })
  const job = await runAndClaim(world, ticket.id)
  let child: import('node:child_process').ChildProcess | undefined
  const running = runAgentProcess(world, job, { path: [claude], onSpawn: (c) => (child = c) })
  await workerCallStarted(ticket.id)
  child!.kill('SIGTERM')
  const result = await running
  assert.is(result.code, 130)
  const events = await ticketEvents(world, ticket.id)
  assert.match(events.find((e) => e.step === 'cancelled')?.summary ?? '', 'stopped by SIGTERM')
  assert.is(remoteGit(world, ['rev-parse', '--verify', '-q', `ticket-${ticket.id}`]), null)
})

test('nothing the suite stored holds a secret: database, fake GitHub, app log, agent output', async () => {
  assert.ok(world, 'the suite ran agents')
  await assertWorldClean(world)
})

test.run()
