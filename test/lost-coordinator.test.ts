/**
 * A lost coordinator loses nothing and never runs a ticket twice at once (local mode, real
 * coordinators, real agents, Claude Code against a slow scripted model):
 * - two coordinators, one killed with kill -9 while its agents work: those agents stop themselves
 *   before their lease runs out, the reaper requeues after the grace period, the other coordinator
 *   finishes every ticket (continuing what an earlier attempt pushed), exactly one PR per ticket,
 *   and a sampler every 200 ms never sees two live agents for one ticket;
 * - a coordinator and its agents all killed (a crash), then restarted: the stale worktrees are
 *   pruned by the next job start and every job completes.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync, mkdtempSync, rmSync, readlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliDirs, getTicket, startWorld, type World } from './bench/agent-harness.ts'
import { assertWorldClean } from './secret-scan.ts'
import { WORKTREES, dirtyCheckout, gitIn, hostCoordinator, leftoverWorktrees, snapshot } from './checkout-fixtures.ts'
import type { CoordinatorProcess } from './coordinator-fixtures.ts'
import { waitFor } from './helpers.ts'
import { APP_ENV, allEnded, assertEveryTicketDone, jobOf, orphanSaidWhy, runTickets, sampleAgents, slowScript, workerAsked } from './lost-coordinator-fixtures.ts'

const scratch = mkdtempSync(join(tmpdir(), 'lost-coordinator-'))
const coordinators: CoordinatorProcess[] = []

test.after(async () => {
  for (const coordinator of coordinators) await coordinator.stop('SIGKILL')
  rmSync(scratch, { recursive: true, force: true })
})

interface AgentProcess { pid: number; ppid: number; ticketId: number; jobId: number; attempt: number }

/** Live agent processes of this world's app (from /proc: argv names agent.ts, env names the job). */
function liveAgents(world: World): AgentProcess[] {
  const found: AgentProcess[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').some((arg) => arg.endsWith('/agent.ts'))) continue
      const stat = /^\d+ \(.*\) (\S) (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))
      if (!stat || stat[1] === 'Z') continue
      const env = Object.fromEntries(readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
      if (env.TERARCHITECT_API_URL !== world.t.url || env.PROJECT_ID !== String(world.projectId)) continue
      found.push({ pid: Number(entry), ppid: Number(stat[2]), ticketId: Number(env.TICKET_ID), jobId: Number(env.JOB_ID), attempt: Number(env.JOB_ATTEMPT) })
    } catch {
      // gone meanwhile
    }
  }
  // A child the agent is starting shows the agent's argv and environment between fork and exec:
  // that is the same agent, not a second one.
  const pids = new Set(found.map((agent) => agent.pid))
  return found.filter((agent) => !pids.has(agent.ppid))
}

function coordinator(world: World, claude: string, stateDir = mkdtempSync(join(scratch, 'state-'))): CoordinatorProcess {
  const started = hostCoordinator(world, claude, 3, stateDir)
  coordinators.push(started)
  return started
}

const lastEvents = async (world: World, ticketId: number) =>
  (await world.t.api('GET', `/api/projects/${world.projectId}/tickets/${ticketId}/logs?limit=1000`, undefined, world.people)).body.events
    .filter((e: { step: string }) => e.step !== 'agent_output').slice(-6).map((e: { step: string; summary: string }) => `${e.step}: ${e.summary}`)

const coordinatorId = async (c: CoordinatorProcess) => (await c.waitForLog(/^coordinator started$/)).coordinatorId as string
async function localWorld(name: string): Promise<{ world: World; checkout: string; claude: string }> {
  const claude = cliDirs().get('claude')
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  const world = await startWorld({ script: slowScript, settings: { WORKER_MODE: 'claude-code' }, appEnv: APP_ENV })
  const checkout = join(scratch, name)
  dirtyCheckout(world.bare, checkout, world.repoUrl)
  await world.t.api('PATCH', `/api/projects/${world.projectId}`, { execution_mode: 'local', project_path: checkout }, world.people)
  return { world, checkout, claude: claude! }
}

