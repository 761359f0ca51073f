/**
 * The slices of Engine API v1.41 Swarm objects the docker-swarm executor sends and reads (field
 * names are the daemon's).
 */

export interface SecretReference {
  SecretID: string
  SecretName: string
  /** `Name` relative to /run/secrets (or absolute); UID/GID strings; Mode an octal number. */
  File: { Name: string; UID: string; GID: string; Mode: number }
}

export interface ServiceSpec {
  Name: string
  Labels: Record<string, string>
  TaskTemplate: {
    ContainerSpec: {
      Image: string
      /** Replaces the image's CMD; its ENTRYPOINT (the agent's) stays. */
      Args?: string[]
      Labels?: Record<string, string>
      /** `KEY=value`; never a secret here (the job's environment travels in `Secrets`). */
      Env?: string[]
      Init?: boolean
      /** Nanoseconds between SIGTERM and SIGKILL when the task is shut down. */
      StopGracePeriod?: number
      Secrets?: SecretReference[]
    }
    Resources?: {
      Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number }
      Reservations?: { NanoCPUs?: number; MemoryBytes?: number }
    }
    RestartPolicy: { Condition: 'none' | 'on-failure' | 'any'; MaxAttempts?: number }
    Placement?: { Constraints?: string[] }
  }
  Mode: { Replicated: { Replicas: number } }
}

export interface Service {
  ID: string
  Spec: ServiceSpec
}

export interface SecretSpec {
  Name: string
  Labels: Record<string, string>
  /** Base64 of the value (at most 500 KB, not empty). */
  Data: string
}

/** Task states in the order a task goes through them; the last six are final. */
export type TaskState =
  | 'new' | 'allocated' | 'pending' | 'assigned' | 'accepted' | 'preparing' | 'ready' | 'starting' | 'running'
  | 'complete' | 'shutdown' | 'failed' | 'rejected' | 'remove' | 'orphaned'

export interface Task {
  ID: string
  ServiceID: string
  NodeID?: string
  DesiredState: TaskState
  Status: {
    State: TaskState
    Message?: string
    Err?: string
    ContainerStatus?: { ContainerID?: string; ExitCode?: number }
  }
}

export interface Node {
  ID: string
  Description?: { Hostname?: string }
  Spec?: { Labels?: Record<string, string>; Role?: string; Availability?: string }
  /** `unknown`, `down`, `ready`, `disconnected`. */
  Status: { State: string; Addr?: string; Message?: string }
}
