/**
 * The warm pool (AGENT_WARM_POOL): agent containers started ahead of their jobs, so a claimed job
 * is handed to a container whose agent is loaded, whose worker CLIs were read and whose Docker
 * daemon (dind) is up, instead of waiting for all of that.
 *
 * - Keyed by what is fixed when a container is created: the project (its cache volume), the image
 *   id, the container limits and the read-only mounts (the project's git mirror). A job takes a
 *   container of exactly its key or starts cold.
 * - `take` never waits: it returns a ready container or null (cold start as without a pool), then
 *   refills in the background.
 * - Size per key from recent demand: the claims of the last DEMAND_WINDOW_MS (at least 1 while the
 *   key had a claim within `idleMs`), at most `maxPerKey`. Keys idle longer are drained.
 * - Image changes: a claim whose project now runs another image drops that project's containers
 *   of the old one; every tick re-resolves each key's image reference and replaces containers whose
 *   image id is no longer the reference's.
 * - A failed start is logged and retried on the next tick (every `tickMs`), never in a tight loop.
 * - Containers are labelled POOL_LABEL=<this pool's id>: reconcile removes those of other pools
 *   (a crashed or earlier coordinator process), never ours.
 * Background work never throws (CONVENTIONS §7).
 */
import { randomBytes } from 'node:crypto'
import type { ContainerLimits } from '../container-limits.ts'
import { POOL_LABEL, type WarmContainer } from '../executor.ts'
import type { Logger } from '../log.ts'
import type { ContainerExecutors } from './types.ts'

/** Claims counted for a key's size. */
export const DEMAND_WINDOW_MS = 10 * 60 * 1000

export interface WarmPoolOptions {
  containers: ContainerExecutors
  /** AGENT_WARM_POOL: most ready containers per key (> 0). */
  maxPerKey: number
  log: Logger
  /** Image checks, drains and retries; default 30 s. */
  tickMs?: number
  /** A key without a claim for this long is drained; default 30 min. */
  idleMs?: number
}

/** What a job needs of its container: the key. */
export interface WarmRequest {
  projectId: number
  /** What the container runs: an image id when the daemon resolved it. */
  image: string
  /** The reference `image` came from (AGENT_IMAGE or the project's entry), re-resolved each tick. */
  ref: string
  limits?: ContainerLimits
  readOnlyMounts?: { source: string; target: string }[]
}

export interface WarmPool {
  /** This pool's id: the value of its containers' POOL_LABEL. */
  readonly id: string
  /** A ready container of `request`'s key, or null; records the demand and refills in the background. */
  take(request: WarmRequest): WarmContainer | null
  /** Ready containers of all keys. */
  ready(): number
  /** Stops refilling and removes every container not handed out. */
  close(): Promise<void>
}

interface Slot {
  request: WarmRequest
  ready: WarmContainer[]
  starting: number
  claims: number[]
}

const keyOf = (request: WarmRequest) =>
  JSON.stringify([request.projectId, request.image, request.limits ?? null, (request.readOnlyMounts ?? []).map((mount) => [mount.source, mount.target])])

export function createWarmPool(options: WarmPoolOptions): WarmPool {
  const { containers, log } = options
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`
  const idleMs = options.idleMs ?? 30 * 60 * 1000
  const slots = new Map<string, Slot>()
  const failing = new Set<string>()
  const starting = new Set<Promise<void>>()
  let closed = false

  const target = (slot: Slot, now = Date.now()) => {
    slot.claims = slot.claims.filter((at) => now - at < Math.max(DEMAND_WINDOW_MS, idleMs))
    const last = slot.claims.at(-1)
    if (last === undefined || now - last >= idleMs) return 0
    const recent = slot.claims.filter((at) => now - at < DEMAND_WINDOW_MS).length
    return Math.min(options.maxPerKey, Math.max(1, recent))
  }

  const drop = (key: string, why: string) => {
    const slot = slots.get(key)
    if (!slot) return
    slots.delete(key)
    if (slot.ready.length) log.info(`warm pool: removing ${slot.ready.length} container(s): ${why}`, { projectId: slot.request.projectId, image: slot.request.image })
    for (const warm of slot.ready.splice(0)) void warm.discard()
  }

  const refill = (key: string) => {
    const slot = slots.get(key)
    if (!slot || closed) return
    const executor = containers.forImage(slot.request.image)
    if (!executor.prepare) return
    const { projectId, limits, readOnlyMounts } = slot.request
    while (!failing.has(key) && slot.ready.length + slot.starting < target(slot)) {
      slot.starting++
      const start = executor.prepare({
        projectId,
        labels: { [POOL_LABEL]: id, 'terarchitect.project_id': String(projectId) },
        ...(limits ? { limits } : {}),
        ...(readOnlyMounts ? { readOnlyMounts } : {}),
      }).then((warm) => {
        if (failing.delete(key)) log.info('warm pool: starting containers works again', { projectId })
        // Closed, drained or replaced meanwhile: this one is not wanted any more.
        if (closed || slots.get(key) !== slot) void warm.discard()
        else slot.ready.push(warm)
      }, (error: unknown) => {
        if (!failing.has(key)) log.warn(`warm pool: could not start a container (retried every ${(options.tickMs ?? 30000) / 1000} s; jobs start cold meanwhile)`, { projectId, image: slot.request.image, error: (error as Error).message })
        failing.add(key)
      }).finally(() => {
        slot.starting--
        starting.delete(start)
      })
      starting.add(start)
    }
  }

  /** Drains idle keys, replaces containers of moved image references, retries failed starts. */
  const tick = async () => {
    for (const [key, slot] of [...slots]) {
      if (target(slot) === 0) {
        drop(key, 'no claim for this project lately')
        continue
      }
      const current = await containers.imageId?.(slot.request.ref).catch(() => undefined)
      if (current && current !== slot.request.image && /^sha256:/.test(slot.request.image)) {
        const request = { ...slot.request, image: current }
        drop(key, `${slot.request.ref} is now ${current.slice(7, 19)}`)
        slots.set(keyOf(request), { request, ready: [], starting: 0, claims: slot.claims })
      }
    }
    failing.clear()
    for (const key of slots.keys()) refill(key)
  }
  const timer = setInterval(() => {
    tick().catch((error: unknown) => log.warn('warm pool check failed', { error: (error as Error).message }))
  }, options.tickMs ?? 30000)
  timer.unref()

  return {
    id,
    take(request) {
      const key = keyOf(request)
      // The project runs another image (or other limits or mounts) now: its old containers go.
      for (const [other, slot] of slots) {
        if (other !== key && slot.request.projectId === request.projectId) drop(other, 'the project\'s image, limits or mounts changed')
      }
      let slot = slots.get(key)
      if (!slot) slots.set(key, (slot = { request, ready: [], starting: 0, claims: [] }))
      slot.claims.push(Date.now())
      const warm = slot.ready.shift() ?? null
      refill(key)
      return warm
    },
    ready: () => [...slots.values()].reduce((total, slot) => total + slot.ready.length, 0),
    async close() {
      closed = true
      clearInterval(timer)
      const all = [...slots.values()].flatMap((slot) => slot.ready.splice(0))
      slots.clear()
      await Promise.all([...all.map((warm) => warm.discard()), ...starting])
    },
  }
}
