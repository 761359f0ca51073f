/**
 * Failure reasons in a real browser: five jobs end the way the first hour's do (a missing local path,
 * no change made, a repository not found, a token without push permission, a person's Stop), seeded
 * through the worker and agent APIs as a coordinator and an agent report them (test/job-reasons.test.ts
 * runs the real agent for each). Each card and each row of the Jobs page reads its plain reason; the
 * Stop is neutral (computed colours), the failures red; "Show in log" lands on the highlighted log
 * line; the fixes link to the setting and the project field.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { PASSWORD, PROXIED } from '../people-helpers.ts'
import { expireLeases } from '../../core/services/reaper.ts'
import { createProject, openPage, screenshot, uiSuite } from './helpers.ts'

const suite = uiSuite(test)
let page: Page
let projectId: number
const seeded: { title: string; jobId: number; ticketId: number; reason: string; eventId: number | null }[] = []

type AgentEvent = { step: string; summary: string; event?: Record<string, unknown> }

/** A ticket whose job is claimed, logged by "its agent" and reported by "its coordinator". */
async function endJob(title: string, options: { events?: AgentEvent[]; reason?: Record<string, unknown>; exitCode: number; before?(jobId: number): Promise<void> }) {
  const ticket = (await suite.ui.api('POST', `/api/projects/${projectId}/tickets`, { title }, session)).body
  assert.is((await suite.ui.api('POST', `/api/projects/${projectId}/tickets/${ticket.id}/run`, undefined, session)).status, 201)
  const job = (await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: 'ui-reasons' })).body
  assert.is(job.ticket_id, ticket.id)
  await options.before?.(job.job_id)
  if (options.events) {
    const logged = await suite.ui.api('POST', `/api/projects/${projectId}/tickets/${ticket.id}/logs`, { events: options.events }, { authorization: `Bearer ${job.agent_token}` })
    assert.is(logged.status, 201, JSON.stringify(logged.body))
  }
  const failed = await suite.ui.api('POST', `/api/worker/jobs/${job.job_id}/fail`, {
    coordinator_id: 'ui-reasons', claim_seq: job.claim_seq, exit_code: options.exitCode, error: `agent exited with code ${options.exitCode}`, ...(options.reason ? { reason: options.reason } : {}),
  })
  assert.is(failed.status, 200, JSON.stringify(failed.body))
  seeded.push({ title, jobId: job.job_id, ticketId: ticket.id, reason: failed.body.reason, eventId: failed.body.reason_event_id })
  return failed.body
}

const failure = (summary: string, code: string, reasonKind: string, reason: string, fix: Record<string, string> | null): AgentEvent =>
  ({ step: 'error', summary, event: { kind: 'failure', code, reason_kind: reasonKind, reason, fix } })

let session: Record<string, string> = {}
let adminCookie = ''

