/**
 * Tickets through the real coordinator (`coordinator.ts`, AGENT_DOCKER_MODE=swarm) and the real
 * agent (the slim image of test/fixtures/swarm-agent-image.ts) on the test swarm, one worker node
 * killed while an agent on it is mid-turn:
 *   - the app, the git server, the fake GitHub and the model listen on the manager's bridge address
 *     (`swarm.gateway`, made by the test), which tasks on every node reach; the agents clone and push
 *     through the app's git relay, ask the model through its LLM relay and open their PR through it;
 *   - the running agent containers of every node are listed every 200 ms through each node's own
 *     daemon (a worker's inner socket is reached under /proc/<its pid>/root): two live for one
 *     ticket is an overlap; a killed node's containers are gone with it;
 *   - each agent container seen is checked once: its job token is read from the secret file the
 *     swarm mounted, and must be in none of the service spec, its tasks, the container's inspect.
 * A run lost with its node ends at once with the reason, and the coordinator has the job queued
 * again by itself (POST /api/worker/jobs/:id/requeue): the same job runs its next attempt and ends
 * with its PR, nobody retrying it.
 */
import { readFileSync } from 'node:fs'
import { createDockerEngine, type DockerEngine } from '../plugins/executors/docker/engine.ts'
import { COORDINATOR_ID_LABEL, JOB_ID_LABEL } from '../plugins/executors/docker/run-container.ts'
import { getTicket, startWorld, ticketEvents, type World } from './bench/agent-harness.ts'
import { spawnCoordinator } from './coordinator-fixtures.ts'
import type { LlmRequest, Reply } from './fixtures/fake-llm.ts'
import { sleep, waitFor } from './helpers.ts'
import { jobOf, runTickets, sampleAgents, workerAsked } from './lost-coordinator-fixtures.ts'
import type { TestSwarm } from './swarm-fixtures.ts'

const PROJECT_LABEL = 'terarchitect.project_id'
const TOKEN_FILE = 'run/secrets/TERARCHITECT_AGENT_TOKEN'
/** The shape of a job token (core/secrets.ts), found anywhere it must not be. */
const JOB_TOKEN = /tj1\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/

/** Each ticket's stand-in aider is told to write `ticket-<id>.txt`; the answer takes `delayMs`. */
const ticketModel = (delayMs: number) => (request: LlmRequest): Reply => {
  const id = /branch ticket-(\d+)\b/.exec(request.allText)?.[1]
  return id ? { text: `ticket-${id}.txt\nchange for ticket ${id}`, delayMs } : { text: 'ok' }
}

/**
 * A node's daemon as this process reaches it; `root`: the prefix of its processes' /proc. Paths under
 * /proc/<pid>/root name no symlink (/var/run is one, to the host's own /run).
 */
interface NodeView { nodeId: string; engine: DockerEngine; root: string; own: boolean }

const nodeViews = (swarm: TestSwarm): NodeView[] => [
  { nodeId: swarm.managerNodeId, engine: swarm.manager, root: '', own: false },
  ...swarm.workers.map((worker) => ({
    nodeId: worker.nodeId, engine: createDockerEngine({ dockerHost: `unix:///proc/${worker.pid}/root/run/docker.sock` }), root: `/proc/${worker.pid}/root`, own: true,
  })),
]

interface LiveAgent { view: NodeView; containerId: string; jobId: number; ticketId: number }

export interface SwarmTicketRun {
  world: World
  ids: number[]
  ended: { id: number; job: { job_id: number; status: string; error: string | null; attempt: number } }[]
  /** Jobs lost with the killed node, with what their log said. */
  lost: { jobId: number; ticketId: number; said: string; attempt: number }[]
  overlaps: string[]
  samples: number
  nodesUsed: number
  /** Agent containers whose job token was read and looked for; where it was found. */
  secretChecks: number
  secretFindings: string[]
  eventsPerTicket: { ticketId: number; pr: boolean; output: boolean }[]
  coordinatorLines: string[]
  figures: Record<string, number | null>
  close(): Promise<void>
}

