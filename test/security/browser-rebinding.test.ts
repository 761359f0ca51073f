// Acceptance (issue 9, 2): DNS rebinding in Chromium. The browser resolves attacker.test to
// 127.0.0.1 (--host-resolver-rules), so a page of http://attacker.test:<app port>/ is, to the
// browser, same-origin with the app's port on this machine, which is what a rebound name gets. The
// page can neither read /api/settings nor write anything: every people request names Host
// attacker.test and gets 421, and so does the UI itself. Machine routes still answer a foreign
// Host: agents reach the app as host.docker.internal:<port> with their token.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Browser } from 'playwright-core'
import { assertNoCspViolations, createProject, launchBrowser, startUiApp, type UiApp } from '../ui/helpers.ts'
import { raw } from './boundary-helpers.ts'

const WORKER_KEY = 'rebinding-worker-key-0123'
let ui: UiApp
let browser: Browser
let port: number
let attackerOrigin: string

test.before(async () => {
  ui = await startUiApp({ TERARCHITECT_WORKER_API_KEY: WORKER_KEY })
  port = Number(new URL(ui.url).port)
  attackerOrigin = `http://attacker.test:${port}`
  // Chromium's own guard (Private/Local Network Access) would stop this page's requests before they
  // reach the app; other browsers have none, so it is turned off: the app must refuse on its own.
  browser = await launchBrowser(['--host-resolver-rules=MAP attacker.test 127.0.0.1',
    '--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,LocalNetworkAccessChecks'])
})

test.after(async () => {
  await browser?.close()
  await ui?.close()
})

test.after.each(assertNoCspViolations)

test('the app answers the rebound name with 421, UI and API alike', async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  for (const path of ['/', '/projects', '/app.js', '/api/settings', '/api/projects', '/api/events']) {
    const answer = await page.goto(`${attackerOrigin}${path}`)
    assert.is(answer?.status(), 421, path)
    assert.not.match(await answer!.text(), /WORKER_|GITHUB_|<ta-app/, `${path}: nothing of the app`)
  }
  await context.close()
})

test('a rebound page can neither read settings nor write anything', async () => {
  const project = await createProject(ui)
  await ui.api('PUT', '/api/settings', { values: { WORKER_MODE: 'opencode' } })
  const settingsBefore = (await ui.api('GET', '/api/settings')).body
  const projectsBefore = (await ui.api('GET', '/api/projects')).body
  const context = await browser.newContext()
  const page = await context.newPage()
  // The attacker's own server answered the first lookup of attacker.test with this page; the name
  // now resolves to 127.0.0.1, so everything the page asks for goes to the app.
  await page.route(`${attackerOrigin}/`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>cats</title>' }))
  await page.goto(`${attackerOrigin}/`)
  const results = await page.evaluate(async (pid) => {
    const json = { 'content-type': 'application/json' }
    const out: Record<string, unknown> = {}
    const send = async (name: string, path: string, init?: RequestInit) => {
      try {
        const res = await fetch(path, init)
        out[name] = { status: res.status, text: await res.text() }
      } catch (error) {
        out[name] = { error: String(error) }
      }
    }
    await send('read settings', '/api/settings')
    await send('read projects', '/api/projects')
    await send('write settings', '/api/settings', { method: 'PUT', headers: json, body: JSON.stringify({ values: { WORKER_MODE: 'codex' } }) })
    await send('create project', '/api/projects', { method: 'POST', headers: json, body: JSON.stringify({ name: 'pwned', repo_url: 'https://git.example/x.git', setup_command: 'id' }) })
    await send('create ticket', `/api/projects/${pid}/tickets`, { method: 'POST', headers: json, body: JSON.stringify({ title: 'pwned', column_id: 'in_progress' }) })
    await send('delete project', `/api/projects/${pid}?confirm=x`, { method: 'DELETE', headers: json })
    out['event stream'] = await new Promise((resolve) => {
      const source = new EventSource('/api/events')
      source.onopen = () => resolve('open')
      source.onerror = () => resolve(source.readyState === EventSource.CLOSED ? 'closed' : 'error')
    })
    return out
  }, project.id)
  for (const name of ['read settings', 'read projects', 'write settings', 'create project', 'create ticket', 'delete project']) {
    const answer = results[name] as { status: number; text: string }
    assert.is(answer.status, 421, `${name}: ${JSON.stringify(answer)}`)
    assert.match(answer.text, /misdirected_request/, name)
    assert.not.match(answer.text, /WORKER_MODE|opencode|repo_url/, `${name}: nothing of the app leaks`)
  }
  assert.is(results['event stream'], 'closed', 'the live stream does not open')
  assert.equal((await ui.api('GET', '/api/settings')).body, settingsBefore, 'settings unchanged')
  assert.equal((await ui.api('GET', '/api/projects')).body, projectsBefore, 'no project created or deleted')
  assert.equal((await ui.api('GET', `/api/projects/${project.id}/tickets`)).body, [], 'no ticket created')
  await context.close()
})

test('machine routes still answer a foreign Host: a coordinator and an agent as host.docker.internal', async () => {
  const project = await createProject(ui)
  const ticket = (await ui.api('POST', `/api/projects/${project.id}/tickets`, { title: 'Add a health endpoint', column_id: 'in_progress' })).body
  const host = `host.docker.internal:${port}`
  const claim = await raw(ui.url, '/api/worker/jobs/start', {
    method: 'POST', headers: { host, authorization: `Bearer ${WORKER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project_id: project.id, coordinator_id: 'c1' }),
  })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  const context = await raw(ui.url, `/api/projects/${project.id}/tickets/${ticket.id}/worker-context`, { headers: { host, authorization: `Bearer ${claim.body.agent_token}` } })
  assert.is(context.status, 200, JSON.stringify(context.body))
  assert.is((await raw(ui.url, '/api/health', { headers: { host: 'attacker.test' } })).status, 200, 'the health probe')
  // The same agent token on a people route is still a people request: refused by Host first.
  assert.is((await raw(ui.url, '/api/settings', { headers: { host, authorization: `Bearer ${claim.body.agent_token}` } })).status, 421)
})

test.run()
