/**
 * People in a real browser, off loopback (bound to 0.0.0.0, reached through PUBLIC_URL, so no
 * request is local): the first admin is created through the UI with the code the app printed;
 * the admin adds a member and a viewer on the Users page; the two sign in in two browser contexts;
 * the member moves a ticket and the viewer sees it move live (the event stream over the session
 * cookie); the viewer's move is refused in the UI and by the API (403); the ticket says who moved
 * it; the audit page lists the move with its actor; the token page creates a token that works and
 * revokes it; signing out closes the stream and the server refuses the old session's stream.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import type { BrowserContext, Page } from 'playwright-core'
import { openPage, screenshot, startUiApp, uiSuite } from './helpers.ts'

const ADMIN_TOKEN = randomBytes(18).toString('hex')
const PASSWORD = { ada: 'ada-correct-horse', mia: 'mia-battery-staple', vic: 'vic-viewer-pass' }

let base: string
const suite = uiSuite(test, async () => {
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  return {
    HOST: '0.0.0.0',
    PORT: String(port),
    PUBLIC_URL: base,
    TERARCHITECT_ADMIN_TOKEN: ADMIN_TOKEN,
    TERARCHITECT_WORKER_API_KEY: randomBytes(18).toString('hex'),
  }
})
let admin: Page
let member: Page
let viewer: Page
let viewerContext: BrowserContext
let project: { id: number }
const tickets: Record<string, number> = {}
const problems: string[][] = []

const column = (id: string) => `ta-board-column[data-column="${id}"]`
const card = (ticketId: number) => `.card[data-id="${ticketId}"]`

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A script's call: JSON, with the admin token unless other headers are given. */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(method === 'GET' ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

/** Opens the app in a fresh context whose EventSources are recorded (to see them close). */
async function open(path: string, colorScheme: 'light' | 'dark' = 'light') {
  const opened = await openPage(suite.browser, `${base}${path}`, { colorScheme })
  await opened.context.addInitScript(() => {
    const Native = window.EventSource
    const sources: EventSource[] = []
    ;(window as unknown as { __sources: EventSource[] }).__sources = sources
    window.EventSource = class extends Native {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init)
        sources.push(this)
      }
    }
  })
  await opened.page.reload()
  problems.push(opened.problems)
  return opened
}

async function signIn(page: Page, login: string, password: string) {
  const form = page.locator('ta-sign-in')
  await form.getByLabel('Login').fill(login)
  await form.getByLabel('Password').fill(password)
  await form.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.locator('ta-user-menu').waitFor()
}

test('off loopback with no account, the UI asks for the first admin and the printed setup code', async () => {
  assert.ok(suite.ui.app.setupCode, 'the app printed a setup code')
  ;({ page: admin } = await open('/', 'dark'))
  const setup = admin.locator('ta-setup-page')
  await setup.getByRole('heading', { name: 'Create the first admin' }).waitFor()
  await screenshot(admin, 'accounts-setup-dark')
  await setup.getByLabel('Login').fill('ada')
  await setup.getByLabel('Display name').fill('Ada Admin')
  await setup.getByLabel('Password').fill(PASSWORD.ada)
  await setup.getByLabel('Setup code').fill('0000-0000-0000-0000')
  await setup.getByRole('button', { name: 'Create the admin account' }).click()
  // Said in words at the field it is about (the form's alert repeats it).
  await setup.locator('.field-error').getByText('Setup code: wrong code').waitFor()
  await setup.getByLabel('Setup code').fill(suite.ui.app.setupCode!)
  await setup.getByRole('button', { name: 'Create the admin account' }).click()
  await admin.locator('ta-user-menu').getByText('Ada Admin').waitFor()
  const me = await admin.evaluate(() => fetch('/api/auth/me').then((res) => res.json()))
  assert.equal({ login: me.user.login, role: me.user.role, local: me.local, setup: me.setup_required }, { login: 'ada', role: 'admin', local: false, setup: false })
})

