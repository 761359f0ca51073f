// Acceptance (issue 9, 1): the app started like `npm start` (scripts/start.mjs: the built app and a
// coordinator, embedded database in a temp dir, no Docker so the coordinator would run agents on
// the host) and a page served from ANOTHER local origin that runs the CSRF sequence in Chromium:
// no-cors fetches with Blob and text bodies, a CORS JSON fetch, `navigator.sendBeacon`, and
// `<form enctype=text/plain>` posts, trying to create a project with a setup_command, a ticket
// straight into In Progress, and a run. Nothing is created, no job exists, and the coordinator
// runs nothing (its host command would leave a marker file). Then a same-origin UI action works.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { ROOT, sleep, waitFor } from '../helpers.ts'
import { assertNoCspViolations, launchBrowser, openPage } from '../ui/helpers.ts'
import { ensureAppBuilt } from './boundary-helpers.ts'

let dir: string
let start: ChildProcess
let output = ''
let app: string
let attacker: Server
let attackerUrl: string
let browser: Browser
let project: { id: number }
let ticket: { id: number }

const marker = (name: string) => join(dir, name)

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(app + path, { method, headers: method === 'GET' ? {} : { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

/** The attacker's page: every request a cross-site page can send without a CORS grant. */
function attackerPage(): string {
  const createProject = JSON.stringify({ name: 'pwned', repo_url: 'https://git.example/pwned.git', setup_command: `touch ${marker('setup-ran')}` })
  const createTicket = JSON.stringify({ title: 'pwned', column_id: 'in_progress' })
  const moveTicket = JSON.stringify({ column_id: 'in_progress' })
  const projects = `${app}/api/projects`
  const tickets = `${app}/api/projects/${project.id}/tickets`
  const theTicket = `${tickets}/${ticket.id}`
  // A text/plain form posts `name=value`: the name carries the JSON, the value closes it.
  const form = (id: string, action: string, json: string) => {
    const head = json.slice(0, -1) + ',"x":"'
    return `<form id="${id}" method="POST" enctype="text/plain" action="${action}" target="sink-${id}"><input name='${head}' value='"}'></form><iframe name="sink-${id}"></iframe>`
  }
  return `<!doctype html><html><body>
${form('form-project', projects, createProject)}
${form('form-ticket', tickets, createTicket)}
${form('form-run', `${theTicket}/run`, '{}')}
<script>
(async () => {
  const results = []
  const attempt = async (name, send) => {
    try { const answer = await send(); results.push(name + ': ' + (answer && answer.type !== undefined ? answer.type + ' ' + answer.status : String(answer))) }
    catch (error) { results.push(name + ': ' + error.name) }
  }
  const project = ${JSON.stringify(createProject)}, ticket = ${JSON.stringify(createTicket)}, move = ${JSON.stringify(moveTicket)}
  await attempt('no-cors blob project', () => fetch('${projects}', { mode: 'no-cors', method: 'POST', body: new Blob([project]) }))
  await attempt('no-cors text project', () => fetch('${projects}', { mode: 'no-cors', method: 'POST', body: project }))
  await attempt('no-cors blob ticket', () => fetch('${tickets}', { mode: 'no-cors', method: 'POST', body: new Blob([ticket]) }))
  await attempt('no-cors blob run', () => fetch('${theTicket}/run', { mode: 'no-cors', method: 'POST', body: new Blob(['{}']) }))
  await attempt('no-cors bodyless run', () => fetch('${theTicket}/run', { mode: 'no-cors', method: 'POST' }))
  await attempt('no-cors form-encoded ticket', () => fetch('${tickets}', { mode: 'no-cors', method: 'POST', body: new URLSearchParams({ [ticket]: '' }) }))
  await attempt('cors JSON project', () => fetch('${projects}', { method: 'POST', headers: { 'content-type': 'application/json' }, body: project }))
  await attempt('cors JSON move', () => fetch('${theTicket}', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: move }))
  await attempt('cors read settings', () => fetch('${app}/api/settings').then((r) => r.text()))
  await attempt('beacon blob project', () => navigator.sendBeacon('${projects}', new Blob([project])))
  await attempt('beacon text project', () => navigator.sendBeacon('${projects}', project))
  await attempt('beacon text ticket', () => navigator.sendBeacon('${tickets}', ticket))
  await attempt('beacon run', () => navigator.sendBeacon('${theTicket}/run', '{}'))
  for (const id of ['form-project', 'form-ticket', 'form-run']) {
    const sink = document.querySelector('iframe[name="sink-' + id + '"]')
    const loaded = new Promise((resolve) => { sink.onload = resolve; setTimeout(resolve, 3000) })
    document.getElementById(id).submit()
    await loaded
    results.push(id + ': submitted')
  }
  window.results = results
})()
</script></body></html>`
}

test.before(async () => {
  ensureAppBuilt()
  dir = mkdtempSync(join(tmpdir(), 'terarchitect-csrf-'))
  start = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, HOME: dir, PORT: '0', TERARCHITECT_DATA_DIR: join(dir, 'data'), COORDINATOR_STATE_DIR: join(dir, 'state'),
      // No Docker: the coordinator would fall back to running agents on the host, which leaves a marker.
      DOCKER_HOST: `unix://${dir}/no-docker.sock`, LOG_LEVEL: 'info', POLL_INTERVAL_SEC: '1',
      AGENT_HOST_COMMAND: JSON.stringify([process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker('agent-ran'))}, 'ran')`]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  start.stdout!.on('data', (chunk) => (output += chunk))
  start.stderr!.on('data', (chunk) => (output += chunk))
  await waitFor(async () => /Docker is unavailable/.test(output), 60000, `the coordinator's start in:\n${output}`)
  app = /Terarchitect app on (\S+)/.exec(output)![1]!
  project = (await api('POST', '/api/projects', { name: 'Shop', repo_url: 'https://git.example/shop.git' })).body
  ticket = (await api('POST', `/api/projects/${project.id}/tickets`, { title: 'Already here' })).body
  assert.ok(project.id && ticket.id, output)
  attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(attackerPage()))
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve))
  attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`
  browser = await launchBrowser()
})

test.after(async () => {
  await browser?.close()
  attacker?.close()
  if (start?.pid) {
    start.kill('SIGTERM')
    const exited = await Promise.race([new Promise((resolve) => start.once('exit', resolve)), sleep(15000).then(() => false)])
    if (exited === false) process.kill(-start.pid, 'SIGKILL')
  }
  rmSync(dir, { recursive: true, force: true })
})

test.after.each(assertNoCspViolations)

test('a page from another local origin creates nothing: no project, no ticket, no job, nothing run', async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(attackerUrl)
  const results = await page.waitForFunction(() => (window as unknown as { results?: string[] }).results, undefined, { timeout: 30000 }).then((handle) => handle.jsonValue() as Promise<string[]>)
  assert.is(results.length, 16, results.join('\n'))
  // The CORS attempts fail in the browser (no preflight grant, no readable answer).
  for (const line of results.filter((text) => text.startsWith('cors'))) assert.match(line, /TypeError$/, line)
  await sleep(3000) // beacons are sent after the page asked; the coordinator polls every second
  const projects = (await api('GET', '/api/projects')).body as { id: number; name: string; setup_command: string | null }[]
  assert.equal(projects.map((p) => p.name), ['Shop'], 'no project was created')
  const tickets = (await api('GET', `/api/projects/${project.id}/tickets`)).body as { id: number; column_id: string }[]
  assert.equal(tickets.map((t) => [t.id, t.column_id]), [[ticket.id, 'backlog']], 'no ticket created or moved')
  assert.equal((await api('GET', '/api/jobs')).body, [], 'no job exists')
  assert.not.ok(existsSync(marker('agent-ran')), 'the coordinator ran no agent')
  assert.not.ok(existsSync(marker('setup-ran')), 'no setup command ran')
  await context.close()
})

test('the same action from the app\'s own page works', async () => {
  const { page, problems } = await openPage(browser, `${app}/projects/${project.id}`)
  await page.locator('ta-board-column[data-column="backlog"]').waitFor()
  await page.getByRole('button', { name: /New ticket/ }).first().click()
  const dialog = page.locator('ta-ticket-create')
  await dialog.getByLabel('Title').fill('Made in the UI')
  await dialog.getByRole('button', { name: /Create/ }).click()
  await waitFor(async () => ((await api('GET', `/api/projects/${project.id}/tickets`)).body as { title: string }[]).some((t) => t.title === 'Made in the UI'), 10000, 'the ticket the UI created')
  assert.equal(problems, [])
  await page.context().close()
})

test.run()
