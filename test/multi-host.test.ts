// test-runner: alone
/**
 * Many hosts, one queue (issue 16), on network namespaces (test/multi-host-net.ts) as root:
 * - host `app`: PostgreSQL and app replica A (`dist/server.js`); host `app2`: replica B on the same
 *   database; host `forge`: the git server, fake GitHub and scripted fake LLM
 *   (test/multi-host-forge.ts); hosts `c1` and `c2`: one coordinator each (`dist/coordinator.js`,
 *   local executor, so its agents run on that host), c1 talking to replica A and c2 to replica B,
 *   both by address. The test itself and its browsers are the operator's machine.
 * - 30 tickets over two projects; mid-run c1's cable is cut and its coordinator killed (SIGKILL).
 *   Every ticket ends with exactly its change and exactly one pull request on the forge; no ticket
 *   ever has two running attempts (from the database) nor two live agents (sampled from /proc);
 *   c1's jobs are taken back after their lease and finished by c2. Prints the figures.
 * - The two replicas serve the same board live to two browsers: a move in one shows in the other.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import type { Browser } from 'playwright-core'
import { dirtyCheckout } from './checkout-fixtures.ts'
import { APP_ENV, sampleAgents } from './lost-coordinator-fixtures.ts'
import { ROOT, waitFor } from './helpers.ts'
import { createNetwork, cutLink, removeNetwork, type Host } from './multi-host-net.ts'
import { agentsOf, killAll, processes, startApp, startCoordinator, startForge, startPostgres, writeWorkerStandIn, type Forge, type HostProcess } from './multi-host-hosts.ts'
import { launchBrowser, openPage } from './ui/helpers.ts'

const TICKETS = 30
const AGENTS_PER_HOST = 5
const LLM_DELAY_MS = 5000
const suiteStarted = Date.now()
const scratch = mkdtempSync(join(tmpdir(), 'multi-host-'))
const secrets = { forge: `ghp_mh_${randomBytes(12).toString('hex')}`, worker: `twk_${randomBytes(12).toString('hex')}`, admin: `tadm_${randomBytes(12).toString('hex')}`, llm: `sk-mh-${randomBytes(12).toString('hex')}`, secretKey: randomBytes(24).toString('hex') }
const people = { authorization: `Bearer ${secrets.admin}`, 'content-type': 'application/json' }

let hosts: Record<string, Host>
let sql: ReturnType<typeof postgres>
let forge: Forge
let replicaA: string
let replicaB: string
const coordinators: Record<string, HostProcess> = {}
const projects: { id: number; repo: string }[] = []
let browser: Browser | undefined
let pgDir: string | undefined

async function api(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, { method, headers: people, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15_000) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

test.before(async () => {
  try {
    await setUp()
  } catch (error) {
    process.stderr.write(`  multi-host set-up failed: ${(error as Error).stack}\n`)
    throw error
  }
})

async function setUp() {
  if (!existsSync(join(ROOT, 'dist/server.js')) || !existsSync(join(ROOT, 'dist/coordinator.js'))) {
    assert.is(spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status, 0, 'npm run build')
  }
  ;({ hosts } = createNetwork(['app', 'app2', 'forge', 'c1', 'c2']))
  const db = await startPostgres(hosts.app!)
  pgDir = db.dir
  sql = postgres(db.url, { max: 2, onnotice: () => {} })
  forge = await startForge(hosts.forge!, secrets.forge, LLM_DELAY_MS, scratch)
  const appEnv = {
    ...APP_ENV,
    TERARCHITECT_SECRET_KEY: secrets.secretKey,
    TERARCHITECT_WORKER_API_KEY: secrets.worker,
    TERARCHITECT_ADMIN_TOKEN: secrets.admin,
    ALLOWED_HOSTS: `${hosts.app!.address},${hosts.app2!.address}`,
    ALLOW_INSECURE_GIT_HOSTS: new URL(forge.git).host,
  }
  ;({ url: replicaA } = await startApp(hosts.app!, 'app-a', 5010, { ...appEnv, DATABASE_URL: db.localUrl }))
  ;({ url: replicaB } = await startApp(hosts.app2!, 'app-b', 5010, { ...appEnv, DATABASE_URL: db.url }))
  const settings = await api(replicaA, 'PUT', '/api/settings', { values: {
    GITHUB_TOKEN: secrets.forge, GITHUB_API_URL: forge.github, WORKER_LLM_URL: forge.llm, WORKER_API_KEY: secrets.llm,
    WORKER_MODEL: 'fake-model', WORKER_MODE: 'aider', WORKER_TIMEOUT_SEC: 120,
  } })
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  for (const [repo, url] of Object.entries(forge.repos)) {
    const checkout = join(scratch, repo.replace('/', '-'))
    dirtyCheckout(join(forge.root, `${repo}.git`), checkout, url)
    const created = await api(replicaA, 'POST', '/api/projects', { name: repo.split('/')[1], repo_url: url, execution_mode: 'local', project_path: checkout })
    assert.is(created.status, 201, JSON.stringify(created.body))
    projects.push({ id: created.body.id, repo })
  }
}

test.after(async () => {
  await browser?.close().catch(() => {})
  await sql?.end({ timeout: 1 }).catch(() => {})
  await killAll()
  removeNetwork()
  rmSync(scratch, { recursive: true, force: true })
  if (pgDir) rmSync(pgDir, { recursive: true, force: true })
  process.stderr.write(`  multi-host suite: ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s in all\n`)
})

/** Every attempt's running interval, from the database: opened by its coordinator's start note, closed by the next `lease_expired` or the job's end. */
async function runningIntervals() {
  const events = await sql<{ job_id: number; ticket_id: number; step: string; summary: string; at: Date; finished_at: Date | null }[]>`
    select e.job_id, e.ticket_id, e.step, e.summary, e.created_at as at, j.finished_at
      from job_events e join agent_jobs j on j.id = e.job_id
     where e.step in ('coordinator', 'lease_expired') order by e.id`
  const intervals: { ticket: number; job: number; from: number; to: number }[] = []
  const open = new Map<number, { ticket: number; job: number; from: number }>()
  for (const e of events) {
    if (e.step === 'coordinator' && /^agent started/.test(e.summary)) {
      assert.not.ok(open.has(e.job_id), `job ${e.job_id} started again before its last attempt ended`)
      open.set(e.job_id, { ticket: e.ticket_id, job: e.job_id, from: e.at.getTime() })
    } else if (e.step === 'lease_expired' && open.has(e.job_id)) {
      intervals.push({ ...open.get(e.job_id)!, to: e.at.getTime() })
      open.delete(e.job_id)
    }
  }
  for (const [, o] of open) {
    const [job] = await sql<{ finished_at: Date }[]>`select finished_at from agent_jobs where id = ${o.job}`
    intervals.push({ ...o, to: job!.finished_at.getTime() })
  }
  return intervals
}

