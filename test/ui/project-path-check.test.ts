/**
 * The project form and the local path check at save, in a real browser, with a real coordinator loop
 * in-process (the real local executor) and real git checkouts: without a coordinator online the save
 * closes the form and says the path is checked before the first run; with one, a wrong origin keeps
 * the form open on the reason (the project is saved), and a good checkout closes it saying where the
 * path was checked.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { openPage, screenshot, uiSuite } from './helpers.ts'
import { createWorkerClient } from '../../core/coordinator/client.ts'
import { startCoordinator, type RunningCoordinator } from '../../core/coordinator/loop.ts'
import { resolveCoordinatorConfig } from '../../core/coordinator-config.ts'
import { createLogger } from '../../core/log.ts'
import { local } from '../../plugins/executors/local.ts'

const KEY = 'ui-path-check-worker-key-0123'
const REPO_URL = 'https://git.example/acme/widgets.git'
const scratch = mkdtempSync(join(tmpdir(), 'ui-path-check-'))
let page: Page
let coordinator: RunningCoordinator | undefined
// Registered before the suite's own hooks, so it runs first: the coordinator stops while the app still answers.
test.after(async () => {
  await coordinator?.stop(0)
})
const suite = uiSuite(test, { TERARCHITECT_WORKER_API_KEY: KEY })

function checkout(name: string, origin: string): string {
  const dir = join(scratch, name)
  mkdirSync(dir, { recursive: true })
  for (const args of [['init', '-q'], ['remote', 'add', 'origin', origin]]) assert.is(spawnSync('git', ['-C', dir, ...args]).status, 0)
  return dir
}

test.before(async () => {
  ;({ page } = await openPage(suite.browser, suite.ui.url))
})

test.after(() => {
  rmSync(scratch, { recursive: true, force: true })
})

const form = () => page.locator('ta-projects-page ta-project-form')

async function fillLocal(name: string, path: string) {
  await page.goto(suite.ui.url)
  await page.getByRole('button', { name: 'New project' }).click()
  await form().getByLabel('Name').fill(name)
  await form().getByLabel('Repository URL').fill(REPO_URL)
  await form().locator('label.mode', { hasText: 'Local' }).click()
  await form().getByLabel('Project path').fill(path)
  await form().getByRole('button', { name: 'Create project' }).click()
}

test('no coordinator online: the project is created and the message says the path is checked before the first run', async () => {
  await fillLocal('Offline checkout', checkout('offline', REPO_URL))
  await page.waitForURL(/\/projects\/\d+$/)
  await page.getByText('No coordinator serving this project is online: the path will be checked by a coordinator before the first run').waitFor()
})

test('an online coordinator finds a wrong origin: the form stays open on the reason; the project is saved', async () => {
  const config = resolveCoordinatorConfig({
    TERARCHITECT_API_URL: suite.ui.url, TERARCHITECT_WORKER_API_KEY: KEY, COORDINATOR_STATE_DIR: join(scratch, 'state'),
    POLL_INTERVAL_SEC: '0.5', COORDINATOR_REPORT_SEC: '1', SETTINGS_REFRESH_SEC: '60',
  })
  const log = createLogger('error')
  coordinator = startCoordinator({
    config, coordinatorId: 'ui-path-checker', log,
    client: createWorkerClient({ apiUrl: suite.ui.url, workerKey: KEY, coordinatorId: 'ui-path-checker' }),
    executors: { containers: null, host: local({ log }) },
  })
  const wrong = checkout('wrong-origin', 'https://git.example/acme/gadgets.git')
  await fillLocal('Wrong origin', wrong)
  const problem = form().locator('.path-problem')
  await problem.waitFor({ timeout: 10_000 })
  assert.match(await problem.innerText(), `The checkout at ${wrong} has origin https://git.example/acme/gadgets.git, not the project's repository`)
  assert.ok(await form().getByRole('button', { name: 'Save changes' }).isVisible(), 'the form now edits the saved project')
  const saved = ((await suite.ui.api('GET', '/api/projects')).body as { name: string }[]).some((project) => project.name === 'Wrong origin')
  assert.ok(saved, 'the save stands')
  await screenshot(page, 'project-path-check-problem')
  await form().locator('button[slot="footer"]', { hasText: 'Close' }).click()
  await page.waitForURL(/\/projects\/\d+$/)
})

test('an online coordinator finds a good checkout: the form closes, saying where the path was checked', async () => {
  await fillLocal('Good checkout', checkout('good', 'git@git.example:acme/widgets.git'))
  await page.waitForURL(/\/projects\/\d+$/, { timeout: 15_000 })
  await page.getByText(`The path was checked on ${hostname()}: it is a checkout of the repository.`).waitFor()
})

test.run()