test('the admin adds a member and a viewer on the Users page', async () => {
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click()
  const users = admin.locator('ta-users-page')
  for (const [login, role] of [['mia', 'member'], ['vic', 'viewer']] as const) {
    await users.getByRole('button', { name: 'Add user' }).click()
    const form = users.locator('ta-user-form')
    await form.getByLabel('Login').fill(login)
    await form.getByLabel('Display name').fill(login === 'mia' ? 'Mia Member' : 'Vic Viewer')
    await form.getByLabel('Role').selectOption(role)
    await form.getByLabel('Password').fill(PASSWORD[login])
    await form.getByRole('button', { name: 'Add user' }).click()
    await users.locator(`tr[data-login="${login}"]`).waitFor()
  }
  await screenshot(admin, 'accounts-users-dark')
  const listed = (await call('GET', '/api/users')).body as { login: string; role: string }[]
  assert.equal(listed.map((user) => `${user.login}:${user.role}`), ['ada:admin', 'mia:member', 'vic:viewer'])
  project = (await call('POST', '/api/projects', { name: 'Shop API', repo_url: 'https://git.example/acme/shop.git' })).body
  for (const title of ['Add rate limiting', 'Cache listings']) {
    const created = await call('POST', `/api/projects/${project.id}/tickets`, { title, description: `${title}.`, priority: 'medium' })
    assert.is(created.status, 201)
    tickets[title.split(' ')[0]!.toLowerCase()] = created.body.id
  }
})

test('a member and a viewer sign in from two browsers and land on the page they asked for', async () => {
  ;({ page: member } = await open(`/projects/${project.id}`))
  ;({ page: viewer, context: viewerContext } = await open(`/projects/${project.id}`, 'dark'))
  await viewer.locator('ta-sign-in').getByRole('heading', { name: 'Sign in' }).waitFor()
  await screenshot(viewer, 'accounts-sign-in-dark')
  // A wrong password says so, without saying which of the two was wrong.
  await viewer.locator('ta-sign-in').getByLabel('Login').fill('vic')
  await viewer.locator('ta-sign-in').getByLabel('Password').fill('not-the-password')
  await viewer.locator('ta-sign-in').getByRole('button', { name: 'Sign in', exact: true }).click()
  await viewer.locator('ta-sign-in').getByText('Wrong login or password.').waitFor()
  await signIn(member, 'mia', PASSWORD.mia)
  await signIn(viewer, 'vic', PASSWORD.vic)
  for (const page of [member, viewer]) await page.locator(`${column('backlog')} ${card(tickets.add!)}`).waitFor()
  assert.is(new URL(viewer.url()).pathname, `/projects/${project.id}`)
  // Admin pages are not offered to them.
  assert.is(await member.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count(), 0)
})

test('the member moves a ticket; the viewer sees it move live over the session cookie', async () => {
  await viewer.locator('ta-app .live.open').waitFor({ timeout: 10_000 })
  await member.locator(card(tickets.add!)).dragTo(member.locator(`${column('in_progress')} .list`))
  await member.locator(`${column('in_progress')} ${card(tickets.add!)} .status`).filter({ hasText: 'Queued' }).waitFor({ timeout: 10_000 })
  await viewer.locator(`${column('in_progress')} ${card(tickets.add!)}`).waitFor({ timeout: 10_000 })
  const ticket = (await call('GET', `/api/projects/${project.id}/tickets/${tickets.add}`)).body
  assert.is(ticket.column_id, 'in_progress')
  await screenshot(member, 'accounts-board-member-light')
})

test('the viewer cannot move a ticket: the UI refuses and says why, and the API answers 403', async () => {
  const target = viewer.locator(card(tickets.cache!))
  assert.is(await target.getAttribute('draggable'), 'false')
  assert.is(await target.getAttribute('title'), 'Viewers cannot move tickets')
  await viewer.locator('ta-board .read-only').getByText('Viewers cannot move tickets').waitFor()
  assert.ok(await viewer.getByRole('button', { name: 'New ticket' }).isDisabled())
  await target.dragTo(viewer.locator(`${column('in_review')} .list`))
  await target.focus()
  await viewer.keyboard.press('Alt+ArrowRight')
  await viewer.locator('ta-toasts').getByText('Viewers cannot move tickets').waitFor()
  assert.is((await call('GET', `/api/projects/${project.id}/tickets/${tickets.cache}`)).body.column_id, 'backlog')
  const refused = await viewer.evaluate(async ([projectId, ticketId]) => {
    const res = await fetch(`/api/projects/${projectId}/tickets/${ticketId}`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ column_id: 'in_review', position: 0 }),
    })
    return { status: res.status, body: await res.json() }
  }, [project.id, tickets.cache!])
  assert.is(refused.status, 403)
  assert.match(JSON.stringify(refused.body), /member/)
  // The refused drag selected text on its way; a screenshot shows the board, not the selection.
  await viewer.evaluate(() => getSelection()?.removeAllRanges())
  await screenshot(viewer, 'accounts-board-viewer-dark')
})