/**
 * What a failure shows: the ticket's events from its last start on (the failure first, whole), then
 * every job in one short line each.
 */
async function story(ticketId: number): Promise<string> {
  const jobs = await sql<{ id: number; ticket_id: number; status: string; attempt: number; claimed_by: string; error: string | null }[]>`
    select id, ticket_id, status, attempt, claimed_by, error from agent_jobs order by id`
  const events = await sql<{ step: string; summary: string; raw_output: string | null }[]>`
    select step, left(summary, 600) as summary, raw_output from job_events where ticket_id = ${ticketId} order by id`
  const lastStart = events.map((e) => e.step).lastIndexOf('start')
  const line = (e: (typeof events)[number]) => `${e.step}: ${e.summary}${e.raw_output ? `\n    ${e.raw_output.slice(-1200).replace(/\n/g, '\n    ')}` : ''}`
  return [
    `ticket ${ticketId}, its last attempt:`, ...events.slice(Math.max(lastStart, 0)).map(line),
    `its earlier events: ${events.slice(0, Math.max(lastStart, 0)).map((e) => e.step).join(', ')}`,
    `jobs: ${jobs.map((j) => `#${j.id} t${j.ticket_id} ${j.status} a${j.attempt} ${j.claimed_by}${j.error ? ` (${j.error})` : ''}`).join('; ')}`,
  ].join('\n')
}

