/**
 * The hand-over of a job to a warm container (warm-container.ts): one small tar, uploaded with the
 * Engine API's archive call after the container started, that the waiting agent reads and deletes
 * (core/agent/wait-job.ts). It holds `JOB_DIR/JOB_FILE`, owned by the image's agent user (uid 1000)
 * with modes 0700/0600, so only that user (and root) can read it.
 *
 * Built in memory (a ustar writer of a few lines): the job's token never touches the coordinator's
 * disk on its way. In the container it lands in the writable layer, not a tmpfs: the archive call
 * writes beneath a tmpfs mounted there (measured on a 20.10 daemon), so the waiting agent deletes
 * it the moment it has read it.
 */
import { posix } from 'node:path'
import { JOB_DIR as JOB_PATH, JOB_FILE, type HandedJob } from '../../../core/agent/wait-job.ts'

/** The tar is extracted here: it holds JOB_DIR (the agent's `/run/terarchitect-job`) and its JOB_FILE. */
export const JOB_PARENT = posix.dirname(JOB_PATH)
const JOB_DIR = posix.basename(JOB_PATH)
/** The agent user of the agent image (Dockerfile.agent). */
export const AGENT_UID = 1000

/** The tar to upload at JOB_PARENT. */
export function jobArchive(job: HandedJob): Buffer {
  const data = Buffer.from(JSON.stringify(job))
  return Buffer.concat([
    header(`${JOB_DIR}/`, 0o700, 0, '5'),
    header(`${JOB_DIR}/${JOB_FILE}`, 0o600, data.length, '0'),
    data, Buffer.alloc((512 - (data.length % 512)) % 512),
    Buffer.alloc(1024), // end of archive: two zero blocks
  ])
}

/** One ustar header block (POSIX.1-1988): octal numeric fields, checksum over the block with its own field as spaces. */
function header(name: string, mode: number, size: number, type: '0' | '5'): Buffer {
  const block = Buffer.alloc(512)
  const octal = (value: number, offset: number, width: number) => block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'ascii')
  block.write(name, 0, 100, 'utf8')
  octal(mode, 100, 8)
  octal(AGENT_UID, 108, 8)
  octal(AGENT_UID, 116, 8)
  octal(size, 124, 12)
  octal(Math.floor(Date.now() / 1000), 136, 12)
  block.write('        ', 148, 'ascii')
  block.write(type, 156, 'ascii')
  block.write('ustar\u000000', 257, 'ascii')
  block.write('agent', 265, 'ascii')
  block.write('agent', 297, 'ascii')
  const sum = block.reduce((total, byte) => total + byte, 0)
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii')
  return block
}
