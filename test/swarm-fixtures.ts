/**
 * A real three-node Docker Swarm for the docker-swarm suite, built on this one machine and removed
 * by `destroy()` (also on failure):
 *   - manager: a private dockerd (test/private-dockerd.ts), never the host's daemon, which other
 *     suites use; `swarm init` on its bridge's gateway address;
 *   - two workers: Docker-in-Docker containers on the host daemon (the unprivileged recipe of
 *     DESIGN.md §6) whose inner dockerd joins the swarm; stopping one is a node going down;
 *   - a local registry (Debian's `docker-registry`) on the same gateway address, serving the slim
 *     agent image (test/fixtures/swarm-agent-image.ts: the real agent, its entrypoint and a
 *     stand-in worker CLI; built by the host's daemon, the one thing asked of it besides the
 *     workers' containers) from storage kept between runs, so an unchanged image is not rebuilt.
 * Needs root, the docker CLI and /usr/bin/docker-registry (scripts/provision-docker.sh).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import type { DockerEngine } from '../plugins/executors/docker/engine.ts'
import type { ContainerCreateBody } from '../plugins/executors/docker/types.ts'
import { UNPRIVILEGED_RECIPE } from '../plugins/executors/docker/dind.ts'
import { createSwarmApi, type SwarmApi } from '../plugins/executors/docker-swarm/api.ts'
import { ensureDindTestImage } from './docker-fixtures.ts'
import { ensureSlimAgentImage, freePort, serveRegistry, type SlimAgentImage } from './fixtures/swarm-agent-image.ts'
import { startPrivateDockerd, type PrivateDockerd } from './private-dockerd.ts'
import { sleep } from './helpers.ts'

export { REGISTRY_BINARY } from './fixtures/swarm-agent-image.ts'
const WORKER_LABEL = 'terarchitect.test-swarm'

export interface TestSwarm {
  /** The manager's DOCKER_HOST. */
  dockerHost: string
  api: SwarmApi
  manager: DockerEngine
  /** The slim agent image, by its registry name. */
  image: string
  /** What the image weighs (test/fixtures/swarm-agent-image.ts). */
  agentImage: SlimAgentImage
  /** The manager's own node (it runs agents too). */
  managerNodeId: string
  /** Worker containers on the host daemon, by node host name; `pid`: their init's, on the host. */
  workers: { hostname: string; containerId: string; nodeId: string; pid: number }[]
  /** The manager's address on its bridge: nodes and their tasks reach the host there. */
  gateway: string
  /** The docker CLI against the manager; throws on failure. */
  docker(...args: string[]): string
  /** The docker CLI against a worker's inner daemon (`docker exec <worker> docker …`). */
  dockerOn(workerContainerId: string, ...args: string[]): string
  /** Stops a worker's dind container (its node goes down). */
  stopWorker(hostname: string): Promise<void>
  /** Seconds each setup step took, for the suite's cost line. */
  timings: Record<string, number>
  destroy(): Promise<void>
}

const cli = (args: string[], input?: string): string => {
  const result = spawnSync('docker', args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 })
  if (result.status !== 0) throw new Error(`docker ${args.filter((arg) => !arg.startsWith('SWMTKN')).join(' ')}: ${result.stderr || result.stdout}`)
  return result.stdout.trim()
}


