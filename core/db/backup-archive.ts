/**
 * The backup file's container: a gzipped POSIX ustar archive of a few regular files, so operators
 * can list and unpack it with `tar` (`tar tzf backup.tar.gz`). Only what backups need: flat names
 * under 100 bytes, files only, no links or long-name extensions.
 */
import { gunzipSync, gzipSync } from 'node:zlib'
import { unprocessable } from '../errors.ts'

export interface ArchiveEntry {
  name: string
  data: Buffer
  /** Permission bits, e.g. 0o600 for keys. */
  mode: number
}

const BLOCK = 512

export function writeArchive(entries: ArchiveEntry[]): Buffer {
  const parts: Buffer[] = []
  const mtime = Math.floor(Date.now() / 1000)
  for (const entry of entries) {
    const header = Buffer.alloc(BLOCK)
    header.write(entry.name, 0, 100, 'utf8')
    header.write(octal(entry.mode, 8), 100)
    header.write(octal(0, 8), 108) // uid
    header.write(octal(0, 8), 116) // gid
    header.write(octal(entry.data.length, 12), 124)
    header.write(octal(mtime, 12), 136)
    header.write('        ', 148) // the checksum field counts as spaces while summing
    header.write('0', 156) // regular file
    header.write('ustar\u000000', 257)
    let sum = 0
    for (const byte of header) sum += byte
    header.write(octal(sum, 8), 148)
    parts.push(header, entry.data, Buffer.alloc((BLOCK - (entry.data.length % BLOCK)) % BLOCK))
  }
  parts.push(Buffer.alloc(BLOCK * 2))
  return gzipSync(Buffer.concat(parts))
}

/** The archive's regular files by name; a file that is no such archive is refused (422). */
export function readArchive(file: Buffer): Map<string, Buffer> {
  let tar: Buffer
  try {
    tar = gunzipSync(file)
  } catch {
    throw unprocessable('not a Terarchitect backup: the file is not gzip-compressed')
  }
  const files = new Map<string, Buffer>()
  for (let at = 0; at + BLOCK <= tar.length;) {
    const header = tar.subarray(at, at + BLOCK)
    if (header.every((byte) => byte === 0)) break
    if (header.toString('latin1', 257, 262) !== 'ustar') throw unprocessable('not a Terarchitect backup: the file is not a tar archive')
    const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '')
    const size = parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8)
    const start = at + BLOCK
    if (start + size > tar.length) throw unprocessable('the backup is truncated')
    if (header.toString('latin1', 156, 157) === '0' || header[156] === 0) files.set(name, tar.subarray(start, start + size))
    at = start + Math.ceil(size / BLOCK) * BLOCK
  }
  return files
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0'
}
