/**
 * How agents in containers reach the app. Inside a container `localhost` is the container itself;
 * the host is `host.docker.internal`, i.e. the Docker bridge's gateway address. An app listening on
 * 127.0.0.1 only (the app's default, and what `npm start` does) is not reachable there.
 *
 * - TERARCHITECT_API_URL not loopback (two boxes, compose): agents use it as it is; nothing to do.
 * - Loopback: the coordinator starts the machine-route forwarder (forwarder.ts) on the gateway
 *   address and agents get `http://host.docker.internal:<its port>`: they reach the agent routes
 *   and relays, and nothing else, while the app stays on loopback.
 * - When the gateway cannot be bound (the daemon is on another machine, the coordinator runs in a
 *   container, rootless Docker): the agents' URL stays the app's, rewritten to host.docker.internal
 *   (rewrite-env.ts), and the log says when nothing answers there. Never fails the coordinator.
 */
import { connect } from 'node:net'
import type { Executor } from '../executor.ts'
import type { Logger } from '../log.ts'
import { startForwarder, type Forwarder } from './forwarder.ts'
import type { ContainerExecutors } from './types.ts'

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i

/** The name containers reach the host by (ExtraHosts `host-gateway`; rewrite-env.ts adds it). */
const HOST_GATEWAY_NAME = 'host.docker.internal'

export function isLoopbackUrl(apiUrl: string): boolean {
  return LOOPBACK.test(new URL(apiUrl).hostname)
}

export interface ContainerReach {
  /** The forwarder, when one runs. */
  forwarder?: Forwarder
  /** The TERARCHITECT_API_URL agents in containers get; undefined: the job env's own. */
  agentApiUrl?: string
}

/**
 * Decides how containers reach the app at `apiUrl`, once the bridge's gateway address is known
 * (undefined when the daemon would not say). Starts the forwarder when `apiUrl` is loopback.
 */
export async function openContainerReach(apiUrl: string, gateway: string | undefined, log: Logger): Promise<ContainerReach> {
  if (!isLoopbackUrl(apiUrl)) return {}
  if (!gateway) {
    log.warn(`the Docker bridge's gateway address is unknown: agent containers use ${HOST_GATEWAY_NAME} with the app's port, where the app must listen too`)
    return {}
  }
  try {
    const forwarder = await startForwarder({ appUrl: apiUrl, host: gateway, log })
    const agentApiUrl = `http://${HOST_GATEWAY_NAME}:${forwarder.port}`
    log.info(`agent containers reach the app through ${agentApiUrl} (${gateway}:${forwarder.port}): agent routes and relays only; the app stays on ${new URL(apiUrl).host}`)
    return { forwarder, agentApiUrl }
  } catch (error) {
    log.warn(`could not listen on the Docker bridge address ${gateway} (${(error as Error).message}): agent containers use ${HOST_GATEWAY_NAME} with the app's port instead`)
    await checkContainerReachability(apiUrl, gateway, log)
    return {}
  }
}

/**
 * `containers` whose agents get `agentApiUrl()` as TERARCHITECT_API_URL when it gives one (the
 * forwarder runs; a promise while that is being decided), and the job env's own otherwise. Host
 * runs (local mode, the fallback) keep the app's URL: they reach loopback directly.
 */
export function withAgentApiUrl(containers: ContainerExecutors, agentApiUrl: () => string | undefined | Promise<string | undefined>): ContainerExecutors {
  const wrap = (executor: Executor): Executor => ({
    ...executor,
    async run(spec, output, signal) {
      const url = await agentApiUrl()
      return executor.run(url ? { ...spec, env: { ...spec.env, TERARCHITECT_API_URL: url } } : spec, output, signal)
    },
  })
  return { ...containers, forImage: (image) => wrap(containers.forImage(image)) }
}

/**
 * The fallback's check: does anything answer on the gateway at the app's port? Returns whether it
 * does; undefined when the API URL is not loopback (nothing to check). Only logs.
 */
async function checkContainerReachability(apiUrl: string, gateway: string, log: Logger): Promise<boolean | undefined> {
  const url = new URL(apiUrl)
  if (!LOOPBACK.test(url.hostname)) return undefined
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: gateway, port, timeout: 1500 })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.once('timeout', () => done(false))
  })
  if (!reachable) {
    log.warn(`agent containers will not reach the app: they use ${url.protocol}//${HOST_GATEWAY_NAME}:${port} (${gateway}), where nothing listens. ` +
      'Run the coordinator on the Docker host (it then forwards the agent routes itself), or set TERARCHITECT_API_URL to an address containers reach')
  }
  return reachable
}

/** The gateway of an IPv4 subnet as Docker assigns it by default: the first host address. */
export function firstHost(subnet: string): string | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/\d+$/.exec(subnet)
  if (!match) return undefined
  const value = ((Number(match[1]) << 24) | (Number(match[2]) << 16) | (Number(match[3]) << 8) | Number(match[4])) + 1
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.')
}
