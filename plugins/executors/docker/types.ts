/**
 * The slices of Engine API v1.41 objects this client sends and reads. Field names are the
 * daemon's (PascalCase); only what Terarchitect uses is declared.
 */

export interface VersionInfo {
  Version: string
  ApiVersion: string
  MinAPIVersion?: string
  Os: string
  Arch: string
  KernelVersion?: string
}

export interface ImageInfo {
  Id: string
  RepoTags: string[] | null
  Size: number
  Config?: { Env?: string[]; Cmd?: string[] | null; Entrypoint?: string[] | null; Labels?: Record<string, string> | null }
}

export interface Mount {
  Type: 'bind' | 'volume' | 'tmpfs'
  /** Host path (bind) or volume name (volume); omitted for an anonymous volume. */
  Source?: string
  Target: string
  ReadOnly?: boolean
}

export interface HostConfig {
  /** `host-path:container-path[:ro]` or `volume-name:container-path`. */
  Binds?: string[]
  Mounts?: Mount[]
  /** e.g. `host.docker.internal:host-gateway`. */
  ExtraHosts?: string[]
  /** Bytes; 0 = unlimited. */
  Memory?: number
  /** CPUs × 1e9. */
  NanoCpus?: number
  /** 0 or -1 = unlimited. */
  PidsLimit?: number
  CapAdd?: string[]
  CapDrop?: string[]
  /** e.g. `seccomp=unconfined`, `apparmor=unconfined`. */
  SecurityOpt?: string[]
  /** An empty array (not absent) unmasks /proc paths, as `--security-opt systempaths=unconfined`. */
  MaskedPaths?: string[]
  ReadonlyPaths?: string[]
  Privileged?: boolean
  /** Always false here: the executor removes the container itself after reading its logs. */
  AutoRemove?: boolean
  /** Runs docker-init (tini) as PID 1 so SIGTERM from `stop` reaches the command. */
  Init?: boolean
  NetworkMode?: string
  /** A runtime the daemon knows (`docker info` Runtimes), e.g. `sysbox-runc`; absent = the default. */
  Runtime?: string
}

export interface ContainerCreateBody {
  Image: string
  Cmd?: string[]
  Entrypoint?: string[]
  /** `KEY=value` strings. Carries secrets: never logged. */
  Env?: string[]
  Labels?: Record<string, string>
  WorkingDir?: string
  Tty?: boolean
  OpenStdin?: boolean
  /** Anonymous volumes: `{ '/var/lib/docker': {} }`; removed with the container when `v=1`. */
  Volumes?: Record<string, Record<string, never>>
  HostConfig?: HostConfig
}

export interface ContainerSummary {
  Id: string
  Names: string[]
  Image: string
  Labels: Record<string, string>
  State: string
  Status: string
}

export interface ContainerInfo {
  Id: string
  Name: string
  State: { Status: string; Running: boolean; ExitCode: number; Error?: string }
  Config: { Image: string; Labels: Record<string, string> | null; Tty: boolean }
  HostConfig: HostConfig
}

export interface VolumeInfo {
  Name: string
  Driver: string
  Mountpoint: string
  Labels: Record<string, string> | null
}

/** GET /networks/{id}: what the coordinator reads (the bridge gateway that host-gateway maps to). */
export interface NetworkInfo {
  Name: string
  Driver: string
  IPAM: { Config: { Subnet?: string; Gateway?: string }[] | null }
}

export interface WaitResult {
  /** The container's exit code. */
  statusCode: number
  /** Set when the daemon could not wait (rare). */
  error?: string
}
