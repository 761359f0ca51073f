/**
 * What the git relay records of a push (relay_pushes, which the CI follower trusts) when the git
 * host's answer is not a plain accepted report: only a report the relay can read that says `ok`
 * for the job's branch records the commit. A gzipped answer, a report framed otherwise than the
 * push asked (plain for a side-band push), a status for a ref the push did not name, an answer cut
 * off mid-way record nothing; each answer still reaches the agent and its request ends (no push
 * left hanging), and an agent that goes away mid-answer closes the relay's request to the host.
 * The git host here is a stub answering each push as the test says, so the answers are exact.
 *   node --import ./scripts/ts-register.mjs test/security/git-relay-push-answers.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { startTestApp, type TestApp } from '../helpers.ts'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'

const FORGE_TOKEN = 'ghp_' + 'a'.repeat(36)
const WORKER_KEY = 'push-answers-worker-key-' + 'b'.repeat(8)
const ADMIN_TOKEN = 'push-answers-admin-token-' + 'c'.repeat(8)
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` }
const WORKER = { authorization: `Bearer ${WORKER_KEY}` }
const ZERO = '0'.repeat(40)

const pkt = (payload: Buffer | string) => {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0')), data])
}
const FLUSH = Buffer.from('0000')
const band = (n: number, data: Buffer) => pkt(Buffer.concat([Buffer.from([n]), data]))
const report = (...lines: string[]) => Buffer.concat([...lines.map((line) => pkt(`${line}\n`)), FLUSH])

type Answer = (req: IncomingMessage, res: ServerResponse) => void
let answer: Answer = (_req, res) => res.end()
/** Requests to the stub host whose connection closed before their answer ended. */
let cutOff = 0

let t: TestApp
let gh: FakeGithub
let host: Server
let project: number

interface Claimed { job_id: number; ticket_id: number; project_id: number; agent_token: string }

async function claimTicket(): Promise<Claimed> {
  const ticket = await t.api('POST', `/api/projects/${project}/tickets`, { title: 'Push answers' }, ADMIN)
  const started = await t.api('POST', `/api/projects/${project}/tickets/${ticket.body.id}/run`, undefined, ADMIN)
  if (started.status !== 201) throw new Error(`run: ${started.status} ${JSON.stringify(started.body)}`)
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project, coordinator_id: 'push-answers' }, WORKER)
  if (claim.status !== 200) throw new Error(`claim: ${claim.status} ${JSON.stringify(claim.body)}`)
  return claim.body
}

/** Pushes `oid` to the job's branch through the relay as git would (commands, then a stand-in pack); answers the status and body, or the error. */
function push(job: Claimed, oid: string, capabilities: string, options: { abortAfterFirstByte?: boolean } = {}) {
  const branch = `refs/heads/ticket-${job.ticket_id}`
  const body = Buffer.concat([pkt(`${ZERO} ${oid} ${branch}\0${capabilities}\n`), FLUSH, Buffer.from('PACK stand-in')])
  const url = new URL(`${t.url}/api/relay/git/${job.project_id}/${job.ticket_id}/repo.git/git-receive-pack`)
  return new Promise<{ status: number; body: Buffer } | { error: string }>((resolve) => {
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`job:${job.agent_token}`).toString('base64')}`,
        'content-type': 'application/x-git-receive-pack-request',
        'accept-encoding': 'gzip',
      },
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        if (options.abortAfterFirstByte) req.destroy()
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', (error) => resolve({ error: error.message }))
      res.on('close', () => resolve({ error: 'closed' }))
    })
    req.on('error', (error) => resolve({ error: error.message }))
    req.end(body)
  })
}

const recorded = async (job: Claimed) => (await t.app.ctx.sql`select oid from relay_pushes where job_id = ${job.job_id}`).map((row) => row.oid as string)
const oid = (n: number) => n.toString(16).padStart(40, 'e')

/** Reads the request to its end, then answers `status` and `chunks` as git's receive-pack result. */
const answering = (chunks: Buffer[], headers: Record<string, string> = {}): Answer => (req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result', ...headers })
    for (const chunk of chunks) res.write(chunk)
    res.end()
  })
}

test.before(async () => {
  host = createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) cutOff++
    })
    answer(req, res)
  })
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  const hostName = `127.0.0.1:${(host.address() as AddressInfo).port}`
  gh = await startGithub({ tokens: { [FORGE_TOKEN]: 'terarchitect-bot' } })
  t = await startTestApp({
    kind: 'pglite',
    env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY, TERARCHITECT_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_INSECURE_GIT_HOSTS: hostName },
  })
  const settings = await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: FORGE_TOKEN, GITHUB_API_URL: gh.url, WORKER_MODEL: 'm' } }, ADMIN)
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  const created = await t.api('POST', '/api/projects', { name: 'push-answers', repo_url: `http://${hostName}/acme/answers.git` }, ADMIN)
  assert.is(created.status, 201, JSON.stringify(created.body))
  project = created.body.id
})