test(`${TICKETS} tickets over two projects; c1's cable cut and its coordinator killed mid-run: each ticket one PR, never two attempts at once, c1's jobs finished by c2`, async () => {
  const standIn = writeWorkerStandIn(join(scratch, 'bin'))
  const coordinatorEnv = (replica: string) => ({
    TERARCHITECT_API_URL: replica, TERARCHITECT_WORKER_API_KEY: secrets.worker, MAX_CONCURRENT_AGENTS: String(AGENTS_PER_HOST),
    CLAIM_WAIT_SEC: '5', HEARTBEAT_MAX_SEC: '1', COORDINATOR_REPORT_SEC: '2', PATH: `${standIn}:${process.env.PATH}`,
  })
  coordinators.c1 = startCoordinator(hosts.c1!, 'c1', coordinatorEnv(replicaA))
  coordinators.c2 = startCoordinator(hosts.c2!, 'c2', coordinatorEnv(replicaB))
  await Promise.all(Object.values(coordinators).map((c) => c.waitForLine(/coordinator started/)))
  const liveAgents = () => agentsOf([replicaA, replicaB], Object.values(hosts))
  const sampler = sampleAgents(liveAgents)
  const started = Date.now()
  const tickets: { id: number; project: (typeof projects)[number] }[] = []
  for (let i = 0; i < TICKETS; i++) {
    const project = projects[i % projects.length]!
    const created = await api(replicaA, 'POST', `/api/projects/${project.id}/tickets`, { title: `Change ${i + 1}`, description: 'Write the ticket\'s file.' })
    assert.is(created.status, 201, JSON.stringify(created.body))
    tickets.push({ id: created.body.id, project })
  }
  for (const t of tickets) {
    const run = await api(replicaA, 'POST', `/api/projects/${t.project.id}/tickets/${t.id}/run`)
    assert.is(run.status, 201, JSON.stringify(run.body))
  }

  // The cut: once c1 has several agents waiting on the model.
  const asked = async () => new Set((await (await fetch(`${forge.control}/asked`)).json()) as number[])
  const victims = await waitFor(async () => {
    const mid = await asked()
    const onC1 = liveAgents().filter((agent) => agent.host === 'c1' && mid.has(agent.ticketId))
    return onC1.length >= 3 ? onC1 : null
  }, 90_000, 'c1 to have three agents mid-turn').catch(async (error) => {
    throw new Error(`${error.message}; ${await story(tickets[0]!.id)}\nc1:\n${coordinators.c1!.lines.slice(-15).join('\n')}`)
  })
  cutLink(hosts.c1!)
  coordinators.c1.child.kill('SIGKILL')
  const cutAt = Date.now()
  await coordinators.c1.exited
  const orphans = liveAgents().filter((agent) => agent.host === 'c1')
  assert.ok(orphans.length >= 3, `c1's agents live on after its coordinator died: ${JSON.stringify(orphans)}`)
  const lost = await sql<{ id: number; ticket_id: number }[]>`select id, ticket_id from agent_jobs where status = 'running' and claimed_by = 'c1'`
  assert.ok(lost.length >= 3, `c1 held jobs at the cut: ${JSON.stringify(lost)}`)

  // c1's agents stop themselves for their lease, c2 finishes everything.
  await waitFor(async () => liveAgents().every((agent) => agent.host !== 'c1') || null, 60_000, 'c1\'s agents to stop themselves')
  const orphansGoneAt = Date.now()
  const handedBackAfter = (Number(APP_ENV.JOB_LEASE_SEC) + Number(APP_ENV.JOB_LEASE_GRACE_SEC)) * 1000
  assert.ok(orphansGoneAt - cutAt < handedBackAfter, `c1's agents were gone ${orphansGoneAt - cutAt} ms after the cut: before their jobs could be handed back`)
  const ended = await waitFor(async () => {
    const rows = await sql<{ id: number; ticket_id: number; status: string; attempt: number; claimed_by: string; started_at: Date; error: string | null }[]>`
      select id, ticket_id, status, attempt, claimed_by, started_at, error from agent_jobs where kind = 'ticket' order by id`
    return rows.length === TICKETS && rows.every((row) => ['succeeded', 'failed', 'cancelled'].includes(row.status)) ? rows : null
  }, 240_000, 'every job to end')
  const total = (Date.now() - started) / 1000
  sampler.stop()

  for (const job of ended) if (job.status !== 'succeeded') assert.unreachable(`ticket ${job.ticket_id}: ${job.status} ${job.error}\n${await story(job.ticket_id)}`)
  for (const t of tickets) {
    const bare = join(forge.root, `${t.project.repo}.git`)
    const diff = spawnSync('git', ['--git-dir', bare, 'diff', '--name-only', 'main', `ticket-${t.id}`], { encoding: 'utf8' }).stdout
    assert.equal(diff.split('\n').filter(Boolean), [`ticket-${t.id}.txt`], `ticket-${t.id} holds exactly its change`)
  }
  for (const project of projects) {
    const res = await fetch(`${forge.github}/repos/${project.repo}/pulls?state=all&per_page=100`, { headers: { authorization: `Bearer ${secrets.forge}` } })
    const pulls = (await res.json()) as { head: { ref: string } }[]
    for (const t of tickets.filter((ticket) => ticket.project === project)) {
      assert.is(pulls.filter((pull) => pull.head.ref === `ticket-${t.id}`).length, 1, `exactly one PR for ticket ${t.id} on the forge`)
    }
    assert.is(pulls.length, TICKETS / projects.length, `${project.repo}: one PR per ticket, no other`)
  }

  const intervals = await runningIntervals()
  assert.ok(intervals.length >= TICKETS + lost.length, `${intervals.length} running intervals for ${TICKETS} jobs and ${lost.length} lost attempts`)
  for (const t of tickets) {
    const mine = intervals.filter((i) => i.ticket === t.id).sort((a, b) => a.from - b.from)
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.from >= mine[i - 1]!.to, `ticket ${t.id}: attempts overlap ${JSON.stringify(mine)}`)
  }
  assert.ok(sampler.samples() > 20, `${sampler.samples()} samples`)
  assert.equal(sampler.overlaps, [], 'two live agents for one ticket')

  const recovered = ended.filter((job) => lost.some((l) => l.id === job.id))
  for (const job of recovered) {
    assert.is(job.claimed_by, 'c2', `c1's job ${job.id} finished on c2`)
    assert.ok(job.attempt >= 2, `c1's job ${job.id} ran again: attempt ${job.attempt}`)
    assert.ok(job.started_at.getTime() >= orphansGoneAt - 1000, `job ${job.id} started again only after c1's agents were gone`)
  }
  const [expired] = await sql<{ n: number }[]>`select count(distinct job_id)::int as n from job_events where step = 'lease_expired' and job_id = any(${lost.map((l) => l.id)})`
  assert.is(expired!.n, lost.length, 'each of c1\'s jobs was taken back after its lease')

  // Secrets went to processes in their environment only: none in any log or job event.
  const logged = processes.flatMap((p) => p.lines).join('\n') + JSON.stringify(await sql`select summary, raw_output, event from job_events`)
  for (const [name, value] of Object.entries(secrets)) assert.not.ok(logged.includes(value), `the ${name} secret is in a log or a job event`)

  coordinators.c2.child.kill('SIGTERM')
  assert.is(await coordinators.c2.exited, 0, coordinators.c2.lines.slice(-20).join('\n'))
  const count = (c: HostProcess, pattern: RegExp) => c.lines.filter((line) => pattern.test(line)).length
  const perCoordinator = Object.entries(coordinators).map(([id, c]) => `${id} ${count(c, /"msg":"job claimed"/)} claimed, ${count(c, /"msg":"job reported".*"outcome":"complete"/)} completed`)
  const lastRecoveredStart = Math.max(...recovered.map((job) => job.started_at.getTime()))
  process.stderr.write([
    `  multi-host figures: ${TICKETS} tickets, 2 projects, ${AGENTS_PER_HOST} agents per coordinator, model answers in ${LLM_DELAY_MS / 1000} s, lease ${APP_ENV.JOB_LEASE_SEC} s + grace ${APP_ENV.JOB_LEASE_GRACE_SEC} s`,
    `    cut with ${victims.length} agents of c1 mid-turn and ${lost.length} jobs held by c1`,
    `    cut -> c1's agents stopped themselves: ${((orphansGoneAt - cutAt) / 1000).toFixed(1)} s`,
    `    cut -> last recovered job started on c2: ${((lastRecoveredStart - cutAt) / 1000).toFixed(1)} s`,
    `    total (first run request -> last job ended): ${total.toFixed(1)} s`,
    `    jobs per coordinator: ${perCoordinator.join('; ')}`,
  ].join('\n') + '\n')
})

