/**
 * What every API test stands on: a real database (the shared PostgreSQL 15 cluster or a fresh
 * embedded PGlite), an app on an ephemeral port, and a small JSON client.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { resolveAppConfig } from '../core/config.ts'
import { startApp, type RunningApp } from '../core/app.ts'
import { builtinForges } from '../plugins/forges/index.ts'
import type { Forge } from '../core/forge.ts'
import { createLogger, type LogLevel } from '../core/log.ts'
import { createDatabase, startCluster, type Cluster } from './postgres.ts'
import { seedPglite } from './pglite-template.ts'

export type DbKind = 'postgres' | 'pglite'
export const DB_KINDS: DbKind[] = ['postgres', 'pglite']
export const ROOT = fileURLToPath(new URL('..', import.meta.url))

let cluster: Promise<Cluster> | undefined

/** The shared cluster's URL (started by the runner) or one started for this process. */
export async function clusterUrl(): Promise<string> {
  if (process.env.TEST_PG_URL) return process.env.TEST_PG_URL
  cluster ??= startCluster()
  return (await cluster).url
}

export async function stopOwnCluster(): Promise<void> {
  if (cluster) await (await cluster).stop()
  cluster = undefined
}

export interface Response<T = any> {
  status: number
  body: T
  headers: Headers
}

export interface TestApp {
  app: RunningApp
  url: string
  kind: DbKind
  dataDir: string
  env: Record<string, string>
  /** The worker key (configured, or the one the app generated into its data dir). */
  workerKey: string
  /**
   * JSON client. Requests to the worker API (`/api/worker/…`) carry the worker key unless `headers`
   * names `authorization` (an empty value sends none: an anonymous caller).
   */
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response<T>>
  /** Every record the app logged (at debug level, whatever LOG_LEVEL shows on stderr). */
  logs: string[]
  /** Stops the app; the database stays (for restart tests). */
  stop(): Promise<void>
  /** Stops the app and removes its data. */
  close(): Promise<void>
}

export interface TestAppOptions {
  kind: DbKind
  env?: Record<string, string>
  /** Reuse the database of an earlier app (restart tests). */
  reuse?: { dataDir: string; env: Record<string, string> }
  /** The forge plugins; default the built-in ones. */
  forges?: Forge[]
}

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error']

export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const dataDir = options.reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'terarchitect-test-'))
  const env: Record<string, string> = options.reuse?.env ?? {
    PORT: '0',
    HOST: '127.0.0.1',
    TERARCHITECT_DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    WORKER_MODEL: 'test-model',
    // Runs are refused without a forge token (setup-checks/run.ts); suites about its absence pass ''.
    // The API URL is a closed loopback port, so no suite reaches the real GitHub with it; suites with
    // the fake GitHub set their own.
    GITHUB_TOKEN: 'ghp_test_default_forge_token',
    GITHUB_API_URL: 'http://127.0.0.1:9',
    ...(options.kind === 'postgres' ? { DATABASE_URL: await createDatabase(await clusterUrl()) } : {}),
    ...options.env,
  }
  const config = resolveAppConfig(env)
  // An embedded database opens a copy of an initialized cluster instead of running initdb (pglite-template.ts).
  if (!config.DATABASE_URL) await seedPglite(config.TERARCHITECT_DATA_DIR)
  // Every record is kept at debug level for the stored-secrets scan (secret-scan.ts); stderr gets LOG_LEVEL's.
  const logs: string[] = []
  const log = createLogger('debug', {}, (line) => {
    logs.push(line)
    const level = (/"level":"(\w+)"/.exec(line)?.[1] ?? 'error') as LogLevel
    if (LEVELS.indexOf(level) >= LEVELS.indexOf(config.LOG_LEVEL)) process.stderr.write(line + '\n')
  })
  const app = await startApp({ config, migrationsDir: join(ROOT, 'sql'), log, forges: options.forges ?? builtinForges() })
  // A replica started on another replica's database holds no key file: its tests send the first one's.
  const keyFile = join(env.TERARCHITECT_DATA_DIR ?? dataDir, 'worker.key')
  const workerKey = env.TERARCHITECT_WORKER_API_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '')
  const api = async (method: string, path: string, body?: unknown, given: Record<string, string> = {}) => {
    const headers = path.startsWith('/api/worker/') && !('authorization' in given) ? { authorization: `Bearer ${workerKey}`, ...given } : given
    // Like the UI, every state-changing request says JSON, with or without a body (the boundary's 415).
    const init: RequestInit = { method, headers: { ...(method === 'GET' || method === 'HEAD' ? {} : { 'content-type': 'application/json' }), ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
    }
    const res = await fetch(app.url + path, init)
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {}
    return { status: res.status, body: parsed as any, headers: res.headers }
  }
  return {
    app,
    url: app.url,
    kind: options.kind,
    dataDir,
    env,
    workerKey,
    logs,
    api,
    stop: () => app.close(),
    async close() {
      await app.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Creates a project that can run agents (a repo URL) and returns it with its ticket helper. */
export async function createRunnableProject(t: TestApp, fields: Record<string, unknown> = {}) {
  const res = await t.api('POST', '/api/projects', { name: `p-${Math.random().toString(36).slice(2, 8)}`, repo_url: 'https://git.example/repo.git', ...fields })
  if (res.status !== 201) throw new Error(`project create failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body as { id: number; name: string }
}

export async function createTicket(t: TestApp, projectId: number, fields: Record<string, unknown> = {}) {
  const res = await t.api('POST', `/api/projects/${projectId}/tickets`, { title: 'Add a health endpoint', ...fields })
  if (res.status !== 201) throw new Error(`ticket create failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body as { id: number; column_id: string; position: number }
}

/**
 * The job's last claim (`claim_seq`): what the worker API's calls about the run holding it now
 * (heartbeat, complete, fail, release, requeue, executor) name, for suites that hold the job but not
 * its claim answer.
 */
export async function claimSeqOf(t: TestApp, jobId: number): Promise<number> {
  const [row] = await t.app.ctx.sql`select claim_seq from agent_jobs where id = ${jobId}`
  if (!row) throw new Error(`no job ${jobId}`)
  return row.claim_seq as number
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns a truthy value or `ms` passes. */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, ms = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}