test.after(async () => {
  await t?.close()
  await gh?.close()
  await new Promise((resolve) => host?.close(resolve))
})

test('an accepted report, plain or in side-band, records the commit (the control)', async () => {
  const job = await claimTicket()
  const branch = `refs/heads/ticket-${job.ticket_id}`
  answer = answering([report('unpack ok', `ok ${branch}`)])
  const plain = await push(job, oid(1), 'report-status')
  assert.ok('status' in plain && plain.status === 200, JSON.stringify(plain))
  answer = answering([band(2, Buffer.from('remote: working\n')), band(1, report('unpack ok', `ok ${branch}`)), FLUSH])
  const sideBand = await push(job, oid(2), 'report-status side-band-64k')
  assert.ok('status' in sideBand && sideBand.status === 200, JSON.stringify(sideBand))
  assert.equal((await recorded(job)).sort(), [oid(1), oid(2)])
})

test('gzipped, framed otherwise than asked, naming another ref, or cut off: the agent gets the answer, nothing is recorded', async () => {
  const job = await claimTicket()
  const branch = `refs/heads/ticket-${job.ticket_id}`
  const accepted = report('unpack ok', `ok ${branch}`)

  answer = answering([gzipSync(accepted)], { 'content-encoding': 'gzip' })
  const gzipped = await push(job, oid(3), 'report-status')
  assert.ok('status' in gzipped && gzipped.status === 200, JSON.stringify(gzipped))

  answer = answering([accepted])
  const unframed = await push(job, oid(4), 'report-status side-band-64k')
  assert.ok('status' in unframed && unframed.body.equals(accepted), 'the answer reaches the agent as the host sent it')

  answer = answering([report('unpack ok', 'ok refs/heads/main', `ok ${branch}`)])
  const foreign = await push(job, oid(5), 'report-status')
  assert.ok('status' in foreign && foreign.status === 200, JSON.stringify(foreign))

  answer = (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result' })
      res.write(Buffer.concat([pkt('unpack ok\n'), pkt(`ok ${branch}\n`)]))
      setTimeout(() => res.destroy(), 50)
    })
  }
  const cut = await push(job, oid(6), 'report-status')
  assert.ok('error' in cut || cut.status === 200, JSON.stringify(cut))

  assert.equal(await recorded(job), [], 'nothing recorded')
})

test('an agent that goes away mid-answer closes the request to the host; nothing is recorded', async () => {
  const job = await claimTicket()
  const before = cutOff
  let interval: ReturnType<typeof setInterval> | undefined
  answer = (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result' })
      // Progress without end (a stuck hook): only the agent leaving ends it.
      interval = setInterval(() => res.write(band(2, Buffer.from('remote: still working\n'))), 20)
      res.on('close', () => clearInterval(interval))
    })
  }
  const gone = await push(job, oid(7), 'report-status side-band-64k', { abortAfterFirstByte: true })
  assert.ok('error' in gone, JSON.stringify(gone))
  for (let i = 0; i < 100 && cutOff === before; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  clearInterval(interval)
  assert.is(cutOff, before + 1, 'the relay closed its request to the host')
  assert.equal(await recorded(job), [])
})

test.run()