export async function runSwarmTickets(swarm: TestSwarm, options: { coordinatorId: string; count: number; concurrency: number; llmDelayMs: number }): Promise<SwarmTicketRun> {
  const world = await startWorld({
    host: swarm.gateway, script: ticketModel(options.llmDelayMs), settings: { WORKER_MODE: 'aider' },
    appEnv: { ALLOWED_HOSTS: `127.0.0.1,${swarm.gateway}` },
  })
  const coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: world.t.url,
    TERARCHITECT_WORKER_API_KEY: world.secrets.workerApiKey,
    COORDINATOR_ID: options.coordinatorId,
    PROJECT_ID: String(world.projectId),
    MAX_CONCURRENT_AGENTS: String(options.concurrency),
    AGENT_DOCKER_MODE: 'swarm',
    DOCKER_HOST: swarm.dockerHost,
    AGENT_IMAGE: swarm.image,
    SWARM_CONSTRAINTS: 'node.labels.agents==true',
    SWARM_CPU_RESERVATION: '0.1',
    SWARM_MEMORY_RESERVATION: '64m',
    SWARM_START_TIMEOUT_SEC: '120',
    AGENT_MEMORY: '512m',
    AGENT_STOP_TIMEOUT_SEC: '1',
    AGENT_FALLBACK_TO_HOST: 'false',
    CLAIM_WAIT_SEC: '5',
    HEARTBEAT_MAX_SEC: '1',
    LOG_LEVEL: 'info',
  })
  const views = nodeViews(swarm)
  const close = async () => {
    await coordinator.stop()
    for (const view of views) if (view.own) view.engine.close()
    await world.close()
  }
  try {
    await coordinator.waitForLog(/^coordinator started$/, 60_000)
    const started = Date.now()
    const { ids, jobIds } = await runTickets(world, options.count)
    const mine = [`${COORDINATOR_ID_LABEL}=${options.coordinatorId}`, `${PROJECT_LABEL}=${world.projectId}`]
    const liveAgents = async (): Promise<LiveAgent[]> => (await Promise.all(views.map(async (view) =>
      // A killed node's socket is gone with it: no containers there.
      (await view.engine.containerList({ labels: mine }).catch(() => [])).map((container) => {
        const jobId = Number(container.Labels[JOB_ID_LABEL])
        return { view, containerId: container.Id, jobId, ticketId: jobIds.get(jobId) ?? -jobId }
      })))).flat()

    const victim = swarm.workers[0]!
    const nodesUsed = new Set<string>()
    const checked = new Set<string>()
    const secretFindings: string[] = []
    let killedAt = 0
    let killedJobs: number[] = []
    let watching = true
    const sampler = sampleAgents(liveAgents)
    const watcher = (async () => {
      while (watching) {
        const live = await liveAgents()
        for (const agent of live) {
          nodesUsed.add(agent.view.nodeId)
          if (checked.has(agent.containerId)) continue
          checked.add(agent.containerId)
          await secretsOutOfSight(swarm, agent).then((found) => secretFindings.push(...found), () => checked.delete(agent.containerId))
        }
        const onVictim = live.filter((agent) => agent.view.nodeId === victim.nodeId)
        if (!killedAt && onVictim.some((agent) => workerAsked(world, agent.ticketId))) {
          killedAt = Date.now()
          killedJobs = onVictim.map((agent) => agent.jobId)
          await swarm.stopWorker(victim.hostname)
        }
        await sleep(200)
      }
    })()

    // A job lost with the node comes back by itself (attempt 2 of the same job), while the others run on.
    const ended = await waitFor(async () => {
      const tickets = await Promise.all(ids.map((id) => getTicket(world, id)))
      if (tickets.every((ticket) => ['succeeded', 'failed', 'cancelled'].includes(ticket.job?.status))) return tickets
      await sleep(400) // ten reads a round: not at waitFor's pace
      return null
    }, 240_000, 'every ticket\'s job to end')
    const lost: SwarmTicketRun['lost'] = []
    for (const ticket of ended) {
      const events = (await ticketEvents(world, ticket.id)).filter((event) => event.job_id === ticket.job.job_id)
      if (!events.some((event) => event.step === 'run_lost')) continue
      const said = events.map((event) => `${event.step}: ${event.summary} ${event.raw_output ?? ''}`).join('\n')
      lost.push({ jobId: ticket.job.job_id, ticketId: ticket.id, said, attempt: ticket.job.attempt })
    }
    const totalSec = (Date.now() - started) / 1000
    // A ticket that did not succeed explains itself: its job's events (the agent's own output among
    // them: its lease checks, its failed polls) and the coordinator's log lines for that job.
    for (const ticket of ended.filter((candidate) => candidate.job.status !== 'succeeded')) {
      process.stderr.write(await failedJobStory(world, ticket.id, ticket.job.job_id, coordinator.lines))
    }
    watching = false
    await watcher
    sampler.stop()

    // `pr`: the agent posted its PR step to the app; `output`: the coordinator followed the service's
    // log (the job's output tail holds the step lines the agent printed, [push] and [pr]).
    const eventsPerTicket = await Promise.all(ended.map(async (ticket) => {
      const events = await ticketEvents(world, ticket.id)
      const tail = String((await jobOf(world, ticket.job.job_id)).output_tail ?? '')
      return { ticketId: ticket.id, pr: events.some((event) => event.step === 'pr' && event.job_id === ticket.job.job_id), output: /\[push\][\s\S]*\[pr\]/.test(tail) }
    }))
    return {
      world, ids, ended, lost, overlaps: sampler.overlaps, samples: sampler.samples(), nodesUsed: nodesUsed.size,
      secretChecks: checked.size, secretFindings, eventsPerTicket, coordinatorLines: coordinator.lines,
      figures: {
        tickets: options.count, concurrency: options.concurrency, totalSec, lostRuns: lost.length,
        killedAfterSec: killedAt ? (killedAt - started) / 1000 : null, agentsOnKilledNode: killedJobs.length,
      },
      close,
    }
  } catch (error) {
    process.stderr.write(`coordinator:\n${coordinator.lines.slice(-30).join('\n')}\n`)
    await close()
    throw error
  }
}

