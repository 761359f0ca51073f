/**
 * A hand-written Docker Engine API client over node:http, pinned at API v1.41 (the Debian 12
 * daemon's version; newer daemons accept it). No docker CLI, no dockerode.
 */
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { pack, type Pack } from 'tar-fs'
import { codeForStatus, DockerError } from './errors.ts'
import { LogDemuxer, readJsonLines, type JsonMessage, type LogFrame } from './streams.ts'
import { createTransport, parseDockerHost, readBody, type DockerAddress, type SendOptions } from './transport.ts'
import type {
  ContainerCreateBody, ContainerInfo, ContainerSummary, ImageInfo, NetworkInfo, VersionInfo, VolumeInfo, WaitResult,
} from './types.ts'

export const API_VERSION = '1.41'

/**
 * What each call expects, per status: `true` = success, a string = what that failure means (used
 * when the daemon's body has no `message`). Any status not listed is an error too. From the
 * Engine API v1.41 reference.
 */
const STATUS = {
  ping: { 200: true, 500: 'server error' },
  version: { 200: true, 500: 'server error' },
  info: { 200: true, 500: 'server error' },
  imageInspect: { 200: true, 404: 'no such image' },
  // build and import answer 200 before doing the work; their failures arrive inside the stream.
  imageImport: { 200: true, 404: 'repository does not exist', 500: 'server error' },
  imageBuild: { 200: true, 400: 'bad parameter', 500: 'server error' },
  imageRemove: { 200: true, 404: 'no such image', 409: 'image in use' },
  imageTag: { 201: true, 400: 'bad parameter', 404: 'no such image', 409: 'conflict' },
  containerCreate: { 201: true, 400: 'bad parameter', 404: 'no such image', 409: 'name in use' },
  containerStart: { 204: true, 304: true /* already started */, 404: 'no such container' },
  containerWait: { 200: true, 400: 'bad parameter', 404: 'no such container' },
  containerLogs: { 200: true, 404: 'no such container' },
  containerStop: { 204: true, 304: true /* already stopped */, 404: 'no such container' },
  containerKill: { 204: true, 404: 'no such container', 409: 'container is not running' },
  containerRemove: { 204: true, 400: 'bad parameter', 404: 'no such container', 409: 'conflict' },
  containerInspect: { 200: true, 404: 'no such container' },
  containerPutArchive: { 200: true, 400: 'bad parameter', 403: 'permission denied (read-only path)', 404: 'no such container or path' },
  containerList: { 200: true, 400: 'bad parameter' },
  networkInspect: { 200: true, 404: 'no such network' },
  volumeCreate: { 201: true, 500: 'server error' },
  volumeInspect: { 200: true, 404: 'no such volume' },
  volumeRemove: { 204: true, 404: 'no such volume', 409: 'volume is in use' },
} satisfies Record<string, Record<number, true | string>>

export type CallName = keyof typeof STATUS

/** A tar byte stream: a node Readable or a tar-fs/tar-stream pack (a streamx stream). */
export type TarSource = NodeJS.ReadableStream | Pack

export interface LogsOptions {
  follow?: boolean
  stdout?: boolean
  stderr?: boolean
  /** The container was created with `Tty: true`: the body is raw, not multiplexed. */
  tty?: boolean
  since?: number
  tail?: number | 'all'
  signal?: AbortSignal
}

export interface BuildOptions {
  tag: string
  dockerfile?: string
  buildArgs?: Record<string, string>
  labels?: Record<string, string>
  /** e.g. `host` when RUN steps need the host's network. */
  networkMode?: string
  noCache?: boolean
  /** Each `stream` line of the build output (step headers, RUN output). */
  onProgress?: (line: string) => void
  signal?: AbortSignal
}

export interface ImportOptions {
  repo: string
  tag?: string
  /** Dockerfile instructions applied to the imported image, e.g. `ENV PATH=…`, `CMD ["bash"]`. */
  changes?: string[]
  signal?: AbortSignal
}

/** A wait registered with the daemon. `result` settles when the container exits. */
export interface ContainerWaiter {
  result: Promise<WaitResult>
  /** Drops the wait (closes its connection); `result` then rejects with `docker_aborted`. */
  cancel(): void
}

