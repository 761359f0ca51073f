// test-runner: slow
/**
 * A lost coordinator loses nothing in docker mode (real coordinator processes in docker-dood mode,
 * the agent image with the current agent, Claude Code against a slow scripted model): two
 * coordinators share six tickets of one project, three agents each; one is killed with kill -9
 * while its agent containers work mid-turn. Those containers live on (the daemon owns them), in
 * both ways containers reach the app:
 * - through the coordinator's forwarder (an app on loopback): the orphans lose the app, the LLM and
 *   the remote with it, and end without pushing;
 * - directly (an app reachable from the bridge, as with two boxes): the orphans work on, and stop
 *   themselves when their lease can no longer be confirmed (or have pushed before, which the retry
 *   takes to the PR).
 * Either way the reaper requeues after the grace period, the other coordinator finishes every
 * ticket with exactly one PR, and a sampler listing running containers by their job label every
 * 200 ms never sees two live agent containers for one ticket. The dead coordinator's exited
 * containers stay (the survivor removes only its own) until it restarts with its state dir, whose
 * reconcile removes them.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { firstHost } from '../core/coordinator/reachability.ts'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import { COORDINATOR_ID_LABEL, JOB_ID_LABEL } from '../plugins/executors/docker/run-container.ts'
import { buildAgentImage, getTicket, startWorld, type World } from './bench/agent-harness.ts'
import { removeCoordinatorContainers, spawnCoordinator, type CoordinatorProcess } from './coordinator-fixtures.ts'
import { ensureDocker } from './docker-fixtures.ts'
import { waitFor } from './helpers.ts'
import { assertWorldClean } from './secret-scan.ts'
import { APP_ENV, allEnded, assertEveryTicketDone, jobOf, orphanSaidWhy, runTickets, sampleAgents, slowScript, workerAsked } from './lost-coordinator-fixtures.ts'

const TAG = 'terarchitect-agent:test'
const PROJECT_LABEL = 'terarchitect.project_id'
const RUN = `lost-docker-${process.pid}`
const CACHE_PREFIX = `terarchitect-test-${RUN}`
const scratch = mkdtempSync(join(tmpdir(), 'lost-coordinator-docker-'))
const coordinators: CoordinatorProcess[] = []
const worlds: World[] = []
const coordinatorIds: string[] = []
let engine: DockerEngine

test.before(async () => {
  engine = await ensureDocker()
  // Always built: the layer cache makes it quick when nothing changed, and the image then carries the current agent.
  // No Aider in it (these cases run Claude Code): INSTALL_AIDER=never skips asking pip's index
  // whether Aider's pinned version is there, up to 30 s where no index answers.
  const built = await buildAgentImage(TAG, { INSTALL_AIDER: 'never' })
  if (built.code !== 0) throw new Error(`the agent image did not build:\n${built.output.slice(-3000)}`)
})

test.after(async () => {
  for (const coordinator of coordinators) await coordinator.stop('SIGKILL')
  if (engine) {
    await removeCoordinatorContainers(engine, coordinatorIds)
    for (const world of worlds) await engine.volumeRemove(`${CACHE_PREFIX}-p${world.projectId}`, { force: true }).catch(() => {})
    engine.close()
  }
  for (const world of worlds) await world.close()
  rmSync(scratch, { recursive: true, force: true })
})

function coordinator(world: World, apiUrl: string, id: string, stateDir = mkdtempSync(join(scratch, 'state-'))): CoordinatorProcess {
  const started = spawnCoordinator({
    TERARCHITECT_API_URL: apiUrl,
    TERARCHITECT_WORKER_API_KEY: world.secrets.workerApiKey,
    COORDINATOR_ID: id,
    PROJECT_ID: String(world.projectId),
    MAX_CONCURRENT_AGENTS: '3',
    AGENT_IMAGE: TAG,
    AGENT_DOCKER_MODE: 'dood',
    AGENT_CACHE_VOLUME: CACHE_PREFIX,
    AGENT_FALLBACK_TO_HOST: 'false',
    CLAIM_WAIT_SEC: '5',
    HEARTBEAT_MAX_SEC: '1',
    LOG_LEVEL: 'info',
  }, stateDir)
  coordinators.push(started)
  coordinatorIds.push(id)
  return started
}

interface AgentContainer { id: string; jobId: number; ticketId: number; coordinator: string }

/**
 * The project's running agent containers of this case's coordinators (Engine API, label filter;
 * other suites' projects on this daemon have the same ids), each with its job's ticket.
 */
async function liveContainers(world: World, jobIds: Map<number, number>, reach: string): Promise<AgentContainer[]> {
  const running = await engine.containerList({ labels: [`${PROJECT_LABEL}=${world.projectId}`, JOB_ID_LABEL] })
  return running.filter((c) => c.Labels[COORDINATOR_ID_LABEL]?.startsWith(`${RUN}-${reach}-`)).map((c) => {
    const jobId = Number(c.Labels[JOB_ID_LABEL])
    return { id: c.Id.slice(0, 12), jobId, ticketId: jobIds.get(jobId) ?? -jobId, coordinator: c.Labels[COORDINATOR_ID_LABEL] ?? '' }
  })
}

const containersOf = (coordinatorId: string) => engine.containerList({ all: true, labels: [`${COORDINATOR_ID_LABEL}=${coordinatorId}`] })