test('two coordinators, one killed with its agents alive: every ticket succeeds once, never two live agents for one ticket', async () => {
  const { world, checkout, claude } = await localWorld('two-coordinators')
  try {
    const before = snapshot(checkout)
    const doomed = coordinator(world, claude)
    const survivor = coordinator(world, claude)
    const doomedId = await coordinatorId(doomed)
    await coordinatorId(survivor)
    const sampler = sampleAgents(() => liveAgents(world))
    const { ids } = await runTickets(world, 6)

    // Kill it once one of its agents is mid-turn (its model call in flight).
    const jobs: Record<string, unknown>[] = []
    const victim = await waitFor(async () => {
      jobs.length = 0
      for (const id of ids) {
        const ticket = await getTicket(world, id)
        const job = ticket.job && (await jobOf(world, ticket.job.job_id))
        jobs.push({ ticket: id, status: job?.status, claimed_by: job?.claimed_by, attempt: job?.attempt, error: job?.error })
        if (job?.status === 'running' && job.claimed_by === doomedId && workerAsked(world, id)) return { id, jobId: job.id as number }
      }
      return null
    }, 120_000, 'an agent of the first coordinator mid-turn').catch(async (error) => {
      throw new Error(`${error.message}; first coordinator ${doomedId}; jobs: ${JSON.stringify(jobs)}; LLM requests: ${world.llm.requests.length}; ` +
        `last events of ticket ${ids[0]}: ${JSON.stringify(await lastEvents(world, ids[0]!))}`)
    })
    doomed.child.kill('SIGKILL')
    await doomed.exited
    const orphans = liveAgents(world).filter((agent) => agent.jobId === victim.jobId)
    assert.is(orphans.length, 1, 'the killed coordinator\'s agent lives on')

    const ended = await allEnded(world, ids, 300_000)
    sampler.stop()
    await assertEveryTicketDone(world, ended)
    assert.ok(sampler.samples() > 20, `${sampler.samples()} samples`)
    assert.equal(sampler.overlaps, [], 'two live agents for one ticket')
    const retried = await jobOf(world, victim.jobId)
    assert.ok(retried.attempt >= 2, `the orphaned job was run again: ${JSON.stringify(retried)}`)
    assert.not.equal(retried.claimed_by, doomedId)
    assert.ok(await orphanSaidWhy(world, victim.id), 'the orphaned agent said why it stopped, or the retry went on from its push')
    await waitFor(async () => leftoverWorktrees(checkout).length === 0, 15_000, 'every worktree to be removed')
    assert.equal(snapshot(checkout), before)
    await assertWorldClean(world, { 'coordinator log': coordinators.flatMap((c) => c.lines) })
  } finally {
    for (const c of coordinators.splice(0)) await c.stop('SIGKILL')
    await world.close()
  }
})

test('kill -9 of a coordinator and its agents, then a restart: the stale worktrees are pruned and the jobs complete', async () => {
  const { world, checkout, claude } = await localWorld('crash-restart')
  try {
    const before = snapshot(checkout)
    const stateDir = mkdtempSync(join(scratch, 'state-'))
    const first = coordinator(world, claude, stateDir)
    await coordinatorId(first)
    const { ids } = await runTickets(world, 3)
    await waitFor(async () => ids.every((id) => workerAsked(world, id)), 120_000, 'every worker mid-turn')
      .catch(async (error) => {
        throw new Error(`${error.message}; last events of ticket ${ids[0]}: ${JSON.stringify(await lastEvents(world, ids[0]!))}`)
      })
    assert.is(leftoverWorktrees(checkout).length, 3)

    // A crash of the whole tree: the coordinator, its agents and their worker CLIs (by cwd).
    first.child.kill('SIGKILL')
    await first.exited
    const root = join(checkout, WORKTREES)
    for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      let cwd = ''
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`)
      } catch {}
      const agent = liveAgents(world).some((a) => String(a.pid) === pid)
      if (agent || cwd.startsWith(root)) {
        try {
          process.kill(Number(pid), 'SIGKILL')
        } catch {}
      }
    }
    await waitFor(async () => liveAgents(world).length === 0, 10_000, 'the agents to be gone')
    assert.is(leftoverWorktrees(checkout).length, 3, 'the crash left its worktrees')

    const restarted = coordinator(world, claude, stateDir)
    await coordinatorId(restarted)
    const ended = await allEnded(world, ids, 300_000)
    await assertEveryTicketDone(world, ended)
    for (const t of ended) assert.ok(t.job.attempt >= 2, `ticket ${t.id} ran again after the crash`)
    await waitFor(async () => leftoverWorktrees(checkout).length === 0, 15_000, 'no stale worktree to remain')
    assert.is(gitIn(checkout, 'for-each-ref', 'refs/terarchitect/'), '')
    assert.equal(snapshot(checkout), before)
    await assertWorldClean(world, { 'coordinator log': coordinators.flatMap((c) => c.lines) })
  } finally {
    for (const c of coordinators.splice(0)) await c.stop('SIGKILL')
    await world.close()
  }
})

test.run()
