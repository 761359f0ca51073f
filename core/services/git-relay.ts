/**
 * The git smart-HTTP relay: an agent clones, fetches and pushes its project's repository through the
 * app with its job token; the app forwards to the project's `repo_url` with the forge token as the
 * Basic credentials the project's forge plugin names (`gitCredentials`; GitHub:
 * `x-access-token:<token>`). The token goes to that one host only: https (plain http only for hosts
 * in ALLOW_INSECURE_GIT_HOSTS), the forge's own git host (`gitHost`), and redirects are answered
 * with an error instead of being followed. Bodies stream both ways unbuffered; a push's body is read only
 * as far as its ref-update commands, which must all create or update the job's own branch, and its
 * answer is read as it passes for the git host's report-status: each commit the host accepted for
 * the branch is recorded with the job (relay-pushes.ts), which is how the CI follower knows the
 * agent's commits.
 *
 * Wire format (gitprotocol-http, gitprotocol-pack): pkt-lines are a 4-hex-digit length (including
 * the 4 bytes) and a payload; `0000` is a flush. A push request starts with optional `shallow <oid>`
 * lines, then `<old-oid> <new-oid> <ref>` commands (the first with `\0<capabilities>`), a flush,
 * push options when negotiated, then the pack.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import type { AppContext } from '../context.ts'
import { AppError, forbidden, unprocessable } from '../errors.ts'
import type { Job, Project } from '../types.ts'
import { jobBranch } from './forge-actions.ts'
import { forgeAccess, tokenSetting } from './forge-token.ts'
import { reportStatusReader } from './git-report-status.ts'
import { recordRelayPush } from './relay-pushes.ts'

export type GitService = 'git-upload-pack' | 'git-receive-pack'

/** Where the relay sends a project's git traffic and the header it adds. */
export interface GitUpstream {
  base: URL
  authorization: string
}

/** The hosts in ALLOW_INSECURE_GIT_HOSTS, lower-cased (`host` or `host:port`). */
export function insecureGitHosts(value: string): Set<string> {
  return new Set(value.split(',').map((host) => host.trim().toLowerCase()).filter(Boolean))
}