export interface DockerEngine {
  readonly address: DockerAddress
  ping(signal?: AbortSignal): Promise<string>
  version(signal?: AbortSignal): Promise<VersionInfo>
  /** `version()` plus a check that the daemon speaks API ≥ 1.41; throws `docker_api_version`. */
  checkVersion(signal?: AbortSignal): Promise<VersionInfo>
  info(): Promise<Record<string, unknown>>
  imageInspect(name: string): Promise<ImageInfo>
  /** Imports a root filesystem tarball as an image; resolves with the image id. */
  imageImport(tar: TarSource, options: ImportOptions): Promise<{ id: string }>
  /** Builds from a context directory (packed with tar-fs) or a ready tar stream. */
  imageBuild(context: string | TarSource, options: BuildOptions): Promise<{ id: string; messages: JsonMessage[] }>
  imageRemove(name: string, options?: { force?: boolean }): Promise<void>
  /** Tags `name` (a tag or an id) as `repo:tag`, moving the tag when it exists. */
  imageTag(name: string, repo: string, tag: string): Promise<void>
  containerCreate(body: ContainerCreateBody, options?: { name?: string }): Promise<{ Id: string; Warnings: string[] }>
  /**
   * Registers a wait. Resolves once the daemon has answered the headers (the wait is in place), so
   * with `condition: 'next-exit'` it must be awaited BEFORE `containerStart`: a container that
   * exits at once is then still seen exiting. `result` carries the exit code.
   */
  containerWait(id: string, options?: { condition?: 'not-running' | 'next-exit' | 'removed' }): Promise<ContainerWaiter>
  containerStart(id: string): Promise<void>
  /** Streams logs to `onFrame` until the stream ends (with `follow`, when the container stops). */
  containerLogs(id: string, options: LogsOptions, onFrame: (frame: LogFrame) => void): Promise<void>
  /** SIGTERM, then SIGKILL after `timeoutSec`. Already stopped is not an error. */
  containerStop(id: string, options?: { timeoutSec?: number }): Promise<void>
  containerKill(id: string, options?: { signal?: string }): Promise<void>
  containerRemove(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void>
  containerInspect(id: string): Promise<ContainerInfo>
  /**
   * Extracts a tar archive into the container at `path` (a directory that exists), keeping the
   * entries' owners and modes. It writes to the container's root filesystem: on a 20.10 daemon
   * a tmpfs mounted over `path` hides what was written (measured), so the target must not be one.
   */
  containerPutArchive(id: string, path: string, tar: Buffer): Promise<void>
  /** Lists containers; `labels` are `key` or `key=value` filters (all must match). */
  containerList(options?: { all?: boolean; labels?: string[] }): Promise<ContainerSummary[]>
  /** Inspects a network, e.g. `bridge` for the gateway address `host-gateway` resolves to. */
  networkInspect(name: string): Promise<NetworkInfo>
  volumeCreate(body: { Name?: string; Labels?: Record<string, string> }): Promise<VolumeInfo>
  volumeInspect(name: string): Promise<VolumeInfo>
  volumeRemove(name: string, options?: { force?: boolean }): Promise<void>
  /** Closes idle keep-alive connections. */
  close(): void
}

export interface DockerEngineOptions {
  /**
   * A `DOCKER_HOST` value (`unix:///…`, `tcp://…`); default /var/run/docker.sock. The environment
   * is not read here: the entrypoint passes its resolved DOCKER_HOST (CONVENTIONS §10).
   */
  dockerHost?: string
}

/** Creates a client for the daemon at `dockerHost`. Cheap: nothing is sent until the first call. */
export function createDockerEngine(options: DockerEngineOptions = {}): DockerEngine {
  const address = parseDockerHost(options.dockerHost)
  const transport = createTransport(address, `/v${API_VERSION}`)

  async function call(name: CallName, method: string, path: string, sendOptions?: SendOptions): Promise<IncomingMessage> {
    const response = await transport.send(method, path, sendOptions)
    const status = response.statusCode ?? 0
    const meaning = (STATUS[name] as Record<number, true | string>)[status]
    if (meaning === true) return response
    const text = await readBody(response).catch(() => '')
    throw new DockerError(codeForStatus(status), status, daemonMessage(text) ?? meaning ?? `${name}: HTTP ${status}`)
  }
  const json = async <T>(response: IncomingMessage): Promise<T> => JSON.parse(await readBody(response)) as T
  const drain = async (response: IncomingMessage) => void (await readBody(response))

  const engine: DockerEngine = {
    address,
    ping: async (signal) => readBody(await call('ping', 'GET', '/_ping', { signal })),
    version: async (signal) => json<VersionInfo>(await call('version', 'GET', '/version', { signal })),
    async checkVersion(signal) {
      const version = await engine.version(signal)
      if (compareVersions(version.ApiVersion, API_VERSION) < 0) {
        throw new DockerError('docker_api_version', 0, `daemon speaks API ${version.ApiVersion}; ${API_VERSION} or newer is required`)
      }
      return version
    },
    info: async () => json(await call('info', 'GET', '/info')),
    imageInspect: async (name) => json<ImageInfo>(await call('imageInspect', 'GET', `/images/${name}/json`)),
    async imageImport(tar, { repo, tag, changes, signal }) {
      const query = { fromSrc: '-', repo, tag, changes }
      const response = await call('imageImport', 'POST', '/images/create', { query, body: tar, contentType: 'application/x-tar', signal })
      const messages = await readJsonLines(response)
      // The import stream's last `status` is the new image id.
      const id = messages.map((message) => message.status).filter((status) => status?.startsWith('sha256:')).pop()
      if (!id) throw new DockerError('docker_stream_error', 200, 'import stream ended without an image id')
      return { id }
    },
    async imageBuild(context, { tag, dockerfile, buildArgs, labels, networkMode, noCache, onProgress, signal }) {
      const body = typeof context === 'string' ? pack(context) : context
      const query = {
        t: tag, dockerfile, networkmode: networkMode, nocache: noCache, rm: true, forcerm: true,
        buildargs: buildArgs && JSON.stringify(buildArgs), labels: labels && JSON.stringify(labels),
      }
      const response = await call('imageBuild', 'POST', '/build', { query, body, contentType: 'application/x-tar', signal })
      const messages = await readJsonLines(response, (message) => {
        if (message.stream) onProgress?.(message.stream)
      })
      const id = messages.find((message) => message.aux?.ID)?.aux?.ID
        ?? messages.map((message) => /Successfully built (\w+)/.exec(message.stream ?? '')?.[1]).find(Boolean)
      if (!id) throw new DockerError('docker_stream_error', 200, 'build stream ended without an image id')
      return { id, messages }
    },
    imageRemove: async (name, { force } = {}) =>
      drain(await call('imageRemove', 'DELETE', `/images/${name}`, { query: { force } })),
    imageTag: async (name, repo, tag) =>
      drain(await call('imageTag', 'POST', `/images/${name}/tag`, { query: { repo, tag } })),
    containerCreate: async (body, { name } = {}) =>
      json(await call('containerCreate', 'POST', '/containers/create', { query: { name }, body })),
    async containerWait(id, { condition = 'next-exit' } = {}) {
      const controller = new AbortController()
      const response = await call('containerWait', 'POST', `/containers/${id}/wait`, { query: { condition }, signal: controller.signal })
      // The daemon flushes the 200 headers once the wait is registered, then sends
      // `{"StatusCode":n,"Error":null|{"Message":…}}` when the condition is met.
      const result = readBody(response).then(
        (text) => {
          const parsed = JSON.parse(text) as { StatusCode: number; Error?: { Message?: string } | null }
          return { statusCode: parsed.StatusCode, ...(parsed.Error?.Message ? { error: parsed.Error.Message } : {}) }
        },
        (error: unknown) => {
          throw new DockerError('docker_aborted', 0, `wait for ${id} ended before the container exited`, error)
        },
      )
      result.catch(() => {}) // a cancelled wait nobody awaits must not surface as unhandled
      return { result, cancel: () => controller.abort() }
    },
    containerStart: async (id) => drain(await call('containerStart', 'POST', `/containers/${id}/start`)),
    async containerLogs(id, { follow = false, stdout = true, stderr = true, tty = false, since, tail, signal }, onFrame) {
      const query = { follow, stdout, stderr, since, tail }
      const response = await call('containerLogs', 'GET', `/containers/${id}/logs`, { query, signal })
      const demuxer = new LogDemuxer()
      try {
        for await (const chunk of response) {
          if (tty) onFrame({ stream: 'stdout', data: chunk as Buffer })
          else for (const frame of demuxer.push(chunk as Buffer)) onFrame(frame)
        }
      } catch (error) {
        throw new DockerError('docker_aborted', 0, `log stream of ${id} broke off`, error)
      }
    },
    containerStop: async (id, { timeoutSec } = {}) =>
      drain(await call('containerStop', 'POST', `/containers/${id}/stop`, { query: { t: timeoutSec } })),
    containerKill: async (id, { signal } = {}) =>
      drain(await call('containerKill', 'POST', `/containers/${id}/kill`, { query: { signal } })),
    containerRemove: async (id, { force, volumes } = {}) =>
      drain(await call('containerRemove', 'DELETE', `/containers/${id}`, { query: { force, v: volumes } })),
    containerInspect: async (id) => json<ContainerInfo>(await call('containerInspect', 'GET', `/containers/${id}/json`)),
    containerPutArchive: async (id, path, tar) =>
      drain(await call('containerPutArchive', 'PUT', `/containers/${id}/archive`, { query: { path }, body: Readable.from([tar]), contentType: 'application/x-tar' })),
    async containerList({ all = false, labels } = {}) {
      const filters = labels && labels.length > 0 ? JSON.stringify({ label: labels }) : undefined
      return json<ContainerSummary[]>(await call('containerList', 'GET', '/containers/json', { query: { all, filters } }))
    },
    networkInspect: async (name) => json<NetworkInfo>(await call('networkInspect', 'GET', `/networks/${name}`)),
    volumeCreate: async (body) => json<VolumeInfo>(await call('volumeCreate', 'POST', '/volumes/create', { body })),
    volumeInspect: async (name) => json<VolumeInfo>(await call('volumeInspect', 'GET', `/volumes/${name}`)),
    volumeRemove: async (name, { force } = {}) =>
      drain(await call('volumeRemove', 'DELETE', `/volumes/${name}`, { query: { force } })),
    close: () => transport.close(),
  }
  return engine
}

/** The daemon's error bodies are `{"message":"…"}`; anything else yields undefined. */
export function daemonMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { message?: unknown }
    return typeof parsed.message === 'string' ? parsed.message : undefined
  } catch {
    return text.trim() || undefined
  }
}

/** Compares dotted API versions numerically (`1.9` < `1.41`). */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number)
  const right = b.split('.').map(Number)
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0)
    if (difference !== 0) return difference
  }
  return 0
}
