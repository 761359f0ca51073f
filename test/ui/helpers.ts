/**
 * What the browser tests stand on: the built UI (built when missing or older than its sources),
 * the real app serving it on an ephemeral port over a fresh embedded database, and Debian's
 * Chromium driven by playwright-core.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Locator, type Page, type Request } from 'playwright-core'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveAppConfig } from '../../core/config.ts'
import { startApp, type RunningApp } from '../../core/app.ts'
import { builtinForges } from '../../plugins/forges/index.ts'
import { createLogger } from '../../core/log.ts'
import { ROOT } from '../helpers.ts'
import { seedPglite } from '../pglite-template.ts'

export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'ui')
const APP_JS = join(ROOT, 'dist', 'public', 'app.js')

/** Builds the UI when dist/public/app.js is missing or older than a file in frontend/. */
export function ensureBuilt(): void {
  const built = existsSync(APP_JS) ? statSync(APP_JS).mtimeMs : 0
  const newest = Math.max(...readdirSync(join(ROOT, 'frontend')).map((name) => statSync(join(ROOT, 'frontend', name)).mtimeMs))
  if (built && built >= newest) return
  const result = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' })
  if (result.status !== 0) throw new Error('node scripts/build.mjs failed')
}

export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return
  const result = spawnSync('bash', ['scripts/provision-chromium.sh'], { cwd: ROOT, stdio: 'inherit' })
  if (result.status !== 0 || !existsSync(CHROMIUM)) throw new Error('Chromium is missing: run scripts/provision-chromium.sh as root')
}

export interface UiApp {
  app: RunningApp
  url: string
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>
  close(): Promise<void>
}

/** The real app with the built UI, on PGlite in a temp dir (the env approach of test/helpers.ts). */
export async function startUiApp(extraEnv: Record<string, string> = {}): Promise<UiApp> {
  ensureBuilt()
  const dataDir = mkdtempSync(join(tmpdir(), 'terarchitect-ui-'))
  const config = resolveAppConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    TERARCHITECT_DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    WORKER_MODEL: 'test-model',
    // Runs are refused without a forge token (setup-checks/run.ts); suites about its absence pass ''.
    // GITHUB_API_URL stays GitHub's: the boards show github.com pull requests.
    GITHUB_TOKEN: 'ghp_test_default_forge_token',
    ...extraEnv,
  })
  let app: RunningApp
  try {
    // The embedded database opens a copy of a migrated one instead of running initdb (pglite-template.ts).
    if (!config.DATABASE_URL) await seedPglite(config.TERARCHITECT_DATA_DIR)
    app = await startApp({ config, migrationsDir: join(ROOT, 'sql'), staticDir: join(ROOT, 'dist', 'public'), log: createLogger(config.LOG_LEVEL), forges: builtinForges() })
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
  return {
    app,
    url: app.url,
    async api(method, path, body, headers = {}) {
      // The worker API is never anonymous: calls to it carry the key the app generated.
      const worker: Record<string, string> = path.startsWith('/api/worker/') ? { authorization: `Bearer ${readFileSync(join(dataDir, 'worker.key'), 'utf8').trim()}` } : {}
      const res = await fetch(app.url + path, {
        method,
        headers: { ...(method === 'GET' ? {} : { 'content-type': 'application/json' }), ...worker, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : null }
    },
    async close() {
      await app.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Debian's Chromium, headless; `extraArgs` e.g. `--host-resolver-rules=MAP attacker.test 127.0.0.1`. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  ensureChromium()
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...extraArgs],
  })
}

export interface UiSuite {
  /** The app, from the suite's `test.before` on (reading it earlier throws). */
  readonly ui: UiApp
  /** Chromium, from the suite's `test.before` on (reading it earlier throws). */
  readonly browser: Browser
}

/**
 * What a UI suite stands on, as hooks of `test`: before, the app (`startUiApp(env)`; `env` may be
 * computed then, e.g. around a port chosen at start) and Chromium; after each test,
 * `assertNoCspViolations`; after all, the browser and the app closed, each one that started even
 * when the other did not start or does not close. Hooks the file registers later run after these
 * before hooks and after these after hooks (uvu runs hooks in the order they were registered).
 */
export function uiSuite(test: Test, env: Record<string, string> | (() => Promise<Record<string, string>>) = {}): UiSuite {
  let ui: UiApp | undefined
  let browser: Browser | undefined
  test.after.each(assertNoCspViolations)
  test.before(async () => {
    ui = await startUiApp(typeof env === 'function' ? await env() : env)
    browser = await launchBrowser()
  })
  test.after(async () => {
    try {
      await browser?.close()
    } finally {
      await ui?.close()
    }
  })
  return {
    get ui() {
      if (!ui) throw new Error('the UI app is not started: uiSuite starts it in test.before')
      return ui
    },
    get browser() {
      if (!browser) throw new Error('Chromium is not started: uiSuite launches it in test.before')
      return browser
    },
  }
}

const violations: string[] = []
/** Each page's requests still without an answer (`waitForOrExplain` names them). */
const unanswered = new WeakMap<Page, Set<Request>>()

/**
 * Fails the calling test when any page opened by `openPage` reported a Content-Security-Policy
 * violation since the last call; UI suites run it after each test (`test.after.each`).
 */
export function assertNoCspViolations(): void {
  const seen = violations.splice(0)
  assert.equal(seen, [], 'Content-Security-Policy violations')
}

/**
 * A page that fails the test on any uncaught error or console error of the UI, and reports every
 * `securitypolicyviolation` (in the document or any shadow root) to `assertNoCspViolations`.
 */
export async function openPage(browser: Browser, url: string, options: { colorScheme?: 'light' | 'dark'; width?: number; height?: number } = {}) {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1360, height: options.height ?? 860 },
    colorScheme: options.colorScheme ?? 'light',
    deviceScaleFactor: 1,
  })
  const problems: string[] = []
  await context.exposeBinding('__reportCspViolation', (_source, text: string) => {
    violations.push(text)
    problems.push(`csp: ${text}`)
  })
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { __reportCspViolation(text: string): void }).__reportCspViolation
      const where = (event.composedPath()[0] as Element | undefined)?.localName ?? 'document'
      report(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} on <${where}> (${event.sourceFile || document.location.pathname}) ${event.sample}`.trim())
    }, true)
  })
  const page = await context.newPage()
  const open = new Set<Request>()
  unanswered.set(page, open)
  page.on('request', (request) => open.add(request))
  page.on('requestfinished', (request) => open.delete(request))
  page.on('requestfailed', (request) => open.delete(request))
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  page.on('console', (message) => {
    // A 4xx the test provoked on purpose shows as a failed resource; that is not a UI error.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`console: ${message.text()}`)
  })
  await page.goto(url)
  return { page, context, problems }
}

/** Saves `test-artifacts/ui/<name>.png`; toasts are cleared first unless `keepToasts`. */
export async function screenshot(page: Page, name: string, options: { keepToasts?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true })
  if (!options.keepToasts) await page.evaluate(() => ((document.querySelector('ta-toasts') as unknown as { toasts: unknown[] } | null)?.toasts.splice(0), document.querySelector('ta-toasts')?.remove()))
  const path = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path })
  return path
}

/** Creates a project through the API; `runnable` gives it a repo URL so docker mode can run. */
export async function createProject(ui: UiApp, fields: Record<string, unknown> = {}) {
  const res = await ui.api('POST', '/api/projects', { name: `Shop ${Math.random().toString(36).slice(2, 6)}`, repo_url: 'https://git.example/acme/shop.git', ...fields })
  if (res.status !== 201) throw new Error(`project create failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body as { id: number; name: string }
}