test('the ticket says who moved it and who started its job', async () => {
  await viewer.locator(card(tickets.add!)).click()
  const drawer = viewer.locator('ta-ticket-view')
  await drawer.locator('ta-job-log').getByText('moved to In Progress by mia').waitFor({ timeout: 10_000 })
  assert.ok(await drawer.getByRole('button', { name: 'Stop' }).isDisabled())
  await drawer.getByRole('tab', { name: 'Jobs' }).click()
  assert.is((await drawer.locator('[data-started-by]').first().textContent())?.trim(), 'mia')
  await screenshot(viewer, 'accounts-ticket-viewer-dark')
  await viewer.keyboard.press('Escape')
})

test('the audit page lists the move with its actor', async () => {
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click()
  const audit = admin.locator('ta-audit-page')
  await audit.getByLabel('Action').selectOption('ticket.move')
  await audit.getByRole('button', { name: 'Filter' }).click()
  const row = audit.locator('tr[data-action="ticket.move"]', { hasText: 'mia' })
  await row.first().waitFor()
  assert.match((await row.first().textContent()) ?? '', /in_progress/)
  await audit.getByLabel('Action').selectOption('')
  await audit.getByRole('button', { name: 'Filter' }).click()
  await audit.locator('tr[data-action="auth.login_failed"]', { hasText: 'vic' }).waitFor()
  await screenshot(admin, 'accounts-audit-dark')
})

test('the token page creates a token shown once that works for a script, and revokes it', async () => {
  await member.locator('ta-user-menu button.who').click()
  await member.locator('ta-user-menu').getByRole('menuitem', { name: 'API tokens' }).click()
  const page = member.locator('ta-tokens-page')
  await page.getByLabel('Name').fill('CI')
  // A member's token cannot be an admin's.
  assert.equal(await page.getByLabel('Role').locator('option').evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value)), ['viewer', 'member'])
  await page.getByRole('button', { name: 'Create token' }).click()
  const token = ((await page.locator('code[data-token]').textContent()) ?? '').trim()
  assert.match(token, /^tpa_/)
  await screenshot(member, 'accounts-tokens-light')
  const bearer = { authorization: `Bearer ${token}` }
  assert.is((await call('GET', `/api/projects/${project.id}/tickets`, undefined, bearer)).status, 200)
  await page.getByRole('button', { name: 'Revoke' }).click()
  await page.getByText('Revoked').waitFor()
  assert.is(await page.locator('code[data-token]').count(), 0, 'the token is not shown again')
  assert.is((await call('GET', `/api/projects/${project.id}/tickets`, undefined, bearer)).status, 401)
})

test('a member cannot choose what runs on a host; a viewer reads the graph and settings but cannot change them', async () => {
  await member.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click()
  await member.locator('ta-projects-page').getByRole('button', { name: 'New project' }).first().click()
  const form = member.locator('ta-projects-page ta-project-form')
  assert.ok(await form.locator('input[name="execution_mode"][value="local"]').isDisabled())
  await form.getByText('Only admins can choose what runs on a host (local mode, path, commands).').waitFor()
  await form.locator('summary').click()
  assert.ok(await form.getByLabel('Setup command').isDisabled())
  await screenshot(member, 'accounts-project-form-member-light')
  await member.keyboard.press('Escape')
  // The graph editor (loaded on first visit) is read-only for the viewer, and says so.
  await viewer.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: 'Graph' }).click()
  const graph = viewer.locator('ta-graph-editor')
  await graph.getByText('Viewers cannot edit the graph').waitFor()
  assert.ok(await graph.getByRole('button', { name: 'Add node' }).isDisabled())
  await viewer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click()
  const settings = viewer.locator('ta-settings-page')
  await settings.getByText('Only admins can change settings.').waitFor()
  assert.ok(await settings.locator('input[name="WORKER_MODEL"], select[name="WORKER_MODEL"]').first().isDisabled())
  assert.is(await settings.getByText('Import').isVisible(), false)
  await screenshot(viewer, 'accounts-settings-viewer-dark')
})

