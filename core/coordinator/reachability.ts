/**
 * Agents in containers reach a host-local app through `host.docker.internal`, i.e. the Docker
 * bridge's gateway address, not 127.0.0.1. An app listening on 127.0.0.1 only (the app's default)
 * is therefore unreachable from containers. This check connects to the API port on the gateway
 * address and says so in the log when nothing answers there; it never fails the coordinator.
 */
import { connect } from 'node:net'
import type { Logger } from '../log.ts'

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i

/** Returns whether the app answers on the gateway; undefined when the API URL is not loopback (nothing to check). */
export async function checkContainerReachability(apiUrl: string, gateway: string, log: Logger): Promise<boolean | undefined> {
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
    log.warn(`agent containers will not reach the app: they use ${url.protocol}//host.docker.internal:${port} (${gateway}), where nothing listens. ` +
      'Let the app listen there too (HOST=0.0.0.0 with TERARCHITECT_ADMIN_TOKEN and TERARCHITECT_WORKER_API_KEY set), or set TERARCHITECT_API_URL to an address containers reach')
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