/** The project's git host as the relay may reach it, or a 403/422 saying why not. */
export async function gitUpstream(ctx: AppContext, project: Project): Promise<GitUpstream> {
  if (!project.repo_url) throw unprocessable(`project ${project.id} has no repo_url`, [{ path: '/project/repo_url', message: 'not set' }])
  let base: URL
  try {
    base = new URL(project.repo_url)
  } catch {
    throw forbidden('the git relay forwards only to https repositories: the project repo_url is not a URL', [{ path: '/project/repo_url', message: 'not a URL' }])
  }
  const insecure = insecureGitHosts(ctx.config.ALLOW_INSECURE_GIT_HOSTS)
  if (base.protocol === 'http:' && !insecure.has(base.host.toLowerCase()) && !insecure.has(base.hostname.toLowerCase())) {
    throw forbidden(`the project repository is plain http (${base.host}): the forge token goes only over https, unless ALLOW_INSECURE_GIT_HOSTS lists the host`,
      [{ path: '/project/repo_url', message: 'https required' }])
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw forbidden(`the git relay forwards only to https repositories (got ${base.protocol})`, [{ path: '/project/repo_url', message: 'https required' }])
  }
  if (base.username || base.password) throw forbidden('the project repo_url carries credentials', [{ path: '/project/repo_url', message: 'credentials in URL' }])
  const { forge, kind, token, apiUrl } = await forgeAccess(ctx, project)
  const setting = tokenSetting(kind)
  if (!token) throw unprocessable(`${setting} is not set: the git relay has no forge token`, [{ path: `/settings/${setting}`, message: 'not set' }])
  const forgeHost = forge.gitHost(apiUrl).toLowerCase()
  if (base.hostname.toLowerCase() !== forgeHost) {
    throw forbidden(`the project repository is on ${base.hostname}, not on the forge's host ${forgeHost}: the forge token is sent only there`,
      [{ path: '/project/repo_url', message: `host must be ${forgeHost}` }])
  }
  base.pathname = base.pathname.replace(/\/+$/, '')
  base.search = ''
  base.hash = ''
  const credentials = forge.gitCredentials(token)
  return { base, authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` }
}

/** A ref update of a push: `<old> <new> <ref>`. */
export interface RefUpdate {
  oldOid: string
  newOid: string
  ref: string
}

const ZERO_OID = /^0+$/
/** Largest command section read before the pack (thousands of refs fit). */
const COMMANDS_LIMIT = 1024 * 1024

/**
 * Parses the command section at the start of a receive-pack request; undefined while the flush
 * ending it has not arrived. Throws on anything that is not a plain command list.
 */
export function parseRefUpdates(buffer: Buffer): { updates: RefUpdate[]; capabilities: string[] } | undefined {
  const updates: RefUpdate[] = []
  let capabilities: string[] = []
  let at = 0
  while (at + 4 <= buffer.length) {
    const length = parseInt(buffer.subarray(at, at + 4).toString('latin1'), 16)
    if (!Number.isInteger(length) || !/^[0-9a-f]{4}$/i.test(buffer.subarray(at, at + 4).toString('latin1'))) throw new Error('not a pkt-line')
    if (length === 0) return { updates, capabilities }
    if (length < 4) throw new Error(`unexpected special packet ${length}`)
    if (at + length > buffer.length) return undefined
    let line = buffer.subarray(at + 4, at + length).toString('utf8')
    at += length
    const nul = line.indexOf('\0')
    if (nul >= 0) {
      capabilities = line.slice(nul + 1).trim().split(/\s+/).filter(Boolean)
      line = line.slice(0, nul)
    }
    line = line.replace(/\n$/, '')
    if (line.startsWith('shallow ')) continue
    if (line.startsWith('push-cert')) throw new Error('signed pushes are not relayed')
    const match = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/.exec(line)
    if (!match) throw new Error(`not a ref-update command: ${JSON.stringify(line.slice(0, 100))}`)
    updates.push({ oldOid: match[1]!, newOid: match[2]!, ref: match[3]! })
  }
  return undefined
}

/** Why an update is refused, or null: only creating or updating `refs/heads/<branch>` passes. */
export function refusal(update: RefUpdate, branch: string): string | null {
  if (update.ref !== `refs/heads/${branch}`) return `this job may push only to refs/heads/${branch}`
  if (ZERO_OID.test(update.newOid)) return 'deleting a branch is not allowed'
  return null
}

const pkt = (payload: Buffer | string) => {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0')), data])
}
const FLUSH = Buffer.from('0000')

/** A receive-pack result refusing every update (report-status, inside side-band when negotiated). */
export function refusedPushResult(updates: RefUpdate[], reasons: (string | null)[], capabilities: string[]): Buffer {
  const status = Buffer.concat([
    pkt('unpack ok\n'),
    ...updates.map((update, i) => pkt(`ng ${update.ref} ${reasons[i] ?? 'refused with the rest of this push'}\n`)),
    FLUSH,
  ])
  if (!capabilities.includes('side-band-64k') && !capabilities.includes('side-band')) return status
  const message = [...new Set(reasons.filter(Boolean))].map((reason) => `terarchitect: ${reason}\n`).join('')
  return Buffer.concat([pkt(Buffer.concat([Buffer.from([2]), Buffer.from(message)])), pkt(Buffer.concat([Buffer.from([1]), status])), FLUSH])
}

/**
 * Reads a push's command section; the stream is left paused right after it, nothing consumed beyond
 * `head`. What has come is joined and parsed again only once it has doubled (and at the limit and
 * the end): the agent decides how its bytes are cut (a byte per HTTP chunk is a 'data' event each),
 * and parsing at every event would cost the square of the section, on the app's one event loop.
 */
function readCommands(stream: Readable): Promise<{ head: Buffer; updates: RefUpdate[]; capabilities: string[] }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let received = 0
    let parseAt = 0
    let head: Buffer = Buffer.alloc(0)
    const done = (error?: Error, parsed?: { updates: RefUpdate[]; capabilities: string[] }) => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.pause()
      if (error) reject(new AppError('bad_request', 400, `the push request cannot be relayed: ${error.message}`))
      else resolve({ head, ...parsed! })
    }
    /** Parses all that came; settles when the section is complete, too long, or (`ended`) cut short. */
    const parse = (ended: boolean) => {
      head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      chunks.splice(0, chunks.length, head)
      parseAt = received * 2
      try {
        const parsed = parseRefUpdates(head)
        if (parsed) done(undefined, parsed)
        else if (head.length > COMMANDS_LIMIT) done(new Error('the command section is too long'))
        else if (ended) done(new Error('the request ended before its commands did'))
      } catch (error) {
        done(error as Error)
      }
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      received += chunk.length
      if (received >= parseAt || received > COMMANDS_LIMIT) parse(false)
    }
    const onEnd = () => parse(true)
    const onError = (error: Error) => done(error)
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', onError)
  })
}

const REQUEST_HEADERS = ['content-type', 'accept', 'accept-encoding', 'git-protocol', 'user-agent']
const RESPONSE_HEADERS = ['content-type', 'content-encoding', 'content-length', 'cache-control', 'expires', 'pragma']
/** An upstream silent this long is given up on (a large clone streams continuously). */
const IDLE_TIMEOUT_MS = 5 * 60 * 1000

/**
 * Relays one git request of `job` to the project's repository. `path` is what follows the
 * repository (`/info/refs?service=…`, `/git-upload-pack`, `/git-receive-pack`). Answers the
 * response itself; throws an AppError only before anything was sent.
 */
export async function relayGit(ctx: AppContext, job: Job, upstream: GitUpstream, service: GitService, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const headers: Record<string, string> = { authorization: upstream.authorization }
  for (const name of REQUEST_HEADERS) if (req.headers[name]) headers[name] = String(req.headers[name])
  let body: Readable | undefined
  let head: Buffer | undefined
  let push: Push | undefined
  if (req.method === 'POST') {
    body = req
    if (req.headers['content-encoding'] && service === 'git-receive-pack') {
      // The commands must be read; the decompressed body is forwarded as is.
      if (!/^(x-)?gzip$/i.test(String(req.headers['content-encoding']))) throw new AppError('unsupported_media_type', 415, 'push bodies are relayed plain or gzip')
      body = req.pipe(createGunzip())
    } else {
      if (req.headers['content-encoding']) headers['content-encoding'] = String(req.headers['content-encoding'])
      if (req.headers['content-length']) headers['content-length'] = String(req.headers['content-length'])
    }
    if (service === 'git-receive-pack') {
      const commands = await readCommands(body)
      const branch = await jobBranch(ctx, job).catch((error: Error) => error)
      const reasons = commands.updates.map((update) => (branch instanceof Error ? branch.message : refusal(update, branch)))
      if (branch instanceof Error || reasons.some(Boolean) || commands.updates.length === 0) {
        // Drain the pack the client is still sending, then refuse in git's own words.
        body.resume()
        await finished(body).catch(() => {})
        ctx.log.info('git relay refused a push', { jobId: job.id, refs: commands.updates.map((update) => update.ref) })
        res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result', 'cache-control': 'no-cache' })
        res.end(refusedPushResult(commands.updates, reasons, commands.capabilities))
        return
      }
      head = commands.head
      push = { branch, updates: commands.updates, capabilities: commands.capabilities }
      // The report-status is read as it streams back (pushRecorder): uncompressed, so it can be.
      delete headers['accept-encoding']
    }
  }

  const target = new URL(upstream.base.toString())
  const [pathname, search] = path.split('?')
  target.pathname = `${target.pathname}${pathname}`
  target.search = search ? `?${search}` : ''
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest
  await new Promise<void>((resolve) => {
    const outbound = send(target, { method: req.method, headers, timeout: IDLE_TIMEOUT_MS }, (answer) => {
      const status = answer.statusCode ?? 502
      if (status >= 200 && status < 300) {
        const forwarded: Record<string, string> = {}
        for (const name of RESPONSE_HEADERS) if (answer.headers[name]) forwarded[name] = String(answer.headers[name])
        res.writeHead(status, forwarded)
        const recorded = push ? pushRecorder(ctx, job, push, answer) : undefined
        answer.pipe(res, { end: false })
        // A push's answer ends once its record is written, so the agent's push returns after it;
        // a database that does not answer holds it RECORD_WAIT_MS at most (the record still
        // lands later, and the CI follower judges the commit again then: relay-pushes.ts).
        answer.once('end', () => void recordedOrLate(ctx, job, recorded).then(() => {
          res.end()
          resolve()
        }))
        answer.once('error', () => (res.destroy(), resolve()))
        return
      }
      // Neither the body nor a redirect's target is followed or echoed: the status says enough.
      answer.resume()
      const message = status >= 300 && status < 400
        ? `the git host answered a redirect (${status}); the relay does not follow redirects`
        : status === 401 || status === 403
          ? `the git host refused the forge token (${status}): check GITHUB_TOKEN`
          : status === 404 ? 'the repository was not found on the git host' : `the git host answered ${status}`
      ctx.log.warn('git relay: upstream refused', { jobId: job.id, status, host: target.host })
      sendGitText(res, status === 404 ? 404 : 502, message)
      resolve()
    })
    outbound.on('timeout', () => outbound.destroy(new Error('the git host stopped answering')))
    outbound.on('error', (error) => {
      ctx.log.warn('git relay: upstream failed', { jobId: job.id, host: target.host, error: error.message })
      if (!res.headersSent) sendGitText(res, 502, `the git host cannot be reached: ${error.message}`)
      else res.destroy()
      resolve()
    })
    // A client that goes away stops the upstream request too.
    res.once('close', () => !res.writableFinished && outbound.destroy())
    if (!body) return void outbound.end()
    // The whole body may have come with the commands (and its 'end' gone by already).
    if (body.readableEnded) return void outbound.end(head)
    if (head) outbound.write(head)
    body.pipe(outbound)
  })
}

/** How long the end of a push's answer waits for the push's record. */
export const RECORD_WAIT_MS = 10_000

/** Resolves once `recorded` has, or after RECORD_WAIT_MS (logged), whichever is first; at once without a record. */
async function recordedOrLate(ctx: AppContext, job: Job, recorded: Promise<void> | undefined): Promise<void> {
  if (!recorded) return
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), RECORD_WAIT_MS).unref()))
  const first = await Promise.race([recorded, late])
  clearTimeout(timer)
  if (first !== 'late') return
  const since = Date.now()
  ctx.log.warn('git relay: the push\'s record is not written yet; its answer ends without waiting longer', { jobId: job.id, waitedMs: RECORD_WAIT_MS })
  void recorded.then(() => ctx.log.info('git relay: a late push record was written', { jobId: job.id, lateByMs: RECORD_WAIT_MS + Date.now() - since }))
}

/** A push the relay forwards: the job's branch and what the client sent. */
interface Push {
  branch: string
  updates: RefUpdate[]
  capabilities: string[]
}

/**
 * Reads the git host's report-status as `answer` streams through and, once it has been read,
 * records each update of the job's branch the host accepted (relay-pushes.ts). A report that cannot
 * be read (compressed, cut short, not git's) records nothing. Resolves when that is done; never rejects.
 */
function pushRecorder(ctx: AppContext, job: Job, push: Push, answer: IncomingMessage): Promise<void> {
  const encoding = String(answer.headers['content-encoding'] ?? 'identity').toLowerCase()
  if (encoding !== 'identity' || !push.capabilities.some((cap) => cap === 'report-status' || cap === 'report-status-v2')) {
    ctx.log.info('git relay: the push\'s report cannot be read; not recorded', { jobId: job.id, encoding })
    return Promise.resolve()
  }
  const sideBand = push.capabilities.includes('side-band-64k') || push.capabilities.includes('side-band')
  const report = reportStatusReader(sideBand, push.updates.map((update) => update.ref))
  return new Promise<void>((resolve) => {
    let over = false
    const settle = () => {
      if (over) return
      over = true
      answer.off('data', onData)
      answer.off('end', settle)
      answer.off('close', settle)
      const accepted = report.accepted()
      const pushed = push.updates.filter((update) => accepted?.has(update.ref) && update.ref === `refs/heads/${push.branch}`)
      if (!accepted) ctx.log.info('git relay: no readable report-status for a push; not recorded', { jobId: job.id })
      Promise.all(pushed.map((update) => recordRelayPush(ctx, job, push.branch, update.newOid)))
        .catch((error: Error) => ctx.log.warn('git relay: recording a push failed', { jobId: job.id, error: error.message }))
        .then(() => resolve())
    }
    const onData = (chunk: Buffer) => {
      report.write(chunk)
      if (report.settled()) settle()
    }
    answer.on('data', onData)
    answer.once('end', settle)
    answer.once('close', settle)
  })
}

/** A plain-text answer git shows to the user (`remote: <message>`). */
export function sendGitText(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end()
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', ...headers })
  res.end(`${message}\n`)
}