export async function startTestSwarm(run: string, host: DockerEngine): Promise<TestSwarm> {
  const timings: Record<string, number> = {}
  let mark = Date.now()
  const step = (name: string) => {
    timings[name] = (Date.now() - mark) / 1000
    mark = Date.now()
  }
  const cleanups: (() => Promise<void> | void)[] = []
  const destroy = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch((error: unknown) => process.stderr.write(`swarm cleanup: ${(error as Error).message}\n`))
    cleanups.length = 0
  }
  try {
    const dindImage = await ensureDindTestImage(host)
    step('dind image')
    const hadGwBridge = existsSync('/sys/class/net/docker_gwbridge')
    const daemon: PrivateDockerd = await startPrivateDockerd(run, { args: ['--insecure-registry', '172.16.0.0/12'], copyBaseImage: false })
    cleanups.push(async () => {
      spawnSync('docker', ['-H', daemon.dockerHost, 'swarm', 'leave', '--force'], { encoding: 'utf8' })
      await daemon.destroy()
      // swarm init made docker_gwbridge in this network namespace; no other daemon here uses it.
      if (!hadGwBridge) spawnSync('ip', ['link', 'del', 'docker_gwbridge'])
    })
    step('manager dockerd')
    const manager = daemon.engine
    const gateway = (await manager.networkInspect('bridge')).IPAM.Config?.[0]?.Gateway
    if (!gateway) throw new Error('the private dockerd\'s bridge has no gateway')
    const docker = (...args: string[]) => cli(['-H', daemon.dockerHost, ...args])

    // The registry: a local process on the manager's gateway, reachable from every node.
    const registryDir = `/var/lib/terarchitect-test-registry/${run}`
    const registry = await serveRegistry(gateway, registryDir)
    cleanups.push(async () => {
      await registry.stop()
      rmSync(registryDir, { recursive: true, force: true })
    })
    step('registry')

    const agentImage = await ensureSlimAgentImage(host, registry.address, () => serveRegistry('127.0.0.1', `${registryDir}/loopback`))
    const image = agentImage.image
    step(agentImage.built ? 'agent image built and pushed' : 'agent image found in the registry')

    const swarmPort = await freePort(gateway)
    const dataPathPort = await freePort('0.0.0.0')
    docker('swarm', 'init', '--advertise-addr', gateway, '--listen-addr', `${gateway}:${swarmPort}`, '--data-path-port', String(dataPathPort))
    // A 1 s heartbeat: a stopped node is marked down in seconds rather than the default ~15 s.
    docker('swarm', 'update', '--dispatcher-heartbeat', '1s')
    const token = docker('swarm', 'join-token', '-q', 'worker')
    step('swarm init')

    const workers: TestSwarm['workers'] = []
    // Registered before any is created: a failed start still removes what was made.
    cleanups.push(async () => {
      for (const container of await host.containerList({ all: true, labels: [`${WORKER_LABEL}=${run}`] })) {
        await host.containerRemove(container.Id, { force: true, volumes: true }).catch(() => {})
      }
    })
    const daemonJson = JSON.stringify({ 'insecure-registries': [registry.address] })
    await Promise.all([1, 2].map(async (index) => {
      const hostname = `swarm-worker-${index}-${run.slice(-6)}`
      // Hostname: the node's name in the swarm, and so in the executor's "its node … is down".
      const { Id } = await host.containerCreate({
        Hostname: hostname,
        Image: dindImage,
        Cmd: ['sh', '-c', 'mkdir -p /etc/docker && printf %s "$DAEMON_JSON" >/etc/docker/daemon.json && exec dind-entrypoint.sh sleep infinity'],
        Env: [`DAEMON_JSON=${daemonJson}`],
        Labels: { [WORKER_LABEL]: run },
        Volumes: { '/var/lib/docker': {} },
        HostConfig: { ...UNPRIVILEGED_RECIPE.hostConfig, Init: true },
      } as ContainerCreateBody, { name: hostname })
      await host.containerStart(Id)
      for (let tries = 0; ; tries++) {
        const ready = spawnSync('docker', ['exec', Id, 'docker', 'version'], { encoding: 'utf8' }).status === 0
        if (ready) break
        if (tries > 150) throw new Error(`the inner dockerd of ${hostname} did not start`)
        await sleep(200)
      }
      cli(['exec', Id, 'docker', 'swarm', 'join', '--token', token, `${gateway}:${swarmPort}`])
      const { State } = await host.containerInspect(Id) as unknown as { State: { Pid: number } }
      workers.push({ hostname, containerId: Id, nodeId: cli(['exec', Id, 'docker', 'info', '--format', '{{.Swarm.NodeID}}']), pid: State.Pid })
    }))
    step('workers joined')

    const api = createSwarmApi({ dockerHost: daemon.dockerHost })
    cleanups.push(() => api.close())
    for (let tries = 0; ; tries++) {
      const nodes = await api.nodeList()
      if (nodes.length === 3 && nodes.every((node) => node.Status.State === 'ready')) {
        for (const node of nodes) docker('node', 'update', '--label-add', 'agents=true', node.ID)
        break
      }
      if (tries > 150) throw new Error(`swarm nodes not ready: ${JSON.stringify(nodes.map((node) => node.Status))}`)
      await sleep(200)
    }
    step('nodes ready')

    return {
      dockerHost: daemon.dockerHost,
      api,
      manager,
      image,
      agentImage,
      gateway,
      managerNodeId: docker('info', '--format', '{{.Swarm.NodeID}}'),
      workers,
      docker,
      dockerOn: (workerContainerId, ...args) => cli(['exec', workerContainerId, 'docker', ...args]),
      timings,
      async stopWorker(hostname) {
        const worker = workers.find((candidate) => candidate.hostname === hostname)
        if (!worker) throw new Error(`no worker ${hostname}`)
        await host.containerKill(worker.containerId)
      },
      destroy,
    }
  } catch (error) {
    await destroy()
    throw error
  }
}
