// `npm start` (single-box): the app (dist/server.js) and a coordinator (dist/coordinator.js) side
// by side. The coordinator starts once the app answers /api/health, pointed at the app's URL
// unless TERARCHITECT_API_URL is set. SIGINT/SIGTERM go to the coordinator first and to the app
// once it has exited, so jobs finishing in the coordinator's grace period can still report; a
// second signal goes to both at once. When either exits on its own, the other is stopped and this
// script exits with the first one's code. START_COORDINATOR=0 runs the app alone.
// Both processes get this environment, so TERARCHITECT_WORKER_API_KEY is shared when set; when it
// is not, the app generates the worker key into <data dir>/worker.key (mode 0600) and the
// coordinator reads it from there (TERARCHITECT_WORKER_KEY_FILE): the key never goes through argv.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { homedir } from 'node:os'
import { join } from 'node:path'

const dist = (file) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url))
const say = (text) => process.stderr.write(`[start] ${text}\n`)
const children = new Map()
let exiting = false

function run(name, file, env) {
  const child = spawn(process.execPath, [dist(file)], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  children.set(name, child)
  child.once('exit', (code, signal) => {
    children.delete(name)
    if (stopping && name === 'coordinator') children.get('app')?.kill('SIGTERM')
    if (!exiting) {
      exiting = true
      say(`${name} exited (${signal ?? `code ${code}`}); stopping the rest`)
      for (const other of children.values()) other.kill('SIGTERM')
      process.exitCode = code ?? 1
    }
    if (children.size === 0) process.exit(process.exitCode ?? 0)
  })
  return child
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    exiting = true
    const coordinator = children.get('coordinator')
    if (!stopping && coordinator) {
      say(`${signal}: stopping the coordinator, then the app (again to stop both now)`)
      stopping = true
      coordinator.kill(signal)
      return
    }
    for (const child of children.values()) child.kill(signal)
  })
}

if (!existsSync(dist('server.js'))) {
  say('dist/server.js is missing: run `npm run build` first')
  process.exit(1)
}

const app = run('app', 'server.js', process.env)
const appUrl = await new Promise((resolve) => {
  let buffered = ''
  app.stdout.on('data', (chunk) => {
    process.stdout.write(chunk)
    if (buffered === null) return
    buffered += chunk.toString()
    const match = /Terarchitect app on (\S+)/.exec(buffered)
    if (match) {
      buffered = null
      resolve(match[1])
    }
  })
  app.once('exit', () => resolve(null))
})
if (!appUrl) await new Promise(() => {}) // the exit handler ends the process

// The app listens before it has finished starting up in some setups; /api/health is the gate.
for (let tries = 0; ; tries++) {
  const ok = await fetch(`${appUrl}/api/health`, { signal: AbortSignal.timeout(2000) }).then((response) => response.ok, () => false)
  if (ok) break
  if (tries >= 150 || exiting) {
    say(`the app at ${appUrl} never answered /api/health`)
    for (const child of children.values()) child.kill('SIGTERM')
    process.exitCode = 1
    await new Promise(() => {})
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
}

if (process.env.START_COORDINATOR === '0') {
  say('START_COORDINATOR=0: running the app only')
} else if (!existsSync(dist('coordinator.js'))) {
  say('dist/coordinator.js is missing: running the app only')
} else if (!exiting) {
  const apiUrl = process.env.TERARCHITECT_API_URL ?? appUrl
  say(`starting a coordinator for ${apiUrl} (it reports whether Docker is available)`)
  // The default data dir is core/config.ts's TERARCHITECT_DATA_DIR default.
  const keyFile = join(process.env.TERARCHITECT_DATA_DIR || join(homedir(), '.terarchitect', 'data'), 'worker.key')
  const credential = process.env.TERARCHITECT_WORKER_API_KEY || process.env.TERARCHITECT_COORDINATOR_TOKEN ? {} : { TERARCHITECT_WORKER_KEY_FILE: keyFile }
  const coordinator = run('coordinator', 'coordinator.js', { ...process.env, ...credential, TERARCHITECT_API_URL: apiUrl })
  coordinator.stdout.pipe(process.stdout)
}
