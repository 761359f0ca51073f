/**
 * Follows a container's log (`GET …/pods/{name}/log?follow=true&container=…`) into the output
 * sink. The log API serves one stream: stdout and stderr are interleaved as the runtime wrote them
 * and cannot be told apart (splitting them is an alpha feature gate, PodLogsQuerySplitStreams), so
 * everything is delivered as `stdout`. The body ends when the container has ended.
 */
import { StringDecoder } from 'node:string_decoder'
import type { OutputSink } from '../../../core/executor.ts'
import type { Logger } from '../../../core/log.ts'
import type { KubernetesClient } from './client.ts'

/** Resolves when the log has ended or failed (a failure is logged and told to the output). */
export async function followLogs(client: KubernetesClient, namespace: string, pod: string, container: string,
  output: OutputSink, log: Logger, signal: AbortSignal): Promise<void> {
  const decoder = new StringDecoder('utf8')
  try {
    const body = await client.stream(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`, { follow: true, container }, signal)
    try {
      for await (const chunk of body) {
        const text = decoder.write(chunk as Buffer)
        if (text !== '') output({ stream: 'stdout', text })
      }
    } finally {
      body.destroy()
    }
  } catch (error) {
    if (signal.aborted) return
    log.warn('log stream failed', { pod, error: (error as Error).message })
    output({ stream: 'system', text: `the pod's log could not be read to its end: ${(error as Error).message}\n` })
  }
  const rest = decoder.end()
  if (rest !== '') output({ stream: 'stdout', text: rest })
}
