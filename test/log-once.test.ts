/**
 * One log, once: a real local-mode ticket (a coordinator process running the agent on the host,
 * Claude Code against the scripted LLM) leaves each agent step once in the stored log. The agent
 * prints its steps to stdout too (for `docker logs` and the coordinator's own log); those lines are
 * not forwarded again as `agent_output`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import { cliDirs, createTicket, startWorld, getTicket } from './bench/agent-harness.ts'
import { dirtyCheckout, hostCoordinator, ticketStory } from './checkout-fixtures.ts'
import type { CoordinatorProcess } from './coordinator-fixtures.ts'
import { waitFor } from './helpers.ts'
import { createJobOutput } from '../core/coordinator/output.ts'
import { createReporter, STEP_LINE_MARK } from '../core/agent/reporter.ts'
import { createLogger } from '../core/log.ts'

const scratch = mkdtempSync(join(tmpdir(), 'log-once-'))
test.after(() => rmSync(scratch, { recursive: true, force: true }))

function script(request: LlmRequest): Reply {
  if (request.tools.length === 0 || request.lastIsToolResult) return { text: 'Done: wrote the file.' }
  return { toolCalls: [writeFileCall(request, 'ONCE.md', 'once\n')!] }
}

interface Stored { seq: number; step: string; summary: string; raw_output: string | null; event: Record<string, any> | null }

test('the coordinator forwards the agent\'s output but the steps it printed; those stay in the tail', async () => {
  const printed: string[] = []
  const reporter = createReporter({ log: createLogger('error', {}, () => {}), post: async () => {}, print: (line) => printed.push(line) })
  reporter.step('push', 'pushed ticket-1')
  await reporter.flush()
  assert.equal(printed, [`${STEP_LINE_MARK}[push] pushed ticket-1`])

  const posts: { step: string; raw_output?: string }[] = []
  const output = createJobOutput({ log: createLogger('error', {}, () => {}), post: async (events) => void posts.push(...events), flushMs: 10 })
  output.write({ stream: 'stdout', text: `${printed[0]}\ncompiling…\n` })
  output.write({ stream: 'stderr', text: `${STEP_LINE_MARK}[exit] agent exits 0\n` })
  await output.close()
  assert.equal(posts.map((e) => [e.step, e.raw_output]), [['agent_output', 'compiling…\n']])
  assert.is(output.tail(), '[push] pushed ticket-1\ncompiling…\n[exit] agent exits 0\n')
})

test('a finished local run\'s log holds each agent step once', async () => {
  const claude = cliDirs().get('claude')
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const world = await startWorld({ script, settings: { WORKER_MODE: 'claude-code' } })
  const checkout = join(scratch, 'checkout')
  let coordinator: CoordinatorProcess | undefined
  try {
    dirtyCheckout(world.bare, checkout, world.repoUrl)
    await world.t.api('PATCH', `/api/projects/${world.projectId}`, { execution_mode: 'local', project_path: checkout }, world.people)
    coordinator = hostCoordinator(world, claude!, 1)
    const ticket = await createTicket(world, { title: 'Write ONCE.md' })
    const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
    assert.is(run.status, 201, JSON.stringify(run.body))
    const ended = await waitFor(async () => {
      const t = await getTicket(world, ticket.id)
      return ['succeeded', 'failed', 'cancelled'].includes(t.job?.status) ? t : null
    }, 180_000, 'the job to end')
    assert.is(ended.job.status, 'succeeded', await ticketStory(world, ticket.id))

    const events: Stored[] = (await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticket.id}/logs?limit=1000`, undefined, world.people)).body.events
    const structured = events.filter((e) => e.step !== 'agent_output')
    for (const step of ['start', 'context', 'clone', 'branch', 'turn', 'commit', 'push', 'pr', 'complete', 'exit']) {
      assert.ok(structured.some((e) => e.step === step), `the log holds the ${step} step`)
    }
    // Each step once: no structured event twice, and none again among the forwarded output lines.
    const seen = new Map<string, number>()
    for (const e of structured) seen.set(`${e.step}: ${e.summary}`, (seen.get(`${e.step}: ${e.summary}`) ?? 0) + 1)
    assert.equal([...seen].filter(([, n]) => n > 1), [], 'no structured step twice')
    const forwarded = events.filter((e) => e.step === 'agent_output').flatMap((e) => (e.raw_output ?? '').split('\n')).map((line) => line.trim()).filter(Boolean)
    const again = forwarded.filter((line) => structured.some((e) => line === `[${e.step}] ${e.summary}` || (line.startsWith(`[${e.step}] `) && e.summary.startsWith(line.slice(e.step.length + 3)))))
    assert.equal(again, [], 'no step again as agent output')
    assert.not.ok(forwarded.some((line) => /^\[(start|memory|context|clone|probe|branch|turn|commit|push|pr|complete|exit)\] /.test(line)), forwarded.join('\n'))
  } finally {
    await coordinator?.stop()
    await world.close()
  }
})

test.run()
