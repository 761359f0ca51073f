/**
 * Limits of agent containers: memory, CPUs and processes. Their defaults are app settings
 * (core/settings.ts, delivered to coordinators by `GET /api/worker/settings` and re-read while they
 * run); a coordinator's environment variables of the same names override them for that coordinator.
 * This one parser checks the settings and the variables alike.
 */

export const CONTAINER_LIMIT_KEYS = ['AGENT_MEMORY', 'AGENT_CPUS', 'AGENT_PIDS_LIMIT'] as const
export type ContainerLimitKey = (typeof CONTAINER_LIMIT_KEYS)[number]

/** What an executor applies to a container (HostConfig Memory, NanoCpus, PidsLimit); 0 = unlimited. */
export interface ContainerLimits {
  memoryBytes: number
  cpus: number
  pidsLimit: number
}

export const CONTAINER_LIMIT_DEFAULTS: Record<ContainerLimitKey, string> = { AGENT_MEMORY: '4g', AGENT_CPUS: '2', AGENT_PIDS_LIMIT: '4096' }

export const CONTAINER_LIMIT_DESCRIPTIONS: Record<ContainerLimitKey, string> = {
  AGENT_MEMORY: 'Memory limit of an agent container (inner Docker included): a number with b, k, m or g (512m, 4g; a bare number is bytes, at least 6m); 0 = unlimited',
  AGENT_CPUS: "CPU limit of an agent container (1.5 = one and a half CPUs; at most the daemon's CPU count); 0 = unlimited",
  AGENT_PIDS_LIMIT: 'Process (thread) limit of an agent container; 0 = unlimited',
}

const FIELD: Record<ContainerLimitKey, keyof ContainerLimits> = { AGENT_MEMORY: 'memoryBytes', AGENT_CPUS: 'cpus', AGENT_PIDS_LIMIT: 'pidsLimit' }
const MEMORY = /^(\d+(?:\.\d+)?)([bkmg]?)$/i
const MEMORY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** Parses one limit: its number (bytes for AGENT_MEMORY), or a message saying what is expected. */
export function parseContainerLimit(key: ContainerLimitKey, text: string): { value: number } | { problem: string } {
  const value = text.trim()
  if (key === 'AGENT_MEMORY') {
    const memory = MEMORY.exec(value)
    const bytes = memory ? Math.floor(Number(memory[1]) * MEMORY_UNITS[memory[2]!.toLowerCase()]!) : NaN
    // The daemon refuses limits under 6 MiB; a bare number is bytes, as for `docker run --memory`.
    if (!memory || (bytes !== 0 && bytes < 6 * 1024 ** 2)) return { problem: `expected 0 or at least 6m, as a number with b, k, m or g (a bare number is bytes): ${JSON.stringify(text)}` }
    return { value: bytes }
  }
  if (key === 'AGENT_CPUS') {
    if (!/^\d{1,4}(?:\.\d{1,3})?$/.test(value)) return { problem: `expected a number of CPUs, 0 or more (1.5 = one and a half; 0 = unlimited): ${JSON.stringify(text)}` }
    return { value: Number(value) }
  }
  if (!/^\d{1,9}$/.test(value)) return { problem: `expected a whole number of processes, 0 or more (0 = unlimited): ${JSON.stringify(text)}` }
  return { value: Number(value) }
}

/** The problem with a limit's value, or null: the settings table's check. */
export const containerLimitProblem = (key: ContainerLimitKey) => (text: string): string | null => {
  const parsed = parseContainerLimit(key, text)
  return 'problem' in parsed ? parsed.problem : null
}

/**
 * The limits given in `values` (by variable or setting name), parsed; unset ones are left out and
 * bad ones are left out and listed in `problems`.
 */
export function parseContainerLimits(values: Partial<Record<ContainerLimitKey, string | undefined>>): { limits: Partial<ContainerLimits>; problems: { path: string; message: string }[] } {
  const limits: Partial<ContainerLimits> = {}
  const problems: { path: string; message: string }[] = []
  for (const key of CONTAINER_LIMIT_KEYS) {
    const text = values[key]
    if (text === undefined || text === '') continue
    const parsed = parseContainerLimit(key, text)
    if ('problem' in parsed) problems.push({ path: key, message: parsed.problem })
    else limits[FIELD[key]] = parsed.value
  }
  return { limits, problems }
}

/** The defaults as limits (4 GiB, 2 CPUs, 4096 processes). */
export const DEFAULT_CONTAINER_LIMITS = parseContainerLimits(CONTAINER_LIMIT_DEFAULTS).limits as ContainerLimits
