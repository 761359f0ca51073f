/**
 * An agent controls the bytes of its push, and how they are cut: HTTP chunked encoding lets it send
 * the command section a byte per chunk, each one a 'data' event in the app. The relay reads that
 * section (up to 1 MiB) before it forwards anything; were it to join and parse everything read so
 * far at each event, a few hundred KiB would hold the app's one event loop for minutes (every
 * request of every user waiting). Here 256 KiB of `shallow` lines and the job's own command come a
 * byte per chunk: the push is relayed and the app keeps answering meanwhile.
 *   node --import ./scripts/ts-register.mjs test/security/git-relay-trickled-commands.test.ts
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { FLUSH, pkt, receivePack, startRelayStub, type RelayStub } from './git-relay-stub.ts'

let stub: RelayStub

test.before(async () => {
  stub = await startRelayStub()
})
test.after(async () => stub?.close())

test('a push whose commands come a byte per chunk is relayed, and the app answers meanwhile', async () => {
  const job = await stub.claimTicket()
  const branch = `refs/heads/ticket-${job.ticket_id}`
  let relayed = 0
  stub.setAnswer((req, res) => {
    req.resume()
    req.on('end', () => {
      relayed++
      res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result' })
      res.end(Buffer.concat([pkt('unpack ok\n'), pkt(`ok ${branch}\n`), FLUSH]))
    })
  })
  const shallow = pkt(`shallow ${'5'.repeat(40)}\n`)
  const body = Buffer.concat([
    ...Array.from({ length: Math.ceil(256 * 1024 / shallow.length) }, () => shallow),
    pkt(`${'0'.repeat(40)} ${'6'.repeat(40)} ${branch}\0report-status\n`), FLUSH, Buffer.from('PACK stand-in'),
  ])
  const { url, authorization } = receivePack(stub.t, job)
  const chunked: string[] = []
  for (const byte of body.toString('latin1')) chunked.push(`1\r\n${byte}\r\n`)
  const socket = connect(Number(url.port), url.hostname)
  const answer = new Promise<string>((resolve, reject) => {
    let text = ''
    socket.on('data', (chunk) => (text += chunk.toString('latin1')))
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
  })
  socket.write(`POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${authorization}\r\n` +
    'Content-Type: application/x-git-receive-pack-request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n')
  socket.write(`${chunked.join('')}0\r\n\r\n`, 'latin1')

  // The app answers other requests while it reads the push (a generous ceiling: 5 s each).
  let done = false
  answer.then(() => (done = true), () => (done = true))
  let probes = 0
  while (!done) {
    const started = Date.now()
    const live = await Promise.race([
      fetch(`${stub.t.url}/api/health/live`).then((res) => res.status),
      new Promise<string>((resolve) => setTimeout(() => resolve('no answer in 5 s'), 5000)),
    ])
    assert.is(live, 200, `the app stopped answering while it read a trickled push (probe ${probes}, ${Date.now() - started} ms)`)
    probes++
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const text = await answer
  assert.match(text, /^HTTP\/1\.1 200 /, text.slice(0, 200))
  assert.match(text, `ok ${branch}`)
  assert.is(relayed, 1, 'the push reached the git host')
  socket.destroy()
})

test.run()
