/**
 * Composes the app: database, bus, services, routes and the HTTP server. `server.ts` resolves the
 * config and calls `startApp`; tests call it with their own config on an ephemeral port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isLoopback, type AppConfig } from './config.ts'
import { openDatabase } from './db/index.ts'
import { createBus } from './bus.ts'
import { AppError } from './errors.ts'
import { createLogger, redact, type Logger } from './log.ts'
import { openSecretBox } from './services/secret-key.ts'
import type { AppContext } from './context.ts'
import { createRouter, type Route } from './http/router.ts'
import { createAuthorize } from './http/auth.ts'
import { createBoundary } from './http/boundary.ts'
import { createStaticHandler } from './http/static.ts'
import { createFeed } from './services/feed.ts'
import { createReadCache } from './read-cache.ts'
import { startReaper } from './services/reaper.ts'
import { projectRoutes } from './api/projects.ts'
import { ticketRoutes } from './api/tickets.ts'
import { jobRoutes } from './api/jobs.ts'
import { coordinatorRoutes } from './api/coordinators.ts'
import { pathCheckRoutes } from './api/path-checks.ts'
import { ensureWorkerKey } from './services/worker-key.ts'
import { settingsRoutes } from './api/settings.ts'
import { projectSettingsRoutes } from './api/project-settings.ts'
import { checkRoutes } from './api/checks.ts'
import { eventRoutes } from './api/events.ts'
import { reviewRoutes } from './api/review.ts'
import { ciFixRoutes } from './api/ci-fix.ts'
import { memoryRoutes } from './api/memory.ts'
import { webhookRoutes } from './api/webhooks.ts'
import { notificationRoutes } from './api/notifications.ts'
import { startNotificationSender } from './services/notifications-deliveries.ts'
import { gitRelayRoutes } from './api/relay-git.ts'
import { agentForgeRoutes } from './api/agent-forge.ts'
import { isRelayRequest, relayLlmHandler } from './api/relay-llm.ts'
import { authRoutes } from './api/auth.ts'
import { ssoRoutes } from './api/sso.ts'
import { resolveSsoConfig } from './services/sso/config.ts'
import { userRoutes } from './api/users.ts'
import { auditRoutes } from './api/audit.ts'
import { anyUser } from './services/users.ts'
import { issueSetupCode } from './services/setup-code.ts'
import { startReviewLoop } from './services/review/loop.ts'
import { startCiLoop } from './services/ci-fix/loop.ts'
import { startIntakeLoop } from './services/intake/loop.ts'
import { startMemoryIndexer } from './services/memory-sources.ts'
import { healthRoutes } from './api/health.ts'
import { metricsRoutes } from './api/metrics.ts'
import { createDbProbe, migrationVersions } from './metrics/db-probe.ts'
import { appMetrics } from './metrics/app.ts'
import { createRequestLog } from './http/request-log.ts'
import type { Forge } from './forge.ts'
import { FORGE_KINDS } from './settings.ts'

export interface AppOptions {
  config: AppConfig
  migrationsDir: string
  /** Built UI; omitted = API only. */
  staticDir?: string
  log?: Logger
  /** Extra routes (plugins, tests). */
  routes?: (ctx: AppContext) => Route[]
  /** Forge plugins (server.ts passes plugins/forges); FORGE_KIND chooses among their kinds. */
  forges?: Forge[]
}

export interface RunningApp {
  ctx: AppContext
  server: Server
  url: string
  /** Every API route with its access rule (the role-rule test walks it). */
  routes: Route[]
  /** The one-time first-admin code printed at start; null once an account exists. */
  setupCode: string | null
  close(): Promise<void>
}