test('in a local project a member cannot start an agent: Run is disabled and a drop into In Progress is refused, saying why', async () => {
  const why = "Only admins can start agents in a local project (they run on the app's host)"
  const local = (await call('POST', '/api/projects', { name: 'On the host', execution_mode: 'local', project_path: '/srv/on-host' })).body
  const ticket = (await call('POST', `/api/projects/${local.id}/tickets`, { title: 'Tidy the logs' })).body
  await member.goto(`${base}/projects/${local.id}`)
  const target = member.locator(card(ticket.id))
  await target.waitFor()
  const run = target.locator('button.run')
  assert.is(await run.getAttribute('aria-disabled'), 'true')
  assert.is(await run.getAttribute('title'), why)
  await target.dragTo(member.locator(`${column('in_progress')} .list`))
  await member.locator('ta-toasts').getByText(why).waitFor()
  assert.is((await call('GET', `/api/projects/${local.id}/tickets/${ticket.id}`)).body.column_id, 'backlog')
  assert.equal((await call('GET', `/api/projects/${local.id}/jobs`)).body, [], 'no job was started')
})

test('signing out closes the live stream, and the old session cannot open one', async () => {
  const before = await viewerContext.cookies(base)
  const cookie = before.map((entry) => `${entry.name}=${entry.value}`).join('; ')
  assert.ok(cookie, 'the session is a cookie')
  const open = await viewer.evaluate(() => (window as unknown as { __sources: EventSource[] }).__sources.filter((source) => source.readyState !== 2).length)
  assert.ok(open > 0, 'the board had a live stream')
  await viewer.locator('ta-user-menu button.who').click()
  await viewer.locator('ta-user-menu').getByRole('menuitem', { name: 'Sign out' }).click()
  await viewer.locator('ta-sign-in').waitFor()
  const states = await viewer.evaluate(() => (window as unknown as { __sources: EventSource[] }).__sources.map((source) => source.readyState))
  assert.ok(states.every((state) => state === 2), `every EventSource is closed: ${states}`)
  const res = await fetch(`${base}/api/events?project_id=${project.id}`, { headers: { cookie, accept: 'text/event-stream' } })
  assert.is(res.status, 401)
  await res.body?.cancel()
})

test('disabling a user ends their session: the stream stops and their page asks them to sign in again', async () => {
  await member.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click()
  await member.locator('ta-app .live.open').waitFor({ timeout: 10_000 })
  const users = (await call('GET', '/api/users')).body as { id: number; login: string }[]
  const mia = users.find((user) => user.login === 'mia')!
  assert.is((await call('PATCH', `/api/users/${mia.id}`, { disabled: true })).status, 200)
  await member.locator('ta-sign-in').getByText('Your session ended. Sign in again to continue.').waitFor({ timeout: 15_000 })
  const states = await member.evaluate(() => (window as unknown as { __sources: EventSource[] }).__sources.map((source) => source.readyState))
  assert.ok(states.every((state) => state === 2), `every EventSource is closed: ${states}`)
  assert.is(new URL(member.url()).pathname, '/jobs', 'the page asked for is kept')
})

test('on the local machine the board needs no account; settings offers the first one, which switches the app to sign-in', async () => {
  const local = await startUiApp()
  try {
    const first = await openPage(suite.browser, `${local.url}/settings`)
    problems.push(first.problems)
    const entry = first.page.locator('ta-first-account')
    await entry.getByText('No account needed on this machine').waitFor()
    await first.page.locator('ta-user-menu').getByText('Local admin').waitFor()
    await screenshot(first.page, 'accounts-local-settings-light')
    await entry.getByRole('button', { name: 'Create the first account' }).click()
    const form = entry.locator('ta-setup-form')
    assert.is(await form.getByLabel('Setup code').count(), 0, 'no setup code on the local machine')
    await form.getByLabel('Login').fill('lou')
    await form.getByLabel('Password').fill('lou-local-password')
    await form.getByRole('button', { name: 'Create the admin account' }).click()
    await first.page.locator('ta-user-menu').getByText('lou').waitFor()
    assert.is(await entry.locator('section').count(), 0, 'the offer is gone once the account exists')
    // Another browser on the same machine is now asked to sign in.
    const second = await openPage(suite.browser, `${local.url}/`)
    problems.push(second.problems)
    await second.page.locator('ta-sign-in').getByRole('heading', { name: 'Sign in' }).waitFor()
    await second.context.close()
    await first.context.close()
  } finally {
    await local.close()
  }
})

test('no page had an uncaught error', () => {
  assert.equal(problems.flat(), [])
})

test.run()