test('two app replicas on one database serve the same board live to two browsers', async () => {
  const project = projects[0]!
  const setup = await fetch(`${replicaA}/api/auth/setup`, { method: 'POST', headers: people, body: JSON.stringify({ login: 'operator', password: `pw-${randomBytes(12).toString('hex')}` }) })
  assert.is(setup.status, 201, await setup.text())
  const session = /^([^=]+)=([^;]+)/.exec(setup.headers.get('set-cookie') ?? '')
  assert.ok(session, 'the setup signed the operator in')
  const ticket = await api(replicaA, 'POST', `/api/projects/${project.id}/tickets`, { title: 'Moved live across replicas' })
  assert.is(ticket.status, 201)

  browser = await launchBrowser()
  const board = async (replica: string) => {
    const opened = await openPage(browser!, 'about:blank')
    await opened.context.addCookies([{ name: session![1]!, value: session![2]!, url: replica }])
    await opened.page.goto(`${replica}/projects/${project.id}`)
    await opened.page.locator(`ta-board-column[data-column="backlog"] .card[data-id="${ticket.body.id}"]`).waitFor({ timeout: 15_000 })
    return opened
  }
  const onA = await board(replicaA)
  const onB = await board(replicaB)
  const movedAt = Date.now()
  await onA.page.locator(`.card[data-id="${ticket.body.id}"]`).dragTo(onA.page.locator('ta-board-column[data-column="done"] .list'))
  await onB.page.locator(`ta-board-column[data-column="done"] .card[data-id="${ticket.body.id}"]`).waitFor({ timeout: 10_000 })
  const seenAfter = Date.now() - movedAt
  const stored = await api(replicaB, 'GET', `/api/projects/${project.id}/tickets/${ticket.body.id}`)
  assert.is(stored.body.column_id, 'done')
  assert.equal([...onA.problems, ...onB.problems], [])
  process.stderr.write(`  multi-host figures: a move on replica A shown by replica B's board in ${seenAfter} ms (drag included)\n`)
})

test.run()
