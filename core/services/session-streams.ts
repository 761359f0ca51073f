/**
 * Live streams (SSE) opened under a session, so revoking the session (logout, disabling the user)
 * ends them at once on this replica. Other replicas notice on their periodic re-check of the
 * session (core/api/events.ts).
 */
const streams = new Map<string, Set<() => void>>()

/** Registers `end` for the session with this id hash; returns the unregister function. */
export function watchSession(idHash: string, end: () => void): () => void {
  let set = streams.get(idHash)
  if (!set) streams.set(idHash, (set = new Set()))
  set.add(end)
  return () => {
    set.delete(end)
    if (!set.size) streams.delete(idHash)
  }
}

/** Ends every stream of these sessions (call after the revocation committed). */
export function endSessionStreams(idHashes: Iterable<string>): void {
  for (const idHash of idHashes) {
    for (const end of [...(streams.get(idHash) ?? [])]) end()
  }
}
