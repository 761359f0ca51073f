/**
 * `docker-dood` (Docker-outside-of-Docker): the job's container uses the host's daemon through the
 * mounted socket, or a sidecar daemon named by `DOCKER_HOST`. Containers a job starts are siblings
 * on that daemon, so this is safe with one agent at a time only.
 */
import type { Executor } from '../../../core/executor.ts'
import { createLogger } from '../../../core/log.ts'
import { createDockerEngine } from './engine.ts'
import { probeDocker } from './probe-docker.ts'
import { reconcileContainers } from './reconcile-containers.ts'
import { commandFor, resolveSettings, type DockerExecutorOptions, type RunContainerSettings } from './run-container.ts'
import { prepareWarm, runOrHandOver } from './warm-container.ts'

export const NAME = 'docker-dood'

export interface DockerDoodOptions extends DockerExecutorOptions {
  /** Mount the daemon's unix socket at /var/run/docker.sock (`AGENT_MOUNT_DOCKER_SOCKET`). Default true. */
  mountSocket?: boolean
  /**
   * `DOCKER_HOST` given to the container when the socket is not mounted (a sidecar daemon, e.g.
   * `tcp://docker-sidecar:2375`). Default the `dockerHost` option, else the engine's address.
   */
  agentDockerHost?: string
}

/** The `docker-dood` executor: probe = daemon + API 1.41 + image present; reconcile, prepare (warm containers) and close supported. */
export function dockerDood(options: DockerDoodOptions = {}): Executor {
  const engine = options.engine ?? createDockerEngine({ dockerHost: options.dockerHost })
  const log = options.log ?? createLogger('info', { executor: NAME })
  const settings = resolveSettings(options, engine, log)
  const address = engine.address
  const mount = (options.mountSocket ?? true) && 'socketPath' in address
  const agentDockerHost = options.agentDockerHost ?? options.dockerHost
    ?? ('socketPath' in address ? `unix://${address.socketPath}` : `tcp://${address.host}:${address.port}`)

  const containerSettings = (command: string[]): RunContainerSettings => ({
    ...settings,
    command,
    // no-new-privileges: nothing in the container can gain privileges through a setuid binary
    // (dind cannot use it: its inner runc and containers need those transitions).
    variants: [{ name: mount ? 'socket-mounted' : 'docker-host', hostConfig: { SecurityOpt: ['no-new-privileges:true'] } }],
    ...(mount && 'socketPath' in address
      ? { extraBinds: [`${address.socketPath}:/var/run/docker.sock`] }
      : { extraEnv: { DOCKER_HOST: agentDockerHost } }),
  })

  return {
    name: NAME,
    probe: () => probeDocker(engine, settings.image),
    run: (spec, output, signal) => runOrHandOver(spec, output, signal, containerSettings(commandFor(settings.command, spec))),
    prepare: (spec) => prepareWarm(spec, containerSettings(settings.warmCommand)),
    reconcile: (coordinatorId, keep, pool) => reconcileContainers(engine, coordinatorId, keep, log, pool),
    close: async () => engine.close(),
  }
}