/** The agent containers' way to the app: the coordinators' forwarder (app on loopback), or the app's own port on the bridge. */
async function worldFor(reach: 'forwarder' | 'direct'): Promise<{ world: World; apiUrl: string }> {
  const world = await startWorld({ script: slowScript, settings: { WORKER_MODE: 'claude-code' }, appEnv: APP_ENV, ...(reach === 'direct' ? { host: '0.0.0.0' } : {}) })
  worlds.push(world)
  if (reach === 'forwarder') return { world, apiUrl: world.t.url }
  const ipam = (await engine.networkInspect('bridge')).IPAM.Config?.[0]
  const gateway = ipam?.Gateway || (ipam?.Subnet ? firstHost(ipam.Subnet) : undefined)
  if (!gateway) throw new Error('the bridge network has no gateway address')
  return { world, apiUrl: `http://${gateway}:${new URL(world.t.url).port}` }
}

for (const reach of ['forwarder', 'direct'] as const) {
  test(`${reach}: two docker coordinators, one killed with its containers alive: every ticket succeeds once, never two live agent containers for one ticket`, async () => {
    const { world, apiUrl } = await worldFor(reach)
    const [doomedId, survivorId] = [`${RUN}-${reach}-a`, `${RUN}-${reach}-b`]
    const doomedState = mkdtempSync(join(scratch, 'state-'))
    const doomed = coordinator(world, apiUrl, doomedId, doomedState)
    const survivor = coordinator(world, apiUrl, survivorId)
    for (const c of [doomed, survivor]) await c.waitForLog(/^coordinator started$/, 60_000)

    const { ids, jobIds } = await runTickets(world, 6)
    const started = Date.now()
    const sampler = sampleAgents(() => liveContainers(world, jobIds, reach))

    // Kill it once one of its agent containers is mid-turn (its model call in flight).
    const victim = await waitFor(async () => {
      for (const container of await liveContainers(world, jobIds, reach)) {
        if (container.coordinator !== doomedId || !workerAsked(world, container.ticketId)) continue
        const job = await jobOf(world, container.jobId)
        if (job.status === 'running' && job.claimed_by === doomedId) return container
      }
      return null
    }, 180_000, 'an agent container of the first coordinator mid-turn').catch((error) => {
      throw new Error(`${error.message}\nfirst coordinator:\n${doomed.lines.slice(-20).join('\n')}`)
    })
    doomed.child.kill('SIGKILL')
    await doomed.exited
    const killedAt = Date.now()
    const orphans = (await liveContainers(world, jobIds, reach)).filter((c) => c.coordinator === doomedId)
    assert.ok(orphans.some((c) => c.jobId === victim.jobId), 'the killed coordinator\'s container lives on')

    const recovered = await waitFor(async () => {
      const job = (await getTicket(world, victim.ticketId)).job
      return ['succeeded', 'failed', 'cancelled'].includes(job?.status) ? job : null
    }, 180_000, 'the orphaned ticket to end')
    const recoverSec = (Date.now() - killedAt) / 1000
    const ended = await allEnded(world, ids, 180_000)
    const totalSec = (Date.now() - started) / 1000
    sampler.stop()
    console.log(`lost-coordinator-docker (${reach}): ${orphans.length} orphaned containers; kill → orphaned ticket ${recovered.status} in ${recoverSec.toFixed(1)} s; ` +
      `6 tickets in ${totalSec.toFixed(1)} s; ${sampler.samples()} samples`)

    await assertEveryTicketDone(world, ended)
    assert.ok(sampler.samples() > 20, `${sampler.samples()} samples`)
    assert.equal(sampler.overlaps, [], 'two live agent containers for one ticket')
    const retried = await jobOf(world, victim.jobId)
    assert.ok(retried.attempt >= 2, `the orphaned job was run again: ${JSON.stringify(retried)}`)
    assert.is(retried.claimed_by, survivorId)

    // The survivor removed its own containers and none of the dead coordinator's: those have exited
    // by themselves and wait for their coordinator.
    await waitFor(async () => (await containersOf(survivorId)).length === 0, 15_000, 'the survivor\'s containers to be removed')
    const left = await containersOf(doomedId)
    assert.ok(left.length >= orphans.length, `the dead coordinator's containers: ${left.map((c) => c.State).join(', ')}`)
    assert.ok(left.every((c) => c.State === 'exited'), `every orphan exited by itself: ${left.map((c) => `${c.Id.slice(0, 12)} ${c.Status}`).join(', ')}`)
    let orphanLog = ''
    await engine.containerLogs(victim.id, { follow: false, stdout: true, stderr: true }, (frame) => (orphanLog += frame.data.toString()))
    const how = /lease of this job could not be confirmed/.test(orphanLog) ? 'stopped for its lease' : /\[push\]/.test(orphanLog) ? 'pushed before its lease ran out' : 'ended without a push'
    console.log(`lost-coordinator-docker (${reach}): the orphaned agent ${how}`)
    if (reach === 'forwarder') {
      // Cut off from the app with its coordinator's forwarder: no model, no remote, no lease: it ends without a push.
      assert.match(orphanLog, /\[exit\] agent exits/, orphanLog.slice(-3000))
      assert.not.match(orphanLog, /\[push\]/, orphanLog.slice(-3000))
    } else {
      assert.ok(await orphanSaidWhy(world, victim.ticketId), `the orphaned agent said why it stopped, or the retry went on from its push:\n${orphanLog.slice(-3000)}`)
    }

    // Restarted with its state dir, the dead coordinator removes them.
    await survivor.stop()
    const restarted = coordinator(world, apiUrl, doomedId, doomedState)
    const reconciled = await restarted.waitForLog(/^reconcile: removed containers left by an earlier run/, 60_000)
    assert.is(reconciled.removed.length, left.length)
    assert.equal(await containersOf(doomedId), [])
    await restarted.stop()
    await assertWorldClean(world, { 'coordinator log': coordinators.flatMap((c) => c.lines), 'orphaned container log': orphanLog })
  })
}

test.run()
