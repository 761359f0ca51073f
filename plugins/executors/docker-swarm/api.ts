/**
 * The Swarm calls of the Engine API v1.41 (services, tasks, secrets, nodes, service logs), over the
 * same transport, error type and log framing as the container client (../docker/). Only what the
 * docker-swarm executor and its tests use.
 */
import type { IncomingMessage } from 'node:http'
import { API_VERSION, daemonMessage } from '../docker/engine.ts'
import { codeForStatus, DockerError } from '../docker/errors.ts'
import { LogDemuxer, type LogFrame } from '../docker/streams.ts'
import { createTransport, parseDockerHost, readBody, type DockerAddress, type SendOptions } from '../docker/transport.ts'
import type { Node, SecretSpec, Service, ServiceSpec, Task } from './types.ts'

export interface SwarmApi {
  readonly address: DockerAddress
  /** GET /info's `Swarm` part: is this daemon a manager of an active swarm? */
  swarmState(): Promise<{ state: string; controlAvailable: boolean; nodes?: number }>
  serviceCreate(spec: ServiceSpec): Promise<{ ID: string }>
  serviceInspect(id: string): Promise<Service>
  /** 404 (already gone) is not an error: resolves false. */
  serviceRemove(id: string): Promise<boolean>
  /** `labels` are `key` or `key=value` filters, all of which must match. */
  serviceList(labels: string[]): Promise<Service[]>
  taskList(filters: { service?: string[]; label?: string[]; 'desired-state'?: string[] }): Promise<Task[]>
  /** One task by id; it outlives its service's removal until it is down and reaped. */
  taskInspect(id: string): Promise<Task>
  secretCreate(spec: SecretSpec): Promise<{ ID: string }>
  /** 404 is not an error: resolves false. */
  secretRemove(id: string): Promise<boolean>
  secretList(labels: string[]): Promise<{ ID: string; Spec: { Name: string; Labels?: Record<string, string> } }[]>
  nodeList(): Promise<Node[]>
  /** Follows a service's multiplexed log until `signal` aborts or the daemon ends the stream. */
  serviceLogs(id: string, onFrame: (frame: LogFrame) => void, signal: AbortSignal): Promise<void>
  close(): void
}

type Expect = Record<number, true | string>

export function createSwarmApi(options: { dockerHost?: string } = {}): SwarmApi {
  const address = parseDockerHost(options.dockerHost)
  const transport = createTransport(address, `/v${API_VERSION}`)

  async function call(expect: Expect, method: string, path: string, sendOptions?: SendOptions): Promise<IncomingMessage> {
    const response = await transport.send(method, path, sendOptions)
    const status = response.statusCode ?? 0
    if (expect[status] === true) return response
    const text = await readBody(response).catch(() => '')
    throw new DockerError(codeForStatus(status), status, daemonMessage(text) ?? (expect[status] as string | undefined) ?? `${method} ${path}: HTTP ${status}`)
  }
  const json = async <T>(response: IncomingMessage): Promise<T> => JSON.parse(await readBody(response)) as T
  const gone = async (response: Promise<IncomingMessage>) => {
    try {
      await readBody(await response)
      return true
    } catch (error) {
      if (error instanceof DockerError && error.code === 'docker_not_found') return false
      throw error
    }
  }
  const labelFilter = (labels: string[]) => JSON.stringify({ label: labels })

  return {
    address,
    async swarmState() {
      const info = await json<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; Nodes?: number } }>(await call({ 200: true }, 'GET', '/info'))
      return { state: info.Swarm?.LocalNodeState ?? 'inactive', controlAvailable: info.Swarm?.ControlAvailable === true, nodes: info.Swarm?.Nodes }
    },
    serviceCreate: async (spec) => json(await call({ 201: true, 400: 'bad parameter', 403: 'network is not eligible for services', 409: 'name conflicts with an existing service', 503: 'node is not part of a swarm' }, 'POST', '/services/create', { body: spec })),
    serviceInspect: async (id) => json(await call({ 200: true, 404: 'no such service' }, 'GET', `/services/${encodeURIComponent(id)}`)),
    serviceRemove: (id) => gone(call({ 200: true, 404: 'no such service' }, 'DELETE', `/services/${encodeURIComponent(id)}`)),
    serviceList: async (labels) => json(await call({ 200: true }, 'GET', '/services', { query: { filters: labelFilter(labels) } })),
    taskList: async (filters) => json(await call({ 200: true }, 'GET', '/tasks', { query: { filters: JSON.stringify(filters) } })),
    taskInspect: async (id) => json(await call({ 200: true, 404: 'no such task' }, 'GET', `/tasks/${encodeURIComponent(id)}`)),
    secretCreate: async (spec) => json(await call({ 201: true, 409: 'name conflicts with an existing secret' }, 'POST', '/secrets/create', { body: spec })),
    secretRemove: (id) => gone(call({ 204: true, 404: 'no such secret' }, 'DELETE', `/secrets/${encodeURIComponent(id)}`)),
    secretList: async (labels) => json(await call({ 200: true }, 'GET', '/secrets', { query: { filters: labelFilter(labels) } })),
    nodeList: async () => json(await call({ 200: true }, 'GET', '/nodes')),
    async serviceLogs(id, onFrame, signal) {
      const query = { follow: true, stdout: true, stderr: true }
      const response = await call({ 200: true, 404: 'no such service' }, 'GET', `/services/${encodeURIComponent(id)}/logs`, { query, signal })
      const demuxer = new LogDemuxer()
      try {
        for await (const chunk of response) for (const frame of demuxer.push(chunk as Buffer)) onFrame(frame)
      } catch (error) {
        if (signal.aborted) return
        throw new DockerError('docker_aborted', 0, `log stream of service ${id} broke off`, error)
      }
    },
    close: () => transport.close(),
  }
}