export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config } = options
  const log = options.log ?? createLogger(config.LOG_LEVEL, { service: 'app' })
  const exposed = !isLoopback(config.HOST)
  // No worker-key condition: the worker API always has a key (generated when unset, see
  // services/worker-key.ts) or coordinator tokens, and never opens anonymously.
  if (exposed && !config.PUBLIC_URL && !config.ALLOWED_HOSTS) {
    throw new AppError('insecure_bind', 400,
      `HOST=${config.HOST} is reachable from other machines: set PUBLIC_URL (the URL people open) or ALLOWED_HOSTS (the host names they use), so the app knows which Host headers are its own`)
  }
  // Validates PUBLIC_URL, ALLOWED_HOSTS and TRUST_PROXY before anything starts.
  const admit = createBoundary({
    host: config.HOST,
    port: () => (server.address() as AddressInfo).port,
    publicUrl: config.PUBLIC_URL,
    allowedHosts: config.ALLOWED_HOSTS,
    trustProxy: config.TRUST_PROXY,
    trustProxyHeader: config.TRUST_PROXY_HEADER,
  })
  for (const secret of [config.TERARCHITECT_ADMIN_TOKEN, config.TERARCHITECT_WORKER_API_KEY, config.TERARCHITECT_SECRET_KEY, config.METRICS_TOKEN]) redact(secret)
  // Validates the single sign-on variables (and redacts their secrets) before anything starts.
  const sso = resolveSsoConfig(config)

  const db = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.TERARCHITECT_DATA_DIR,
    poolSize: config.DB_POOL_SIZE,
    migrationsDir: options.migrationsDir,
    log,
  })
  // Off loopback someone must be able to sign in: an account, or the admin token to create one.
  if (exposed && !config.TERARCHITECT_ADMIN_TOKEN && !(await anyUser(db.sql))) {
    await db.close()
    throw new AppError('insecure_bind', 400,
      `HOST=${config.HOST} is reachable from other machines and no account exists yet: set TERARCHITECT_ADMIN_TOKEN (or create the first admin on 127.0.0.1 first), or bind 127.0.0.1`)
  }
  const secrets = await openSecretBox({ config, sql: db.sql, dbKind: db.kind, log })
  const bus = await createBus(db, log)
  const forges = new Map((options.forges ?? []).map((forge) => [forge.kind, forge]))
  for (const kind of forges.keys()) if (!FORGE_KINDS.includes(kind)) FORGE_KINDS.push(kind)
  const ctx: AppContext = { db, sql: db.sql, bus, config, log, secrets, cache: createReadCache(), forges }
  const feed = await createFeed(ctx)
  // The worker API never opens anonymously: generated (hash in the database) when not configured.
  const workerKey = await ensureWorkerKey(db.sql, config, log)
  // Changes committed by other replicas reach this one through the feed.
  feed.subscribe((rows) => rows.forEach((row) => row.type !== 'log' && ctx.cache.invalidate(row.project_id)))
  const stopReaper = startReaper(ctx)
  const stopNotifications = startNotificationSender(ctx)
  const reviewLoop = startReviewLoop(ctx, feed)
  const ciLoop = startCiLoop(ctx, feed)
  const intakeLoop = startIntakeLoop(ctx)
  const memoryIndexer = startMemoryIndexer(ctx, feed)
  const probe = createDbProbe({ sql: db.sql, expected: migrationVersions(options.migrationsDir), log })
  const metrics = appMetrics({ db, poolSize: config.DB_POOL_SIZE, probe, log })
  const observe = createRequestLog({ log, metrics: metrics.http })

  const routes: Route[] = [
    ...healthRoutes(ctx, probe),
    ...metricsRoutes(ctx, metrics.registry),
    ...settingsRoutes(ctx),
    ...projectSettingsRoutes(ctx),
    ...checkRoutes(ctx),
    ...authRoutes(ctx),
    ...ssoRoutes(ctx, sso),
    ...userRoutes(ctx),
    ...auditRoutes(ctx),
    ...projectRoutes(ctx),
    ...ticketRoutes(ctx),
    ...jobRoutes(ctx),
    ...eventRoutes(ctx, feed),
    ...reviewRoutes(ctx),
    ...ciFixRoutes(ctx),
    ...memoryRoutes(ctx),
    ...coordinatorRoutes(ctx),
    ...pathCheckRoutes(ctx),
    ...webhookRoutes(ctx),
    ...notificationRoutes(ctx),
    ...gitRelayRoutes(ctx),
    ...agentForgeRoutes(ctx),
    ...(options.routes?.(ctx) ?? []),
  ]
  const handle = createRouter({
    routes,
    authorize: createAuthorize({
      ctx,
      workerKey,
      adminToken: config.TERARCHITECT_ADMIN_TOKEN,
      local: { host: config.HOST, publicUrl: config.PUBLIC_URL, adminToken: config.TERARCHITECT_ADMIN_TOKEN },
      secrets: ctx.secrets,
    }),
    admit,
    bodyLimit: config.MAX_BODY_BYTES,
    log,
    observe,
    ...(options.staticDir ? { fallback: createStaticHandler(options.staticDir) } : {}),
  })
  const relayLlm = relayLlmHandler(ctx)
  const relay = (req: IncomingMessage, res: ServerResponse) => {
    observe(req, res).route('/api/relay/llm/*')
    return relayLlm(req, res)
  }
  const server = createServer((req, res) => void (isRelayRequest(req) ? relay(req, res) : handle(req, res)))
  server.keepAliveTimeout = 65000
  server.headersTimeout = 66000
  // Long-poll claims wait up to 60 s; requests otherwise have no reason to take long.
  server.requestTimeout = 120000
  /** Stops the background loops, then the feed, the bus and the database, in that order. */
  const stopServices = async () => {
    await reviewLoop.stop()
    await ciLoop.stop()
    await intakeLoop.stop()
    await memoryIndexer.stop()
    await stopReaper()
    await stopNotifications()
    feed.close()
    await bus.close()
    await db.close()
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.PORT, config.HOST, () => resolve())
    })
  } catch (error) {
    await stopServices()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST
  const url = `http://${host}:${port}`
  log.info('app listening', { url, db: db.kind })
  const setupCode = await issueSetupCode(ctx).catch((error) => {
    log.error('could not issue the first-admin setup code', { error })
    return null
  })
  // Logged once here (server.ts prints it on stdout too): it is worthless once an account exists.
  if (setupCode) log.info('no account exists yet: create the first admin in the UI with this setup code', { setup_code: setupCode })

  let closing: Promise<void> | undefined
  return {
    ctx,
    server,
    url,
    routes,
    setupCode,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
        await stopServices()
      })()),
  }
}
