/**
 * Reads git's report-status from a receive-pack response as it streams through the git relay, to
 * learn which ref updates the git host accepted. Nothing is buffered beyond the pkt-line being read
 * (at most 65,535 bytes).
 *
 * Wire format (gitprotocol-pack "Report Status", gitprotocol-common pkt-lines): a pkt-line is a
 * 4-hex-digit length (including the 4 bytes) and a payload; `0000` is a flush. The report is
 * `unpack ok` (or `unpack <error>`), then per command `ok <ref>` or `ng <ref> <reason>`, then a
 * flush. With report-status-v2, `option refname|old-oid|new-oid|forced-update …` lines may follow a
 * ref's status: the host then updated something other than what the command asked (a
 * proc-receive hook), so that ref is not taken as updated. When the client asked for side-band
 * (`side-band-64k` or `side-band`), the response is itself pkt-lines whose first payload byte is
 * the band: 1 carries the report's bytes (its pkt-lines may be split across packets), 2 progress,
 * 3 a fatal error; a flush ends it.
 *
 * Git reports one status per command it was sent: a status for a ref the push did not name, or
 * more statuses than it had commands, is not that push's report. The answer is then unreadable,
 * and nothing more of it is read (the statuses kept are at most the push's commands).
 */

/** Largest pkt-line: its length is 4 hex digits. */
const PKT_MAX = 0xffff

/**
 * Calls `onPacket` with each payload (null for a flush) as the bytes arrive; throws on anything
 * that is not a pkt-line. Bytes are joined only once the packet they belong to is whole: a packet
 * that arrives a byte per chunk is copied once, not once per byte.
 */
function pktLines(onPacket: (payload: Buffer | null) => void): (chunk: Buffer) => void {
  let chunks: Buffer[] = []
  let received = 0
  /** Bytes needed before the next packet can be read: its length's 4, then the whole packet. */
  let needed = 4
  return (chunk) => {
    chunks.push(chunk)
    received += chunk.length
    if (received < needed) return
    const pending = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    needed = 4
    let at = 0
    while (pending.length - at >= 4) {
      const hex = pending.toString('latin1', at, at + 4)
      if (!/^[0-9a-f]{4}$/i.test(hex)) throw new Error('not a pkt-line')
      const length = parseInt(hex, 16)
      if (length === 0) {
        at += 4
        onPacket(null)
        continue
      }
      if (length < 4 || length > PKT_MAX) throw new Error(`unexpected packet length ${length}`)
      if (pending.length - at < length) {
        needed = length
        break
      }
      onPacket(pending.subarray(at + 4, at + length))
      at += length
    }
    // A copy, so the chunk the rest came from is not kept alive.
    chunks = at < pending.length ? [Buffer.from(pending.subarray(at))] : []
    received = pending.length - at
  }
}

export interface ReportStatusReader {
  /** Feeds the next bytes of the response body. */
  write(chunk: Buffer): void
  /** True once there is nothing more to learn: the report's closing flush was read, or the response is unreadable. */
  settled(): boolean
  /** The refs the host reports updated as asked; null while incomplete, or when unreadable or the unpack failed. */
  accepted(): Set<string> | null
}

/**
 * A reader for one receive-pack response; `sideBand`: the client asked for side-band(-64k);
 * `refs`: the ref of each command the push sent.
 */
export function reportStatusReader(sideBand: boolean, refs: readonly string[]): ReportStatusReader {
  const named = new Set(refs)
  let statusesLeft = refs.length
  let failed = false
  let done = false
  let unpackOk: boolean | null = null
  const ok = new Set<string>()
  const refused = new Set<string>()
  let last: string | null = null

  const report = pktLines((payload) => {
    if (done) throw new Error('data after the report')
    if (payload === null) return void (done = true)
    const line = payload.toString('utf8').replace(/\n$/, '')
    if (unpackOk === null) {
      if (!line.startsWith('unpack ')) throw new Error('the report does not start with unpack')
      unpackOk = line === 'unpack ok'
      return
    }
    const status = /^(ok|ng) (\S+)(?: .*)?$/s.exec(line)
    if (status) {
      if (!named.has(status[2]!) || statusesLeft-- <= 0) throw new Error('a status the push did not ask for')
      last = status[2]!
      ;(status[1] === 'ok' ? ok : refused).add(last)
      return
    }
    if (line.startsWith('option ') && last !== null) return void refused.add(last)
    throw new Error('not a report-status line')
  })

  const bands = pktLines((payload) => {
    if (payload === null) return
    const band = payload[0]
    if (band === 1) report(payload.subarray(1))
    else if (band === 3) throw new Error('the git host reported a fatal error')
    else if (band !== 2) throw new Error(`unknown side-band ${band}`)
  })

  const read = sideBand ? bands : report
  return {
    write(chunk) {
      if (failed) return
      try {
        read(chunk)
      } catch {
        failed = true
      }
    },
    settled: () => done || failed,
    accepted() {
      if (failed || !done || unpackOk !== true) return null
      return new Set([...ok].filter((ref) => !refused.has(ref)))
    },
  }
}
