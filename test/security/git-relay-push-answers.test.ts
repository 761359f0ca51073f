/**
 * What the git relay records of a push (relay_pushes, which the CI follower trusts) when the git
 * host's answer is not a plain accepted report: only a report the relay can read that says `ok`
 * for the job's branch records the commit. A gzipped answer, a report framed otherwise than the
 * push asked (plain for a side-band push), a status for a ref the push did not name, an answer cut
 * off mid-way record nothing; each answer still reaches the agent and its request ends (no push
 * left hanging), and an agent that goes away mid-answer closes the relay's request to the host. A
 * database that does not answer holds the end of an accepted push's answer RECORD_WAIT_MS at most.
 * The git host here is a stub answering each push as the test says, so the answers are exact.
 *   node --import ./scripts/ts-register.mjs test/security/git-relay-push-answers.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { gzipSync } from 'node:zlib'
import { RECORD_WAIT_MS } from '../../core/services/git-relay.ts'
import { FLUSH, pkt, receivePack, startRelayStub, type Answer, type Claimed, type RelayStub } from './git-relay-stub.ts'

const ZERO = '0'.repeat(40)
const band = (n: number, data: Buffer) => pkt(Buffer.concat([Buffer.from([n]), data]))
const report = (...lines: string[]) => Buffer.concat([...lines.map((line) => pkt(`${line}\n`)), FLUSH])

let stub: RelayStub

/** Pushes `oid` to the job's branch through the relay as git would (commands, then a stand-in pack); answers the status and body, or the error. */
function push(job: Claimed, oid: string, capabilities: string, options: { abortAfterFirstByte?: boolean } = {}) {
  const branch = `refs/heads/ticket-${job.ticket_id}`
  const body = Buffer.concat([pkt(`${ZERO} ${oid} ${branch}\0${capabilities}\n`), FLUSH, Buffer.from('PACK stand-in')])
  const { url, authorization } = receivePack(stub.t, job)
  return new Promise<{ status: number; body: Buffer } | { error: string }>((resolve) => {
    const req = request(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-git-receive-pack-request', 'accept-encoding': 'gzip' },
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

const recorded = async (job: Claimed) => (await stub.t.app.ctx.sql`select oid from relay_pushes where job_id = ${job.job_id}`).map((row) => row.oid as string)
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
  stub = await startRelayStub()
})
test.after(async () => stub?.close())

test('an accepted report, plain or in side-band, records the commit (the control)', async () => {
  const job = await stub.claimTicket()
  const branch = `refs/heads/ticket-${job.ticket_id}`
  stub.setAnswer(answering([report('unpack ok', `ok ${branch}`)]))
  const plain = await push(job, oid(1), 'report-status')
  assert.ok('status' in plain && plain.status === 200, JSON.stringify(plain))
  stub.setAnswer(answering([band(2, Buffer.from('remote: working\n')), band(1, report('unpack ok', `ok ${branch}`)), FLUSH]))
  const sideBand = await push(job, oid(2), 'report-status side-band-64k')
  assert.ok('status' in sideBand && sideBand.status === 200, JSON.stringify(sideBand))
  assert.equal((await recorded(job)).sort(), [oid(1), oid(2)])
})

test('gzipped, framed otherwise than asked, naming another ref, or cut off: the agent gets the answer, nothing is recorded', async () => {
  const job = await stub.claimTicket()
  const branch = `refs/heads/ticket-${job.ticket_id}`
  const accepted = report('unpack ok', `ok ${branch}`)

  stub.setAnswer(answering([gzipSync(accepted)], { 'content-encoding': 'gzip' }))
  const gzipped = await push(job, oid(3), 'report-status')
  assert.ok('status' in gzipped && gzipped.status === 200, JSON.stringify(gzipped))

  stub.setAnswer(answering([accepted]))
  const unframed = await push(job, oid(4), 'report-status side-band-64k')
  assert.ok('status' in unframed && unframed.body.equals(accepted), 'the answer reaches the agent as the host sent it')

  stub.setAnswer(answering([report('unpack ok', 'ok refs/heads/main', `ok ${branch}`)]))
  const foreign = await push(job, oid(5), 'report-status')
  assert.ok('status' in foreign && foreign.status === 200, JSON.stringify(foreign))

  stub.setAnswer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result' })
      res.write(Buffer.concat([pkt('unpack ok\n'), pkt(`ok ${branch}\n`)]))
      setTimeout(() => res.destroy(), 50)
    })
  })
  const cut = await push(job, oid(6), 'report-status')
  assert.ok('error' in cut || cut.status === 200, JSON.stringify(cut))

  assert.equal(await recorded(job), [], 'nothing recorded')
})

test('an agent that goes away mid-answer closes the request to the host; nothing is recorded', async () => {
  const job = await stub.claimTicket()
  const before = stub.cutOff()
  let interval: ReturnType<typeof setInterval> | undefined
  stub.setAnswer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result' })
      // Progress without end (a stuck hook): only the agent leaving ends it.
      interval = setInterval(() => res.write(band(2, Buffer.from('remote: still working\n'))), 20)
      res.on('close', () => clearInterval(interval))
    })
  })
  const gone = await push(job, oid(7), 'report-status side-band-64k', { abortAfterFirstByte: true })
  assert.ok('error' in gone, JSON.stringify(gone))
  for (let i = 0; i < 100 && stub.cutOff() === before; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  clearInterval(interval)
  assert.is(stub.cutOff(), before + 1, 'the relay closed its request to the host')
  assert.equal(await recorded(job), [])
})

test('a database that does not answer holds a push\'s answer RECORD_WAIT_MS at most; the record lands once it answers', async () => {
  const job = await stub.claimTicket()
  const branch = `refs/heads/ticket-${job.ticket_id}`
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  // Without the bound the answer would wait for the release: let go late, so that fails, not hangs.
  const guard = setTimeout(() => release(), RECORD_WAIT_MS + 6_000)
  let holding: Promise<unknown> | undefined
  stub.setAnswer((req, res) => {
    req.resume()
    req.on('end', () => {
      // The database is taken before the host answers: on the embedded database's one connection
      // (this app's), the relay's record waits behind it.
      holding = stub.t.app.ctx.sql.begin(async (tx) => {
        await tx`select 1`
        await held
      })
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result' })
        res.end(report('unpack ok', `ok ${branch}`))
      }, 100)
    })
  })
  const started = Date.now()
  const answered = await push(job, oid(8), 'report-status')
  const took = Date.now() - started
  assert.ok('status' in answered && answered.status === 200, JSON.stringify(answered))
  assert.ok(took >= RECORD_WAIT_MS - 500 && took < RECORD_WAIT_MS + 3_500, `the answer ended after ${took} ms, the wait being ${RECORD_WAIT_MS} ms`)
  clearTimeout(guard)
  release()
  await holding
  let oids: string[] = []
  for (let i = 0; i < 100 && oids.length === 0; i++) {
    oids = await recorded(job)
    if (!oids.length) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.equal(oids, [oid(8)], 'the record written once the database answered')
})

test.run()