/** Everything known of a job that did not succeed, by time: its events and the coordinator's lines naming it. */
async function failedJobStory(world: World, ticketId: number, jobId: number, coordinatorLines: string[]): Promise<string> {
  const job = await jobOf(world, jobId)
  const events = (await ticketEvents(world, ticketId)).filter((event) => event.job_id === jobId)
  const said = events.map((event) => `  ${(event as typeof event & { created_at?: string }).created_at ?? ''} ${event.step}: ${event.summary}${event.raw_output ? `\n    ${String(event.raw_output).trimEnd().replaceAll('\n', '\n    ')}` : ''}`)
  const logged = coordinatorLines.filter((line) => {
    try {
      return (JSON.parse(line) as { jobId?: unknown }).jobId === jobId
    } catch {
      return false
    }
  })
  return [
    `ticket ${ticketId}: job ${jobId} ${job.status} at attempt ${job.attempt}: ${job.error ?? ''}`,
    `job ${jobId} events:`, ...said,
    `coordinator lines for job ${jobId}:`, ...logged.map((line) => `  ${line}`), '',
  ].join('\n')
}

/**
 * Reads the agent's job token from the secret file in its container (so the check knows the value)
 * and looks for it, and for any job token, in the service spec, its tasks and the container's
 * inspect. Rejects when the container is gone before it could be read.
 */
async function secretsOutOfSight(swarm: TestSwarm, agent: LiveAgent): Promise<string[]> {
  const inspect = await agent.view.engine.containerInspect(agent.containerId)
  const pid = (inspect as unknown as { State: { Pid: number } }).State.Pid
  const token = readFileSync(`${agent.view.root}/proc/${pid}/root/${TOKEN_FILE}`, 'utf8')
  if (!JOB_TOKEN.test(token)) throw new Error(`job ${agent.jobId}: the secret file holds no job token`)
  const services = await swarm.api.serviceList([`${JOB_ID_LABEL}=${agent.jobId}`])
  if (services.length === 0) throw new Error(`job ${agent.jobId}: its service is gone`)
  const tasks = await swarm.api.taskList({ service: services.map((service) => service.ID) })
  const findings: string[] = []
  for (const [where, text] of [['service spec', JSON.stringify(services)], ['task', JSON.stringify(tasks)], ['container', JSON.stringify(inspect)]] as const) {
    if (text.includes(token) || JOB_TOKEN.test(text)) findings.push(`job ${agent.jobId}: a job token in its ${where}`)
  }
  return findings
}
