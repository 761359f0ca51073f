/**
 * Orphans and the probe. A restarted coordinator removes the Jobs it labelled for jobs it no
 * longer holds (their Pods and Secrets go with them); the probe proves the API answers, the
 * credentials are accepted and the namespace takes Jobs and Secrets (a server-side dry run).
 */
import type { ProbeResult } from '../../../core/executor.ts'
import type { Logger } from '../../../core/log.ts'
import type { KubernetesClient } from './client.ts'
import { COORDINATOR_ID_LABEL, JOB_ID_LABEL, labelValue } from './manifests.ts'
import { deleteJob, jobsPath } from './run-job.ts'
import type { Job, List } from './types.ts'

/** Deletes this coordinator's Jobs whose job id is not in `keep`; returns their names. */
export async function reconcileJobs(client: KubernetesClient, namespace: string, coordinatorId: string, keep: ReadonlySet<number>, log: Logger): Promise<string[]> {
  const list = await client.request<List<Job>>('GET', jobsPath(namespace), {
    query: { labelSelector: `${COORDINATOR_ID_LABEL}=${labelValue(coordinatorId)},${JOB_ID_LABEL}` },
  })
  const removed: string[] = []
  for (const job of list.items) {
    const jobId = Number(job.metadata.labels?.[JOB_ID_LABEL])
    if (keep.has(jobId)) continue
    try {
      if (await deleteJob(client, namespace, job.metadata.name, 'Background')) {
        removed.push(job.metadata.name)
        log.info('removed orphan agent job', { job: job.metadata.name, jobId, namespace })
      }
    } catch (error) {
      log.warn('orphan agent job removal failed', { job: job.metadata.name, error: (error as Error).message })
    }
  }
  return removed
}

const PROBE_NAME = 'terarchitect-probe'

/** Never throws. */
export async function probeKubernetes(client: KubernetesClient, namespace: string, image: string): Promise<ProbeResult> {
  try {
    const version = await client.request<{ gitVersion?: string }>('GET', '/version').catch(() => undefined)
    const dryRun = { dryRun: 'All' }
    await client.request('POST', jobsPath(namespace), {
      query: dryRun, expect: [200, 201],
      body: {
        apiVersion: 'batch/v1', kind: 'Job', metadata: { name: PROBE_NAME },
        spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'agent', image }] } } },
      },
    })
    await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`, {
      query: dryRun, expect: [200, 201], body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: PROBE_NAME }, type: 'Opaque', data: {} },
    })
    await client.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { query: { limit: 1 } })
    return { ok: true, detail: `namespace ${namespace} at ${client.connection.server}${version?.gitVersion ? ` (Kubernetes ${version.gitVersion})` : ''}, ${client.connection.source}` }
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }
}
