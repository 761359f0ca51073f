// test-runner: slow
/**
 * Local mode works in a worktree per job (core/agent/worktree.ts): a person's dirty checkout is
 * never touched (working tree, index, HEAD, refs, stash, config), whatever the job's end; stale
 * worktrees of dead agents are pruned at the next job start; and through a real coordinator, 8
 * tickets at 4 agents at once on one checkout each end with exactly their own change and one PR
 * (Claude Code against the scripted LLM), and a Stop mid-run leaves the checkout as it was while the
 * next run of that ticket succeeds.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import { cliDirs, createTicket, getTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, ticketEvents, writeAiderStub, type World } from './bench/agent-harness.ts'
import { assertWorldClean } from './secret-scan.ts'
import { WORKTREES, dirtyCheckout, gitIn, hostCoordinator, leftoverWorktrees, snapshot, ticketStory } from './checkout-fixtures.ts'
import type { CoordinatorProcess } from './coordinator-fixtures.ts'
import { waitFor } from './helpers.ts'

const scratch = mkdtempSync(join(tmpdir(), 'local-worktrees-'))

test.after(() => rmSync(scratch, { recursive: true, force: true }))

/** Files ticket-<id> changes over main on the remote. */
const changedOnBranch = (world: World, ticketId: number) =>
  (remoteGit(world, ['diff', '--name-only', 'main', `ticket-${ticketId}`]) ?? '<no branch>').split('\n').filter(Boolean)

test('a dirty checkout is left exactly as it was, whatever the job\'s end; stale worktrees of dead agents are pruned', async () => {
  const world = await startWorld({ settings: { WORKER_MODE: 'aider' } })
  const stub = writeAiderStub(join(scratch, 'aider-stub'), join(scratch, 'aider-record.txt'))
  const checkout = join(scratch, 'person-checkout')
  try {
    dirtyCheckout(world.bare, checkout, world.repoUrl)
    await world.t.api('PATCH', `/api/projects/${world.projectId}`, { execution_mode: 'local', project_path: checkout }, world.people)
    const before = snapshot(checkout)

    const done = await createTicket(world, { title: 'In a worktree' })
    const result = await runAgentProcess(world, await runAndClaim(world, done.id), { path: [stub] })
    assert.is(result.code, 0, result.stdout.slice(-3000))
    assert.equal(changedOnBranch(world, done.id), ['HEALTH.md'], 'the branch holds the job\'s change and nothing of the person\'s')
    const events = await ticketEvents(world, done.id)
    assert.match(events.find((e) => e.step === 'clone')?.summary ?? '', `${join(checkout, WORKTREES)}/job-`)
    assert.equal(snapshot(checkout), before)
    assert.equal(leftoverWorktrees(checkout), [])

    // Unfinished (a budget ran out mid-job): the same.
    const unfinished = await createTicket(world, { title: 'Unfinished in a worktree' })
    const stopped = await runAgentProcess(world, await runAndClaim(world, unfinished.id), { path: [stub], env: { DIRECTOR_MAX_TOKENS: '1' } })
    assert.is(stopped.code, 3, stopped.stdout.slice(-3000))
    assert.equal(snapshot(checkout), before)
    assert.equal(leftoverWorktrees(checkout), [])

    // A crash leaves worktrees behind: one locked by a dead agent (with its refs), one directory git
    // never registered, next to one of a live agent (this process). The next job removes the first two.
    const root = join(checkout, WORKTREES)
    const dead = spawnSync('true').pid!
    gitIn(checkout, 'worktree', 'add', '-q', '--detach', '--lock', '--reason', `terarchitect job 99 attempt 1 pid ${dead} on ${hostname()}`, join(root, 'job-99-1'), 'HEAD')
    gitIn(checkout, 'update-ref', 'refs/terarchitect/job-99-1/main', 'HEAD')
    mkdirSync(join(root, 'job-98-1'))
    const old = new Date(Date.now() - 5 * 60_000)
    utimesSync(join(root, 'job-98-1'), old, old)
    gitIn(checkout, 'worktree', 'add', '-q', '--detach', '--lock', '--reason', `terarchitect job 97 attempt 1 pid ${process.pid} on ${hostname()}`, join(root, 'job-97-1'), 'HEAD')

    const after = await createTicket(world, { title: 'After a crash' })
    const third = await runAgentProcess(world, await runAndClaim(world, after.id), { path: [stub] })
    assert.is(third.code, 0, third.stdout.slice(-3000))
    const pruned = (await ticketEvents(world, after.id)).find((e) => e.step === 'workspace')?.summary ?? ''
    assert.match(pruned, 'removed 2 worktrees')
    assert.equal(leftoverWorktrees(checkout), ['job-97-1'], 'the live agent\'s worktree stays')
    assert.is(gitIn(checkout, 'for-each-ref', 'refs/terarchitect/'), '')
    gitIn(checkout, 'worktree', 'unlock', join(root, 'job-97-1'))
    gitIn(checkout, 'worktree', 'remove', '--force', join(root, 'job-97-1'))
    assert.equal(snapshot(checkout), before)
    await assertWorldClean(world)
  } finally {
    await world.close()
  }
})

// --- Through a real coordinator, with Claude Code -----------------------------------------------

