/**
 * The app: API, UI and database. `node dist/server.js` (or `npm start`). Configuration is the
 * environment (see README); this file only wires. `node dist/server.js backup|restore …` are the
 * embedded database's data commands (core/db/backup-command.ts).
 */
import { fileURLToPath } from 'node:url'
import { resolveAppConfig } from './core/config.ts'
import { startApp } from './core/app.ts'
import { createLogger } from './core/log.ts'
import { DATA_COMMANDS, runDataCommand } from './core/db/backup-command.ts'
import { builtinForges } from './plugins/forges/index.ts'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

async function main() {
  const config = resolveAppConfig(process.env)
  if (DATA_COMMANDS.includes(process.argv[2] ?? '')) {
    for (const line of await runDataCommand(process.argv.slice(2), config)) process.stdout.write(line + '\n')
    return
  }
  const log = createLogger(config.LOG_LEVEL, { service: 'app' })
  const app = await startApp({
    config,
    log,
    migrationsDir: here('./sql/'),
    staticDir: config.STATIC_DIR ?? here('./public/'),
    forges: builtinForges(),
  })
  process.stdout.write(`Terarchitect app on ${app.url} (database: ${app.ctx.db.kind})\n`)
  if (app.setupCode) process.stdout.write(`No account yet. First-admin setup code: ${app.setupCode}\n`)
  const stop = async (signal: string) => {
    log.info('stopping', { signal })
    await app.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
}

main().catch((error) => {
  process.stderr.write(`terarchitect: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
