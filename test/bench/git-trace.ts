/**
 * The phases of one `git clone`, read from its GIT_TRACE2_EVENT output (one JSON event a line;
 * https://git-scm.com/docs/api-trace2): the clone is the process whose session id has no `/`,
 * its children (index-pack, rev-list, repack) are matched by `child_id`, and the checkout is its
 * `unpack_trees` region (writing the work tree's files and the index). Seconds are turned into ms.
 */
export interface ClonePhases {
  /** index-pack's life: the server packing, the transfer and indexing overlap in it. */
  receive: number
  /** `rev-list --objects … --not --all`: is everything received connected. */
  connectivity: number
  /** `--dissociate`'s `git repack -a -d` (0 without it). */
  repack: number
  /** unpack_trees: the work tree and the index written. */
  checkout: number
  /** The clone process from start to exit. */
  total: number
}

interface TraceEvent {
  event: string
  sid: string
  time: string
  child_id?: number
  argv?: string[]
  category?: string
  label?: string
  t_rel?: number
  t_abs?: number
}

export function clonePhases(trace: string): ClonePhases {
  const events = trace.split('\n').filter(Boolean).map((line) => JSON.parse(line) as TraceEvent)
  const main = events.filter((event) => !event.sid.includes('/'))
  const started = new Map<number, { at: number; argv: string[] }>()
  const phases: ClonePhases = { receive: 0, connectivity: 0, repack: 0, checkout: 0, total: 0 }
  for (const event of main) {
    const at = Date.parse(event.time)
    if (event.event === 'child_start' && event.child_id !== undefined) started.set(event.child_id, { at, argv: event.argv ?? [] })
    if (event.event === 'child_exit' && event.child_id !== undefined) {
      const child = started.get(event.child_id)
      const command = child?.argv.join(' ') ?? ''
      const took = child ? at - child.at : 0
      if (/\bindex-pack\b/.test(command)) phases.receive += took
      else if (/\brev-list\b/.test(command)) phases.connectivity += took
      else if (/\brepack\b/.test(command)) phases.repack += took
    }
    if (event.event === 'region_leave' && event.category === 'unpack_trees' && event.label === 'unpack_trees') phases.checkout += (event.t_rel ?? 0) * 1000
    if (event.event === 'exit') phases.total = (event.t_abs ?? 0) * 1000
  }
  return phases
}