async function signIn(login: string): Promise<string> {
  const res = await fetch(`${suite.ui.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...PROXIED }, body: JSON.stringify({ login, password: PASSWORD }) })
  assert.is(res.status, 200, await res.text())
  return res.headers.get('set-cookie')!.split(';')[0]!
}

test('five ways a job ends, as the agent, the coordinator and a person report them', async () => {
  const admin = await suite.ui.api('POST', '/api/auth/setup', { login: 'root', password: PASSWORD })
  assert.is(admin.status, 201, JSON.stringify(admin.body))
  adminCookie = await signIn('root')
  session = { cookie: adminCookie, ...PROXIED }
  const alice = await suite.ui.api('POST', '/api/users', { login: 'alice', display_name: 'Alice', password: PASSWORD, role: 'member' }, session)
  assert.is(alice.status, 201, JSON.stringify(alice.body))
  projectId = (await suite.ui.api('POST', '/api/projects', { name: 'Shop', repo_url: 'https://git.example/acme/shop.git' }, session)).body.id
  assert.ok(projectId)

  const missing = await endJob('Runs on a missing path', {
    exitCode: -1, reason: { kind: 'setup', text: 'The project path /srv/shop does not exist on build-1', fix: { kind: 'project', field: 'project_path' } },
  })
  assert.is(missing.reason_kind, 'setup')
  await endJob('Changes nothing', { exitCode: 1, events: [failure('the worker exited 0 but changed nothing', 'worker', 'worker', 'The worker finished without changing anything', null)] })
  await endJob('Repository gone', {
    exitCode: 1,
    events: [failure('git fetch main failed: remote: the repository was not found on the git host', 'git', 'forge',
      'The repository was not found on GitHub (or the token cannot see it): check the project\'s repository URL', { kind: 'project', field: 'repo_url' })],
  })
  await endJob('Push refused', {
    exitCode: 1,
    events: [failure('push to ticket-4 failed: git push failed (exit 128): remote: the git host refused the forge token (403): check GITHUB_TOKEN', 'git', 'forge',
      'The GitHub token may not push to the repository (refused with 403): give it write access to the repository', { kind: 'setting', key: 'GITHUB_TOKEN' })],
  })
  const aliceCookie = await signIn('alice')
  const stopped = await endJob('Stopped halfway', {
    exitCode: 130,
    before: async (jobId) => assert.is((await suite.ui.api('POST', `/api/jobs/${jobId}/cancel`, undefined, { cookie: aliceCookie, ...PROXIED })).status, 200),
    events: [{ step: 'cancelled', summary: 'cancelled: cancel requested; nothing was pushed', event: { kind: 'cancelled', code: 'cancelled', reason_kind: 'cancelled', reason: 'Cancelled: cancel requested; nothing was pushed', fix: null } }],
  })
  assert.is(stopped.status, 'cancelled')
  assert.is(stopped.reason, 'Stopped by Alice')
})

/** Opens `path` signed in as the admin. */
async function open(path: string): Promise<Page> {
  const opened = await openPage(suite.browser, `${suite.ui.url}/`)
  await opened.context.addCookies([{ name: adminCookie.split('=')[0]!, value: adminCookie.split('=').slice(1).join('='), url: suite.ui.url }])
  await opened.page.goto(`${suite.ui.url}${path}`)
  return opened.page
}

/** The computed text colour of `selector`'s first match and of a probe painted with `cssVar`. */
async function colours(selector: string, cssVar: string) {
  return page.locator(selector).first().evaluate((element, name) => {
    const probe = document.createElement('span')
    probe.style.color = `var(${name})`
    document.body.append(probe)
    const expected = getComputedStyle(probe).color
    probe.remove()
    return { actual: getComputedStyle(element).color, expected }
  }, cssVar)
}

test('each card reads its plain reason; the Stop is grey, the failures red', async () => {
  page = await open(`/projects/${projectId}`)
  const expected: Record<string, string> = {
    'Runs on a missing path': 'The project path /srv/shop does not exist on build-1',
    'Changes nothing': 'The worker finished without changing anything',
    'Repository gone': 'The repository was not found on GitHub (or the token cannot see it): check the project\'s repository URL',
    'Push refused': 'The GitHub token may not push to the repository (refused with 403): give it write access to the repository',
    'Stopped halfway': 'Stopped by Alice',
  }
  for (const job of seeded) {
    const text = page.locator(`.card[data-id="${job.ticketId}"] .card-reason .reason-text`)
    await text.waitFor()
    assert.is((await text.textContent())?.trim(), expected[job.title], job.title)
    assert.not.match((await page.locator(`.card[data-id="${job.ticketId}"]`).textContent()) ?? '', /exited with code/)
  }
  const stop = seeded.find((job) => job.title === 'Stopped halfway')!
  const push = seeded.find((job) => job.title === 'Push refused')!
  const grey = await colours(`.card[data-id="${stop.ticketId}"] .reason`, '--text-2')
  assert.is(grey.actual, grey.expected, 'the Stop is in the neutral text colour')
  const red = await colours(`.card[data-id="${push.ticketId}"] .reason`, '--danger')
  assert.is(red.actual, red.expected, 'a failure is red')
  assert.is.not(grey.actual, red.actual)
  await screenshot(page, 'failure-reasons-board')
})

test('a job that fails while the board is open shows its reason on the card at once', async () => {
  const live = await endJob('Fails while watched', {
    exitCode: 1,
    events: [failure('the worker exited 0 but changed nothing', 'worker', 'worker', 'The worker finished without changing anything', null)],
  })
  const text = page.locator(`.card[data-id="${seeded.at(-1)!.ticketId}"] .card-reason .reason-text`)
  await text.waitFor({ timeout: 3000 })
  assert.is((await text.textContent())?.trim(), live.reason)
})

test('a job whose coordinator stopped answering: the reaper\'s reason on the card, neutral like a Stop', async () => {
  const ticket = (await suite.ui.api('POST', `/api/projects/${projectId}/tickets`, { title: 'Coordinator gone' }, session)).body
  assert.is((await suite.ui.api('POST', `/api/projects/${projectId}/tickets/${ticket.id}/run`, undefined, session)).status, 201)
  const job = (await suite.ui.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: 'ui-reasons' })).body
  await suite.ui.app.ctx.sql`update agent_jobs set max_attempts = 1, lease_expires_at = now() - interval '1 hour' where id = ${job.job_id}`
  assert.ok((await expireLeases(suite.ui.app.ctx)) >= 1)
  const ended = (await suite.ui.api('GET', `/api/jobs/${job.job_id}`, undefined, session)).body
  assert.equal([ended.status, ended.reason_kind], ['failed', 'cancelled'])
  seeded.push({ title: 'Coordinator gone', jobId: job.job_id, ticketId: ticket.id, reason: ended.reason, eventId: ended.reason_event_id })
  const text = page.locator(`.card[data-id="${ticket.id}"] .card-reason .reason-text`)
  await text.waitFor({ timeout: 3000 })
  assert.is((await text.textContent())?.trim(), 'Its coordinator stopped answering (lease lost) on attempt 1 of 1; not retried')
  const grey = await colours(`.card[data-id="${ticket.id}"] .reason`, '--text-2')
  assert.is(grey.actual, grey.expected, 'a lost lease is neutral, not red')
})

test('the Jobs page lists each job with its ticket\'s title and reason; the fixes link to the setting and the project field', async () => {
  page = await open('/jobs')
  for (const job of seeded) {
    const row = page.locator(`tr[data-job="${job.jobId}"]`)
    await row.waitFor()
    assert.is((await row.locator('.reason-text').textContent())?.trim(), job.reason, job.title)
    assert.is((await row.locator(`a[href="/projects/${projectId}/tickets/${job.ticketId}"]`).first().textContent())?.trim(), job.title)
  }
  const push = seeded.find((job) => job.title === 'Push refused')!
  assert.is(await page.locator(`tr[data-job="${push.jobId}"] a.fix`).getAttribute('href'), '/settings#s-GITHUB_TOKEN')
  const gone = seeded.find((job) => job.title === 'Repository gone')!
  assert.is(await page.locator(`tr[data-job="${gone.jobId}"] a.fix`).getAttribute('href'), `/projects/${projectId}?edit=repo_url`)
  for (const title of ['Stopped halfway', 'Coordinator gone']) {
    const neutral = seeded.find((job) => job.title === title)!
    const grey = await colours(`tr[data-job="${neutral.jobId}"] .reason`, '--text-2')
    assert.is(grey.actual, grey.expected, `${title}: neutral in the Jobs list too`)
  }
  await screenshot(page, 'failure-reasons-jobs')
  // Following the setting's fix lands on that setting, focused.
  await page.locator(`tr[data-job="${push.jobId}"] a.fix`).click()
  await page.waitForFunction(() => {
    if (location.pathname + location.hash !== '/settings#s-GITHUB_TOKEN') return false
    const settings = document.querySelector('ta-app')?.shadowRoot?.querySelector('ta-settings-page')
    return settings?.shadowRoot?.activeElement?.id === 's-GITHUB_TOKEN'
  }, undefined, { timeout: 5000 })
  await page.goBack()
  await page.locator(`tr[data-job="${push.jobId}"]`).waitFor()
  // The project field's fix opens the project's Edit form on that field.
  await page.locator(`tr[data-job="${gone.jobId}"] a.fix`).click()
  await page.waitForFunction(() => {
    const home = document.querySelector('ta-app')?.shadowRoot?.querySelector('ta-project-home')
    const form = home?.shadowRoot?.querySelector('ta-project-form')
    return form?.shadowRoot?.activeElement?.id === 'f-repo_url' && location.search === ''
  }, undefined, { timeout: 5000 })
  await page.goto(`${suite.ui.url}/jobs`)
  await page.locator(`tr[data-job="${push.jobId}"]`).waitFor()
})

test('"Show in log" opens the ticket\'s Activity on the highlighted event the reason came from', async () => {
  const push = seeded.find((job) => job.title === 'Push refused')!
  assert.ok(push.eventId, 'the reason points at the agent\'s failure event')
  await page.locator(`tr[data-job="${push.jobId}"] a.reason-link`, { hasText: 'Show in log' }).click()
  const marked = page.locator('ta-job-log li[data-highlight]')
  await marked.waitFor()
  assert.is(await marked.getAttribute('data-seq'), String(push.eventId))
  assert.match((await marked.textContent()) ?? '', 'refused the forge token (403)')
  // The ticket header says why, too.
  assert.is((await page.locator('ta-ticket-view header .reason-text').textContent())?.trim(), push.reason)
  await screenshot(page, 'failure-reasons-log')
})

test.run()
