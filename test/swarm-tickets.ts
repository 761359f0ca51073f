/**
 * Tickets through the docker-swarm executor, with one node killed mid-job: a small queue (retry on a
 * lost or unstartable run, as the coordinator's queue does) and a ledger the jobs report to over
 * HTTP: heartbeats while they work (two live attempts of one ticket = an overlap) and their pull
 * request at the end, created once per ticket as the agent does (it reuses the branch's open PR).
 * The jobs are a scripted stand-in for the agent (docs/scaling.md says why), run in the real swarm.
 */
import { createServer } from 'node:http'
import type { Executor } from '../core/executor.ts'
import { makeSpec } from './executor-conformance.ts'
import { sleep } from './helpers.ts'
import type { TestSwarm } from './swarm-fixtures.ts'

/** The job: ~5 s of work with a heartbeat every 250 ms, then its ticket's pull request. */
export const TICKET_SCRIPT = `
const { LEDGER, TICKET, ATTEMPT } = process.env
const post = (path) => fetch(LEDGER + path, { method: 'POST', body: JSON.stringify({ ticket: TICKET, attempt: ATTEMPT }) }).then((r) => r.json())
;(async () => {
  console.log('working on ticket ' + TICKET)
  for (let beat = 0; beat < 20; beat++) { await post('/beat'); await new Promise((r) => setTimeout(r, 250)) }
  const { pr } = await post('/pr')
  console.log('pull request ' + pr)
})().catch((error) => { console.error(String(error)); process.exitCode = 1 })
`

/** Heartbeats younger than this mark an attempt as live. */
const LIVE_MS = 1000

export async function runTickets(swarm: TestSwarm, makeExecutor: (command: string[]) => Executor, count: number, concurrency = 6) {
  const started = Date.now()
  const beats = new Map<string, Map<string, number>>()
  const prs = new Map<string, number>()
  let nextPr = 1
  const overlaps: string[] = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => { body += chunk })
    request.on('end', () => {
      const { ticket, attempt } = JSON.parse(body) as { ticket: string; attempt: string }
      const now = Date.now()
      const attempts = beats.get(ticket) ?? new Map<string, number>()
      beats.set(ticket, attempts)
      for (const [other, at] of attempts) {
        if (other !== attempt && now - at < LIVE_MS) overlaps.push(`ticket ${ticket}: attempts ${other} and ${attempt}`)
      }
      attempts.set(attempt, now)
      if (request.url === '/pr' && !prs.has(ticket)) prs.set(ticket, nextPr++)
      response.end(JSON.stringify({ pr: prs.get(ticket) ?? null }))
    })
  })
  await new Promise<void>((done) => server.listen(0, swarm.gateway, done))
  const ledger = `http://${swarm.gateway}:${(server.address() as { port: number }).port}`
  const executor = makeExecutor(['node', '-e', TICKET_SCRIPT])

  // Watches where the jobs run, and kills the first worker once a job of it is working.
  const victim = swarm.workers[0]!
  const nodesUsed = new Set<string>()
  let killedAt = 0
  let watching = true
  const watcher = (async () => {
    while (watching) {
      const mine = new Set((await swarm.api.serviceList(['terarchitect.swarm_run']).catch(() => [])).map((service) => service.ID))
      const running = (await swarm.api.taskList({}).catch(() => [])).filter((task) => mine.has(task.ServiceID) && task.Status.State === 'running')
      for (const task of running) nodesUsed.add(task.NodeID!)
      if (!killedAt && running.some((task) => task.NodeID === victim.nodeId) && beats.size >= 2) {
        killedAt = Date.now()
        await swarm.stopWorker(victim.hostname)
      }
      await sleep(250)
    }
  })()

  const queue = Array.from({ length: count }, (_, index) => ({ ticket: String(index + 1), attempt: 0 }))
  let lostRuns = 0
  let recoveredAt = 0
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      item.attempt++
      const spec = makeSpec({ ticketId: Number(item.ticket), env: { LEDGER: ledger, TICKET: item.ticket, ATTEMPT: String(item.attempt) } })
      const result = await executor.run(spec, () => {}, new AbortController().signal).catch(() => ({ exitCode: -2 }))
      if (result.exitCode === 0) {
        if (killedAt && item.attempt > 1) recoveredAt = Math.max(recoveredAt, Date.now())
        continue
      }
      if (result.exitCode === -1) lostRuns++
      if (item.attempt >= 4) throw new Error(`ticket ${item.ticket} failed ${item.attempt} times (last exit ${result.exitCode})`)
      queue.push(item)
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    watching = false
    await watcher
    await executor.close?.()
    server.close()
  }
  return {
    prsPerTicket: Array.from({ length: count }, (_, index) => (prs.has(String(index + 1)) ? 1 : 0)),
    overlaps,
    lostRuns,
    nodesUsed: nodesUsed.size,
    figures: {
      tickets: count, totalSec: (Date.now() - started) / 1000, lostRuns,
      killedAfterSec: killedAt ? (killedAt - started) / 1000 : null,
      lastRetryDoneSec: recoveredAt ? (recoveredAt - started) / 1000 : null,
    },
  }
}
