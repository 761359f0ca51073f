/** The slices of Kubernetes objects this client reads (core/v1 Pod, batch/v1 Job, lists). */

export interface ObjectMeta {
  name: string
  namespace?: string
  uid: string
  resourceVersion: string
  labels?: Record<string, string>
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string }
  running?: { startedAt?: string }
  terminated?: { exitCode: number; reason?: string; message?: string }
}

export interface Pod {
  metadata: ObjectMeta
  status?: {
    /** Pending → Running → Succeeded | Failed (Unknown when the node is lost). */
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'
    reason?: string
    message?: string
    containerStatuses?: { name: string; state?: ContainerState }[]
    /** PodScheduled False with reason Unschedulable carries the scheduler's message; DisruptionTarget True says why the Pod is being ended. */
    conditions?: { type: string; status: string; reason?: string; message?: string }[]
  }
}

export interface Job {
  metadata: ObjectMeta
}

export interface List<T> {
  metadata: { resourceVersion: string }
  items: T[]
}
