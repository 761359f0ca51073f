/**
 * Watching Pods by label: list (for a resourceVersion), then `?watch=1&resourceVersion=…` from it.
 * The stream is newline-delimited JSON events `{type, object}`: ADDED, MODIFIED, DELETED, BOOKMARK
 * (only a newer resourceVersion) and ERROR (a Status; code 410 `Expired` when the version asked for
 * is older than the server keeps). A watch ends when the server closes it (timeouts, restarts):
 * it is resumed from the last resourceVersion seen; after a 410 everything is listed again, the
 * listed Pods are replayed as MODIFIED and those seen before but no longer listed as DELETED, so no
 * change between the two is missed.
 */
import { StringDecoder } from 'node:string_decoder'
import type { Logger } from '../../../core/log.ts'
import type { KubernetesClient } from './client.ts'
import { isKubernetesError, KubernetesError, type StatusObject } from './errors.ts'
import type { Pod } from './types.ts'

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface PodWatchOptions {
  namespace: string
  labelSelector: string
  onPod(type: WatchEventType, pod: Pod): void
  signal: AbortSignal
  log: Logger
  /** Server-side watch timeout, seconds; the watch is then resumed. Default 300. */
  timeoutSeconds?: number
}

/** Runs until `signal` aborts; never throws (errors are logged and retried after 0.5–1.5 s). */
export async function watchPods(client: KubernetesClient, options: PodWatchOptions): Promise<void> {
  const path = `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods`
  let resourceVersion: string | undefined
  // The last state of each Pod seen: a relist that no longer has one reports it DELETED.
  const known = new Map<string, Pod>()
  const report = (type: WatchEventType, pod: Pod) => {
    if (type === 'DELETED') known.delete(pod.metadata.name)
    else known.set(pod.metadata.name, pod)
    options.onPod(type, pod)
  }
  while (!options.signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await client.request<{ metadata: { resourceVersion: string }; items: Pod[] }>('GET', path, {
          query: { labelSelector: options.labelSelector }, signal: options.signal,
        })
        const listed = new Set(list.items.map((pod) => pod.metadata.name))
        for (const [name, pod] of known) if (!listed.has(name)) report('DELETED', pod)
        for (const pod of list.items) report('MODIFIED', pod)
        resourceVersion = list.metadata.resourceVersion
      }
      const response = await client.stream(path, {
        watch: 1, resourceVersion, labelSelector: options.labelSelector, allowWatchBookmarks: true,
        timeoutSeconds: options.timeoutSeconds ?? 300,
      }, options.signal)
      await readEvents(response, (event) => {
        if (event.type === 'ERROR') {
          const status = event.object as StatusObject
          throw new KubernetesError(status.code === 410 ? 'k8s_gone' : 'k8s_api_error', status.code ?? 0, `watch: ${status.message ?? 'error event'}`, status.reason)
        }
        const pod = event.object as Pod
        if (pod.metadata?.resourceVersion) resourceVersion = pod.metadata.resourceVersion
        if (event.type !== 'BOOKMARK') report(event.type as WatchEventType, pod)
      })
    } catch (error) {
      if (options.signal.aborted) return
      if (isKubernetesError(error, 'k8s_gone')) {
        options.log.info('pod watch expired (410); listing again', { selector: options.labelSelector })
        resourceVersion = undefined
        continue
      }
      options.log.warn('pod watch failed; retrying', { selector: options.labelSelector, error: (error as Error).message })
      await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 1000))
    }
  }
}

/** Reads a watch response to its end, one JSON event per line (lines may span chunks). */
async function readEvents(body: AsyncIterable<unknown> & { destroy(): void }, onEvent: (event: { type: string; object: unknown }) => void) {
  const decoder = new StringDecoder('utf8')
  let carry = ''
  try {
    for await (const chunk of body) {
      const lines = (carry + decoder.write(chunk as Buffer)).split('\n')
      carry = lines.pop() ?? ''
      for (const line of lines) if (line.trim()) onEvent(JSON.parse(line) as { type: string; object: unknown })
    }
  } finally {
    body.destroy()
  }
}