/** Each ticket's worker writes `ticket-<id>.txt`; titles containing HANG make the first call hang. */
function script(request: LlmRequest): Reply {
  if (request.tools.length === 0 || request.lastIsToolResult) return { text: 'Done: wrote the file.' }
  const id = /branch ticket-(\d+)\b/.exec(request.allText)?.[1] ?? 'unknown'
  const call = writeFileCall(request, `ticket-${id}.txt`, `change for ticket ${id}\n`)!
  return request.allText.includes('HANG') ? { toolCalls: [call], delayMs: 120_000 } : { toolCalls: [call] }
}

test('8 tickets, 4 agents at once on one dirty checkout: each branch holds its own change, one PR each, the checkout untouched; Stop mid-run too', async () => {
  const claude = cliDirs().get('claude')
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const world = await startWorld({ script, settings: { WORKER_MODE: 'claude-code' } })
  const checkout = join(scratch, 'shared-checkout')
  let coordinator: CoordinatorProcess | undefined
  try {
    dirtyCheckout(world.bare, checkout, world.repoUrl)
    await world.t.api('PATCH', `/api/projects/${world.projectId}`, { execution_mode: 'local', project_path: checkout }, world.people)
    const before = snapshot(checkout)
    coordinator = hostCoordinator(world, claude!, 4)
    // The peak of agents running at once on the checkout, from the worktrees present.
    let peak = 0
    const sampler = setInterval(() => (peak = Math.max(peak, leftoverWorktrees(checkout).length)), 200)

    const tickets: number[] = []
    for (let i = 1; i <= 8; i++) tickets.push((await createTicket(world, { title: `Change ${i}` })).id)
    for (const id of tickets) {
      const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${id}/run`, undefined, world.people)
      assert.is(run.status, 201, JSON.stringify(run.body))
    }
    const ended = await waitFor(async () => {
      const all = await Promise.all(tickets.map((id) => getTicket(world, id)))
      return all.every((t) => ['succeeded', 'failed', 'cancelled'].includes(t.job?.status)) ? all : null
    }, 300_000, 'every job to end')
    clearInterval(sampler)
    for (const t of ended) if (t.job.status !== 'succeeded') assert.unreachable(`ticket ${t.id}: ${t.job.error}\n${await ticketStory(world, t.id)}`)
    assert.ok(peak >= 2 && peak <= 4, `agents at once: ${peak}`)
    const pulls = world.gh.state.repo('acme/widgets')?.pulls ?? []
    for (const id of tickets) {
      assert.equal(changedOnBranch(world, id), [`ticket-${id}.txt`], `ticket-${id} holds exactly its change`)
      assert.is(remoteGit(world, ['show', `ticket-${id}:ticket-${id}.txt`]), `change for ticket ${id}\n`)
      assert.is(pulls.filter((pull: { head: { ref: string } }) => pull.head.ref === `ticket-${id}`).length, 1, `one PR for ticket ${id}`)
    }
    assert.equal(snapshot(checkout), before)
    assert.equal(leftoverWorktrees(checkout), [])

    // Stop mid-run: the checkout is unchanged, and the ticket's next run succeeds.
    const hang = await createTicket(world, { title: 'HANG until stopped' })
    await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${hang.id}/run`, undefined, world.people)
    await waitFor(async () => world.llm.requests.some((r) => new RegExp(`branch ticket-${hang.id}\\b`).test(JSON.stringify(r.body ?? ''))), 120_000, 'the worker call')
    assert.equal(leftoverWorktrees(checkout).length, 1, 'the running job has its worktree')
    const cancel = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${hang.id}/cancel`, undefined, world.people)
    assert.is(cancel.status, 200, JSON.stringify(cancel.body))
    const stopped = await waitFor(async () => {
      const t = await getTicket(world, hang.id)
      return t.job?.status === 'cancelled' ? t : null
    }, 60_000, 'the job to be cancelled')
    assert.ok(stopped)
    assert.is(remoteGit(world, ['rev-parse', '--verify', '-q', `ticket-${hang.id}`]), null, 'nothing was pushed')
    await waitFor(async () => leftoverWorktrees(checkout).length === 0, 10_000, 'the worktree to be removed')
    assert.equal(snapshot(checkout), before)

    await world.t.api('PATCH', `/api/projects/${world.projectId}/tickets/${hang.id}`, { title: 'No longer stuck' }, world.people)
    const again = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${hang.id}/run`, undefined, world.people)
    assert.is(again.status, 201, JSON.stringify(again.body))
    const rerun = await waitFor(async () => {
      const t = await getTicket(world, hang.id)
      return t.job && t.job.job_id !== stopped.job.job_id && ['succeeded', 'failed', 'cancelled'].includes(t.job.status) ? t : null
    }, 120_000, 'the next run to end')
    assert.is(rerun.job.status, 'succeeded', rerun.job.error)
    assert.equal(changedOnBranch(world, hang.id), [`ticket-${hang.id}.txt`])
    assert.equal(snapshot(checkout), before)
    assert.equal(leftoverWorktrees(checkout), [])
    await assertWorldClean(world, { 'coordinator log': coordinator?.lines ?? [] })
  } finally {
    if (coordinator) await coordinator.stop()
    await world.close()
  }
})

test.run()