/**
 * Waits for `locator`; when it does not show, fails with what the page shows instead (its visible
 * text, shadow roots included: an error banner, a spinner's label) and the UI's console errors
 * (`problems` of `openPage`) and the requests still unanswered (an event stream stays so), so a
 * timeout explains itself.
 */
export async function waitForOrExplain(page: Page, locator: Locator, problems: string[], options: { timeout?: number } = {}): Promise<void> {
  try {
    await locator.waitFor(options)
  } catch (error) {
    const shown = await visibleText(page).catch((reason: Error) => `(the page text could not be read: ${reason.message})`)
    const headline = (error as Error).message.split('\n')[0]
    const waiting = [...(unanswered.get(page) ?? [])].map((request) => `${request.method()} ${new URL(request.url()).pathname}`)
    throw new Error(`${headline}\nThe page at ${page.url()} shows: ${shown || '(nothing)'}\nConsole errors: ${problems.length ? problems.join(' | ') : 'none'}` +
      `\nRequests without an answer: ${waiting.length ? waiting.join(', ') : 'none'}`)
  }
}

/** The page's visible text, through every shadow root, on one line (at most 3000 characters). */
export function visibleText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const parts: string[] = []
    const walk = (node: Node) => {
      if (node.nodeType === Node.TEXT_NODE) {
        const text = node.textContent?.trim()
        const parent = node.parentElement
        if (text && (!parent || getComputedStyle(parent).visibility !== 'hidden')) parts.push(text)
        return
      }
      if (node instanceof Element && (['STYLE', 'SCRIPT', 'TEMPLATE'].includes(node.tagName) || getComputedStyle(node).display === 'none')) return
      if (node instanceof Element && node.shadowRoot) walk(node.shadowRoot)
      for (const child of node.childNodes) walk(child)
    }
    walk(document.body)
    return parts.join(' ').replace(/\s+/g, ' ').slice(0, 3000)
  })
}
