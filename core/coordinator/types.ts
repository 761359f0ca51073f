/** What the coordinator core is composed with (coordinator.ts wires the real plugins in). */
import type { Executor, ProbeResult } from '../executor.ts'

/** The container side: one executor per image, plus what the coordinator needs of the daemon. */
export interface ContainerExecutors {
  /** Plugin name, e.g. `docker-dind`. */
  readonly name: string
  /** The executor that runs `image` (cached per image). */
  forImage(image: string): Executor
  /** Does the daemon answer? Never throws. */
  ping(): Promise<ProbeResult>
  /**
   * Removes containers labelled with `coordinatorId` for jobs not in `keep`, and its warm containers
   * of any pool but `pool` (the live one); returns their ids.
   */
  reconcile(coordinatorId: string, keep: ReadonlySet<number>, pool?: string): Promise<string[]>
  /** Optional: the id of `image` (a tag or an id); undefined when the daemon does not have it. Throws when the daemon cannot be asked. */
  imageId?(image: string): Promise<string | undefined>
  /** Optional: tags `imageId` for `projectId` so `docker image prune` keeps it; returns the tag. */
  keepImage?(imageId: string, projectId: number): Promise<string>
  /** Optional: the address `host.docker.internal` maps to in containers (the bridge gateway). */
  hostGateway?(): Promise<string | undefined>
  close?(): Promise<void>
  /** Optional: true when containers can bind directories of this host (a local daemon): the git object cache needs it. */
  bindsHostPaths?: boolean
}

export interface CoordinatorExecutors {
  /** Runs execution-mode `docker` jobs; null when this host has no Docker configured. */
  containers: ContainerExecutors | null
  /** Runs the agent as a host process: execution mode `local`, and the fallback when a container cannot start. */
  host: Executor
}
