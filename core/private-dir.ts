/**
 * Directories only their owner may enter: the app's data dir (the embedded database, `secret.key`,
 * `worker.key`) and the coordinator's state dir. Other users of the machine, a local agent run as a
 * user of its own among them (AGENT_LOCAL_USER), must not read them.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs'

/**
 * Creates `dir` (and missing parents) mode 0700; an existing one this process's user owns is
 * narrowed to 0700 when it is open to group or others (an operator's `mkdir` gives 0755). A
 * directory of another owner is left as it is.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const stat = statSync(dir)
  if ((stat.mode & 0o077) !== 0 && stat.uid === process.getuid?.()) chmodSync(dir, 0o700)
}
